"""Regression goldens: pinned hashes (and, for a curated subset, arrays) of every stage of every case.

``store`` (the manifest and arrays on disk), ``check`` (mismatches and reports; never writes a
golden) and ``update`` (the only writer). Running the matrix that produces the cases is the matrix
workflow's job (``parity.matrix``); the pytest plugin feeds its own traces.
"""

from parity.golden.check import CaseOutcome, GoldenCheck, GoldenReport, Mismatch, check, check_produced
from parity.golden.store import ARRAY_IMAGES, DEFAULT_ROOT, GoldenStore, Produced, case_key, environment, records_from
from parity.golden.update import GoldenUpdate, UpdateSummary, update

__all__ = ["ARRAY_IMAGES", "DEFAULT_ROOT", "CaseOutcome", "GoldenCheck", "GoldenReport", "GoldenStore",
           "GoldenUpdate", "Mismatch", "Produced", "UpdateSummary", "case_key", "check", "check_produced",
           "environment", "records_from", "update"]
