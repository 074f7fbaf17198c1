"""DuckDB over a dataset: the view ``conversations`` and results as a table, JSON or CSV.

The view reads every index file with ``union_by_name``, so files written before a column was
added simply have NULL in it. DuckDB runs the SQL in place over the Parquet files (column
pruning, row-group statistics), so nothing is loaded that the query does not touch.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from . import DatasetError, require
from .dataset import index_files

#: the view every query sees
VIEW = "conversations"
FORMATS = ("table", "json", "csv")


def dataset_files(dataset: str | Path) -> list[Path]:
    """A dataset's index files (an error when the folder is not a dataset or holds none)."""
    folder = Path(dataset)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a dataset folder (flowscope-cli index makes one).")
    files = index_files(folder)
    if not files:
        raise DatasetError(f"{folder} holds no index files; flowscope-cli index CAPTURES -o "
                           f"{folder} builds them.")
    return files


def source_sql(dataset: str | Path, files: list[Path] | None = None) -> str:
    """``read_parquet(...)`` over a dataset's index files: every ``*.parquet`` of the folder
    at query time, or exactly ``files`` when given (also when the path has glob characters)."""
    folder = Path(dataset)
    if files is None:
        found = dataset_files(folder)
        if any(ch in str(folder) for ch in "*?[]{}"):
            files = found
    if files is not None:
        target = "[" + ", ".join(_literal(str(p)) for p in files) + "]"
    else:
        target = _literal(str(folder / "*.parquet"))
    return f"read_parquet({target}, union_by_name = true)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(dataset: str | Path, files: list[Path] | None = None,
            database: str = ":memory:") -> Any:
    """A DuckDB connection with the view ``conversations`` over ``dataset`` (over exactly
    ``files`` when given: a snapshot that later runs do not change); ``database`` is where
    tables it creates live (default: in memory)."""
    duckdb: Any = require("duckdb")
    source = source_sql(dataset, files)
    con = duckdb.connect(database)
    try:
        con.execute(f"CREATE VIEW {VIEW} AS SELECT * FROM {source}")
    except duckdb.Error as exc:
        con.close()
        raise DatasetError(f"Cannot read the dataset {dataset}: {exc}") from None
    return con


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    #: DuckDB type names ("BIGINT", "VARCHAR", "JSON", …), one per column
    types: list[str]
    rows: list[tuple[Any, ...]]


def run_query(dataset: str | Path, sql: str) -> QueryResult:
    duckdb: Any = require("duckdb")
    con = connect(dataset)
    try:
        rel = con.sql(sql)
        if rel is None:  # a statement without a result (SET, CREATE …)
            return QueryResult([], [], [])
        return QueryResult(list(rel.columns), [str(t) for t in rel.types], rel.fetchall())
    except duckdb.Error as exc:
        raise DatasetError(f"The query failed: {exc}") from None
    finally:
        con.close()


def plain(value: Any, type_name: str = "") -> Any:
    """A DuckDB value as JSON: timestamps as ISO 8601, decimals as numbers, JSON parsed."""
    if value is None or (isinstance(value, bool | int | str) and type_name != "JSON"):
        return value
    if type_name == "JSON" and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def _cell(value: Any, type_name: str) -> str:
    """A value as table/CSV text (NULL as empty)."""
    value = plain(value, type_name)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, str) and type_name == "JSON":
        return json.dumps(value)
    return str(value)


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def write_result(result: QueryResult, out: TextIO, fmt: str = "table") -> None:
    if fmt == "json":
        _write_json(result, out)
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow([_cell(v, t) for v, t in zip(row, result.types, strict=True)])
    else:
        _write_table(result, out)


def _write_json(result: QueryResult, out: TextIO) -> None:
    """A JSON array with one object per line (valid JSON, and easy to grep or stream)."""
    encode = json.JSONEncoder(separators=(", ", ": ")).encode
    lines = [encode({c: plain(v, t) for c, v, t in zip(result.columns, row, result.types,
                                                         strict=True)})
             for row in result.rows]
    out.write("[\n" + ",\n".join(lines) + ("\n]\n" if lines else "]\n"))


def _write_table(result: QueryResult, out: TextIO) -> None:
    if not result.columns:
        return
    cells = [[_cell(v, t) for v, t in zip(row, result.types, strict=True)]
             for row in result.rows]
    right = [t.startswith(_NUMERIC) for t in result.types]
    lines: Sequence[list[str]] = [list(result.columns), *cells]
    widths = [max(len(line[k]) for line in lines) for k in range(len(result.columns))]
    for line in lines:
        text = [cell.rjust(w) if r else cell.ljust(w)
                for cell, w, r in zip(line, widths, right, strict=True)]
        out.write("  ".join(text).rstrip() + "\n")
    out.write(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})\n")
