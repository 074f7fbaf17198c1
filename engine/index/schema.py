"""The index's Arrow schema: the JSON contract, flattened like the CSV, with real types.

The columns come from two places and nowhere else: the fixed part of the JSON contract
(:func:`engine.export.conversations.conversation_records` — endpoints, counts, times) and every
column declared in the registry (:mod:`engine.columns`), so a column another module declares
is in the next index without a change here.

Flattening follows the CSV: a nested object becomes one column per member (``a.address`` →
``a_address``, ``icmp.type`` → ``icmp_type``, a registry group ``rssi.min`` → ``rssi_min``). A
value that is itself an object or a list (``command_classes``) is stored as JSON text with
Parquet's JSON logical type, which DuckDB queries with ``->>`` and ``json_extract``. A key that
a record leaves out (a TCP column on a UDP row) is null. The type of a declared column is what
its JSON conversion returns (probed with a typical value): bool, integer, float, text or JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..columns import COLUMNS, ColumnSpec

#: kinds of column and how a JSON value of that kind is stored
KINDS = ("int", "float", "bool", "text", "json", "time")

#: bumped when the layout of an index file changes in a way the schema hash does not show
FORMAT_VERSION = 1


@dataclass(frozen=True)
class IndexColumn:
    """One Parquet column: its name, where its value sits in a JSON record, its kind."""

    name: str
    #: keys leading to the value in a conversation record: ("stream",) or ("a", "address");
    #: () for columns that are not in the record (the capture's columns, derived times)
    path: tuple[str, ...]
    kind: str
    doc: str = ""

    def arrow_type(self) -> Any:
        import pyarrow as pa

        return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
                "text": pa.string(), "json": pa.json_(),
                "time": pa.timestamp("us", tz="UTC")}[self.kind]


def _fixed(name: str, kind: str, doc: str = "") -> IndexColumn:
    group, _, key = name.partition(".")
    path = (group, key) if key else (group,)
    return IndexColumn("_".join(path), path, kind, doc)


#: the fixed part of the JSON contract, in its order (README: "--format json")
CONTRACT_COLUMNS: tuple[IndexColumn, ...] = (
    _fixed("id", "int", "row of the conversation in its capture's table"),
    _fixed("protocol", "text"),
    _fixed("stream", "int", "tcp.stream / udp.stream (null for other protocols)"),
    _fixed("a.address", "text"), _fixed("a.port", "int"),
    _fixed("b.address", "text"), _fixed("b.port", "int"),
    _fixed("packets", "int"), _fixed("bytes", "int"),
    _fixed("packets_a_to_b", "int"), _fixed("bytes_a_to_b", "int"),
    _fixed("packets_b_to_a", "int"), _fixed("bytes_b_to_a", "int"),
    _fixed("payload_bytes_a_to_b", "int"), _fixed("payload_bytes_b_to_a", "int"),
    _fixed("start_ns", "int"), _fixed("end_ns", "int"),
    _fixed("relative_start", "float"), _fixed("duration", "float"),
    _fixed("bits_per_second_a_to_b", "float"), _fixed("bits_per_second_b_to_a", "float"),
    _fixed("tcp_flags_a_to_b", "text"), _fixed("tcp_flags_b_to_a", "text"),
    _fixed("icmp.type", "int"), _fixed("icmp.code", "int"), _fixed("icmp.id", "int"),
    _fixed("quotes", "int", "id of the conversation an ICMP error quotes"),
)

#: start/end as timestamps, for time filters in SQL (the exact values are start_ns/end_ns).
#: Timestamps are in microseconds: Spark refuses Parquet's nanosecond timestamps and
#: pyarrow's ``to_pylist`` needs pandas for them.
TIME_COLUMNS: tuple[IndexColumn, ...] = (
    IndexColumn("start_time", (), "time", "start_ns as a UTC timestamp"),
    IndexColumn("end_time", (), "time", "end_ns as a UTC timestamp"),
)

#: the capture a row comes from (the same on every row of a file)
CAPTURE_COLUMNS: tuple[IndexColumn, ...] = (
    IndexColumn("capture_path", (), "text", "absolute path of the capture file"),
    IndexColumn("capture_size", (), "int", "its size in bytes"),
    IndexColumn("capture_mtime", (), "time", "its modification time"),
    IndexColumn("capture_sha256", (), "text", "SHA-256 of its bytes, as sha256sum prints it"),
    IndexColumn("capture_first_ns", (), "int",
                "its first packet's time, what relative_start counts from"),
)

#: values that probe a declared column's JSON conversion: a typical one, then "not applicable"
_PROBES: dict[str, tuple[Any, ...]] = {
    "float": (0.5, math.nan), "rate": (0.5, math.nan),
    "text": ("x", ""), "address": ("x", ""), "protocol": ("x", ""),
}
_INT_PROBES = (1, -1)
_DEFAULT_KIND = {"float": "float", "rate": "float", "text": "text", "address": "text",
                 "protocol": "text"}


def kind_of(value: Any) -> str | None:
    """The column kind that stores a JSON value (None for null: it says nothing)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict | list | tuple):
        return "json"
    return None


def declared_kind(spec: ColumnSpec) -> str:
    """What a declared column's JSON values are, from its conversion of typical values."""
    for probe in _PROBES.get(spec.format, _INT_PROBES):
        try:
            kind = kind_of(spec.convert(probe))
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            continue
        if kind is not None:
            return kind
    return _DEFAULT_KIND.get(spec.format, "int")


def declared_columns() -> list[IndexColumn]:
    """One column per registry column outside the core (the core is the fixed contract)."""
    out = []
    for spec in COLUMNS.values():
        if spec.core:
            continue
        group, _, key = spec.key.rpartition(".")
        path = (group, key) if group else (key,)
        out.append(IndexColumn("_".join(path), path, declared_kind(spec), spec.doc))
    return out


def index_columns() -> list[IndexColumn]:
    """Every column of an index file, in order: contract, declared, times, capture."""
    columns = [*CONTRACT_COLUMNS, *declared_columns(), *TIME_COLUMNS, *CAPTURE_COLUMNS]
    seen: dict[str, IndexColumn] = {}
    for column in columns:
        if column.name in seen:
            from . import DatasetError

            raise DatasetError(f"Two fields of the conversation records flatten to the same "
                               f"index column {column.name!r}: {seen[column.name].path} and "
                               f"{column.path}.")
        seen[column.name] = column
    return columns


def schema_hash(columns: Sequence[IndexColumn]) -> str:
    """Names and kinds of the columns, hashed: a file with another hash is re-indexed."""
    text = "\n".join(f"{c.name}:{c.kind}" for c in columns) + f"\n{FORMAT_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def arrow_schema(columns: Sequence[IndexColumn]) -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(c.name, c.arrow_type()) for c in columns])


def _values(records: Sequence[dict[str, Any]], column: IndexColumn) -> list[Any]:
    if len(column.path) == 1:
        (key,) = column.path
        values = [rec.get(key) for rec in records]
    else:
        group, key = column.path
        values = [(rec.get(group) or {}).get(key) for rec in records]
    if column.kind == "json":
        return [None if v is None else json.dumps(v, separators=(",", ":")) for v in values]
    return values


def to_arrow(records: Sequence[dict[str, Any]], columns: Sequence[IndexColumn],
             capture: dict[str, Any]) -> Any:
    """The Arrow table of ``records`` (conversation records of one capture); ``capture``
    gives the capture columns' values (``capture_path`` … ``capture_sha256``; times in ns)."""
    import pyarrow as pa

    n = len(records)
    arrays = []
    for column in columns:
        if column.path:
            values: Iterable[Any] = _values(records, column)
        elif column.name in ("start_time", "end_time"):
            values = [rec[column.name.replace("_time", "_ns")] for rec in records]
        else:
            values = [capture[column.name]] * n
        if column.kind == "time":
            values = [None if v is None else v // 1000 for v in values]  # ns → µs
        arrays.append(_array(values, column))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(columns))


def _array(values: Iterable[Any], column: IndexColumn) -> Any:
    import pyarrow as pa

    from . import DatasetError

    try:
        if column.kind == "json":
            return pa.array(values, pa.string()).cast(pa.json_())
        return pa.array(values, column.arrow_type())
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise DatasetError(f"Column {column.name!r} holds a value that is not "
                           f"{column.kind}: {exc}") from None
