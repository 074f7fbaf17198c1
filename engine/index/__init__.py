"""The conversation index: one Parquet file per capture, queried as one table.

A *dataset* is a folder of Parquet files, one per capture, each holding that capture's
conversation table exactly as ``flowscope-cli conversations --format json`` reports it
(flattened like the CSV, with Arrow types) plus columns naming the capture (path, size,
modification time, SHA-256). DuckDB, pyarrow, pandas, Polars and Spark read the folder as one
table; ``flowscope-cli query`` runs DuckDB over it.

- :mod:`.schema` — the Arrow schema, built from the column registry and the JSON contract;
- :mod:`.fingerprint` — what identifies a capture's content (stat and SHA-256);
- :mod:`.dataset` — the folder: file names, footers, atomic writes, stale temporary files;
- :mod:`.task` — indexing one capture (the unit of work a pool or a Dask worker runs);
- :mod:`.runner` — planning a run and executing it in process, on a pool or on Dask;
- :mod:`.query` — DuckDB over a dataset;
- :mod:`.browse` — sorted, filtered pages of a dataset for a table view (the GUI's index view);
- :mod:`.filter_sql` — the filter box's terms as SQL.

pyarrow, duckdb and dask are an optional extra (``pip install 'flowscope[index]'``): nothing
here imports them at module level, so the rest of the engine never pays for them.
"""

from __future__ import annotations

from ..errors import FlowError


class DatasetError(FlowError):
    """Building or reading an index failed (a missing package, a damaged or busy dataset)."""


def require(module: str) -> object:
    """Import an optional package of the ``index`` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DatasetError(
            f"The index needs the optional package {module.split('.')[0]!r}: "
            "install it with pip install 'flowscope[index]'.") from None
