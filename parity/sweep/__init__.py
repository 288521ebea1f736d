"""``parity sweep``: whole image corpora x presets x impls, on every core or a Dask cluster, into a
resumable SQLite store with a summary (see ``parity.sweep.workflow`` for the steps).

Modules: ``inputs`` (INPUT expansion, hashing), ``rows`` (case dict -> rows), ``store`` (SQLite),
``runner`` (the task function and its executors), ``cluster`` (Dask), ``worst`` (the worst cases'
arrays and pictures), ``summary`` (rates and distributions from the rows), ``workflow`` (the command).
"""
