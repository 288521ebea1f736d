"""The one schema version of every ``--json`` output (``parity run``/``dump``/``compare``/``models``/
``impls``/``gguf``/``golden``/``matrix``/``sweep``) and of ``results.json``; see docs/json-schema.md.

2: plans are the families' plan types (geometry summary first), ``geometry`` per case; ``image_errors``.
"""

SCHEMA_VERSION = 2
