"""The conversation records of the JSON layout, prepared column by column.

A record has a fixed part (endpoints, counts, times; :class:`FixedColumns`) and one field per
column that analyses and plug-ins declared (:func:`declared_fields`), left out of the records
of protocols it does not describe. :func:`conversation_records` makes one dict per
conversation from them (CSV, the text table, the index); :mod:`.json_lines` writes the same
records' JSON text straight from the columns.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..columns import COLUMNS, ColumnSpec
from ..packets import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG
from ..protocols import format_address
from ..result import FlowResult
from ..table import ConversationTable

FLAG_LETTERS = ((SYN, "S"), (ACK, "A"), (FIN, "F"), (RST, "R"), (PSH, "P"), (URG, "U"),
                (ECE, "E"), (CWR, "C"), (NS, "N"))
#: the value of a field for rows of protocols it does not describe (the key is left out)
ABSENT = object()
#: the fixed part's objects, which a declared ``a.key`` / ``b.key`` column extends
ENDPOINTS = ("a", "b")
#: protocols whose records carry the ``icmp`` object and ``quotes``
ICMP_PROTOCOLS = ("icmp", "icmpv6")
#: turns a JSON-ready value into text (None: the values stay Python values)
Encode = Callable[[Any], str] | None


@functools.lru_cache(maxsize=1024)
def flag_string(flags: int) -> str:
    """TCP flags seen, as letters in a fixed order (``SAFP``)."""
    return "".join(letter for bit, letter in FLAG_LETTERS if flags & bit)


def _addresses(t: ConversationTable, rows: np.ndarray, side: str) -> list[str]:
    """Address texts; each distinct address is formatted once (many rows share a few hosts)."""
    fam = t.family[rows].tolist()
    hi = getattr(t, f"{side}_hi")[rows].tolist()
    lo = getattr(t, f"{side}_lo")[rows].tolist()
    memo: dict[tuple[int, int, int], str] = {}
    out = []
    for key in zip(fam, hi, lo, strict=True):
        text = memo.get(key)
        if text is None:
            text = memo[key] = format_address(*key)
        out.append(text)
    return out


def _or_none(values: np.ndarray) -> list[int | None]:
    """The values, None for the negative ones ("none")."""
    return [None if v < 0 else v for v in values.tolist()]


def _rate(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else round(v, 3) for v in values.tolist()]


def rows_of(result: FlowResult, rows: np.ndarray | None) -> np.ndarray:
    """``rows`` as row numbers, every conversation's when None."""
    if rows is None:
        return np.arange(len(result.conversations))
    return np.asarray(rows, dtype=np.int64)


@dataclass
class FixedColumns:
    """The fixed part of the records of ``rows``, one list of JSON-ready values per field."""

    ids: list[int]
    proto: list[str]
    stream: list[int | None]
    a_address: list[str]
    a_port: list[int | None]
    b_address: list[str]
    b_port: list[int | None]
    packets: list[int]
    bytes: list[int]
    counts: dict[str, list[int]]  # the table's per-direction counts by column name
    start: list[int]
    end: list[int]
    relative_start: list[float]
    duration: list[float]
    bps_ab: list[float | None]
    bps_ba: list[float | None]
    flags_ab: list[str]
    flags_ba: list[str]
    icmp_type: list[int]
    icmp_code: list[int]
    icmp_id: list[int | None]
    quotes: list[int | None]

    @classmethod
    def of(cls, result: FlowResult, rows: np.ndarray) -> FixedColumns:
        t = result.conversations
        start = t.start_ns[rows].tolist()
        end = t.end_ns[rows].tolist()
        first_ns = result.capture.first_ns or 0
        counts = {name: getattr(t, name)[rows].tolist() for name in (
            "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "payload_ab", "payload_ba")}
        return cls(
            ids=rows.tolist(), proto=t.protocol_names(rows).tolist(),
            stream=_or_none(t.stream[rows]),
            a_address=_addresses(t, rows, "a"), a_port=_or_none(t.a_port[rows]),
            b_address=_addresses(t, rows, "b"), b_port=_or_none(t.b_port[rows]),
            packets=list(map(int.__add__, counts["packets_ab"], counts["packets_ba"])),
            bytes=list(map(int.__add__, counts["bytes_ab"], counts["bytes_ba"])),
            counts=counts, start=start, end=end,
            relative_start=[(s - first_ns) / 1e9 for s in start],
            duration=[(e - s) / 1e9 for s, e in zip(start, end, strict=True)],
            bps_ab=_rate(t.bits_per_second("ab", rows)),
            bps_ba=_rate(t.bits_per_second("ba", rows)),
            flags_ab=list(map(flag_string, t.flags_ab[rows].tolist())),
            flags_ba=list(map(flag_string, t.flags_ba[rows].tolist())),
            icmp_type=t.icmp_type[rows].tolist(), icmp_code=t.icmp_code[rows].tolist(),
            icmp_id=_or_none(t.icmp_id[rows]), quotes=_or_none(t.quotes[rows]))


@dataclass(frozen=True)
class Column:
    """A field's values, one per row, and how they are written: "int", "nullable" (an int or
    None), "float" (or None), "text", or "json" (anything, as :mod:`json` writes it)."""

    values: Sequence[Any]
    kind: str


@dataclass(frozen=True)
class Obj:
    """An object inside a record (an endpoint, ICMP's fields): its fields."""

    fields: list[Field]


#: a field of a record: its key, and its values or an object
Field = tuple[str, "Column | Obj"]


def record_fields(f: FixedColumns, protocol: str, first: int,
                  extra: list[tuple[str, list[Any]]],
                  endpoint: list[tuple[str, str, list[Any]]]) -> list[Field]:
    """The fields of a ``protocol`` record, in the JSON layout's order (the one place it is
    written down): the fixed part, then the declared fields (``extra``, from
    :func:`declared_fields`) that the protocol's records have, as its row ``first`` tells."""

    def side(name: str, address: list[str], port: list[int | None]) -> Field:
        declared = [(key, Column(values, "json")) for s, key, values in endpoint
                    if s == name and values[first] is not ABSENT]
        return name, Obj([("address", Column(address, "text")),
                          ("port", Column(port, "nullable")), *declared])

    c = f.counts
    fields: list[Field] = [
        ("id", Column(f.ids, "int")), ("protocol", Column(f.proto, "text")),
        ("stream", Column(f.stream, "nullable")),
        side("a", f.a_address, f.a_port), side("b", f.b_address, f.b_port),
        ("packets", Column(f.packets, "int")), ("bytes", Column(f.bytes, "int")),
        ("packets_a_to_b", Column(c["packets_ab"], "int")),
        ("bytes_a_to_b", Column(c["bytes_ab"], "int")),
        ("packets_b_to_a", Column(c["packets_ba"], "int")),
        ("bytes_b_to_a", Column(c["bytes_ba"], "int")),
        ("payload_bytes_a_to_b", Column(c["payload_ab"], "int")),
        ("payload_bytes_b_to_a", Column(c["payload_ba"], "int")),
        ("start_ns", Column(f.start, "int")), ("end_ns", Column(f.end, "int")),
        ("relative_start", Column(f.relative_start, "float")),
        ("duration", Column(f.duration, "float")),
        ("bits_per_second_a_to_b", Column(f.bps_ab, "float")),
        ("bits_per_second_b_to_a", Column(f.bps_ba, "float")),
    ]
    if protocol == "tcp":
        fields += [("tcp_flags_a_to_b", Column(f.flags_ab, "text")),
                   ("tcp_flags_b_to_a", Column(f.flags_ba, "text"))]
    elif protocol in ICMP_PROTOCOLS:
        fields += [("icmp", Obj([("type", Column(f.icmp_type, "int")),
                                 ("code", Column(f.icmp_code, "int")),
                                 ("id", Column(f.icmp_id, "nullable"))])),
                   ("quotes", Column(f.quotes, "nullable"))]
    return fields + [(key, Column(values, "json")) for key, values in extra
                     if values[first] is not ABSENT]


def flatten(fields: list[Field], pick: Callable[[Sequence[Any]], tuple[Any, ...]],
            convert: Callable[[Column, tuple[Any, ...]], Sequence[Any]],
            join: Callable[[list[str], list[Sequence[Any]]], Sequence[Any]]
            ) -> tuple[list[str], list[Sequence[Any]]]:
    """(the keys, one sequence of values per key for the rows ``pick`` takes): a column's
    values through ``convert``, an object's as one value per row made by ``join`` from its own
    keys and values."""
    keys: list[str] = []
    columns: list[Sequence[Any]] = []
    for key, field in fields:
        keys.append(key)
        if isinstance(field, Obj):
            columns.append(join(*flatten(field.fields, pick, convert, join)))
        else:
            columns.append(convert(field, pick(field.values)))
    return keys, columns


def conversation_records(result: FlowResult, rows: np.ndarray | None = None
                         ) -> list[dict[str, Any]]:
    """One JSON-ready dict per conversation (all, or ``rows`` in the given order)."""
    return records_of(result, rows, None, lambda _, values: values, _dicts)


def records_of(result: FlowResult, rows: np.ndarray | None, encode: Encode,
               convert: Callable[[Column, Sequence[Any]], Sequence[Any]],
               join: Callable[[list[str], list[Sequence[Any]]], list[Any]]) -> list[Any]:
    """Each conversation's record (all, or ``rows`` in the given order) as ``join`` makes it
    from the keys and the columns ``convert`` wrote (``encode``: the declared fields' texts
    too): the dicts and the JSON lines are both built here."""
    rows = rows_of(result, rows)
    f = FixedColumns.of(result, rows)
    extra, endpoint = declared_fields(result, rows, f.proto, encode)
    records: list[Any] = [None] * len(f.ids)
    for name, ks in rows_by_protocol(f.proto).items():
        made = join(*flatten(record_fields(f, name, ks[0], extra, endpoint), picker(ks),
                             convert, join))
        for k, record in zip(ks, made, strict=True):
            records[k] = record
    return records


def _dicts(keys: list[str], columns: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


def object_texts(encode: Callable[[Any], str], keys: list[str],
                 columns: Sequence[Sequence[str]]) -> list[str]:
    """One JSON object's text per row, from the keys and the columns' value texts."""
    template = object_template(keys, encode)
    return [template % row for row in zip(*columns, strict=True)]


def rows_by_protocol(proto: list[str]) -> dict[str, list[int]]:
    """Positions of each protocol's rows (which fields a record has depends on its protocol
    only)."""
    by_proto: dict[str, list[int]] = {}
    for k, name in enumerate(proto):
        by_proto.setdefault(name, []).append(k)
    return by_proto


def picker(ks: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function picking positions ``ks`` of a list, as a tuple (at C speed)."""
    if len(ks) > 1:
        return operator.itemgetter(*ks)
    only = ks[0]
    return lambda values: (values[only],)


def declared_fields(result: FlowResult, rows: np.ndarray, proto: list[str],
                    encode: Encode = None
                    ) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, str, list[Any]]]]:
    """(JSON key, one value per row) of every declared column the table has, in declaration
    order; columns with a ``group.key`` JSON key become one object per row (null when all of
    its values are), except ``a.key`` / ``b.key``, which go into the endpoint objects (returned
    apart as (side, key, values)). With ``encode``, each value is its JSON text."""
    t = result.conversations
    out: list[tuple[str, list[Any]]] = []
    endpoint_fields: list[tuple[str, str, list[Any]]] = []
    groups: dict[str, list[tuple[str, list[Any]]]] = {}
    by_protocol = _RowsByProtocol(proto)
    for spec in COLUMNS.values():
        if spec.core or spec.name not in t.extra:
            continue
        values = _column_values(spec, t.extra[spec.name][rows], by_protocol, encode)
        group, _, key = spec.key.rpartition(".")
        if group in ENDPOINTS:
            endpoint_fields.append((group, key, values))
            continue
        if not group:
            out.append((key, values))
            continue
        if group not in groups:
            groups[group] = []
            out.append((group, []))  # filled below, at the group's first member's place
        groups[group].append((key, values))
    for k, (name, values) in enumerate(out):
        if name in groups and not values:
            out[k] = (name, _objects(groups[name], len(proto), encode))
    return out, endpoint_fields


class _RowsByProtocol:
    """Which rows are of given protocols (masks made once per protocol, shared by columns)."""

    def __init__(self, proto: list[str]) -> None:
        names = np.asarray(proto, dtype=object)
        self._masks = {name: names == name for name in set(proto)}
        self._none = np.zeros(len(proto), dtype=bool)

    def rows_of(self, protocols: tuple[str, ...]) -> np.ndarray:
        masks = [self._masks[p] for p in protocols if p in self._masks]
        return np.logical_or.reduce(masks) if masks else self._none


def _column_values(spec: ColumnSpec, column: np.ndarray, proto: _RowsByProtocol,
                   encode: Encode) -> list[Any]:
    """The column's JSON values, or their text (``ABSENT`` for rows of protocols it does not
    describe). A column holds few distinct values next to its rows (counts, states, -1 for
    "none"), so each distinct value is converted once and the rows pick theirs."""
    to_json = spec.converter()
    convert = to_json if encode is None else (lambda v: encode(to_json(v)))
    n = column.size
    if spec.protocols:
        mine = proto.rows_of(spec.protocols)
        if not mine.all():
            out = np.full(n, ABSENT, dtype=object)
            out[mine] = _converted(convert, column[mine])
            return out.tolist()
    return _converted(convert, column).tolist()


def _converted(convert: Any, column: np.ndarray) -> np.ndarray:
    """``convert`` of every value, as an object array, once per distinct value: text through a
    dict (empty text, the usual value, at once), integers through ``np.unique`` (floats value
    by value: -0.0 and 0.0 would be one)."""
    kind = column.dtype.kind
    if kind in "TU":
        out = np.empty(column.size, dtype=object)
        filled = column != ""
        out[~filled] = convert("")
        out[filled] = _array(by_value(convert, column[filled].tolist()))
        return out
    if kind == "S" or (kind == "O" and all(type(v) is str for v in column.tolist())):
        return _array(by_value(convert, column.tolist()))
    if kind in "biu":
        uniq, inverse = np.unique(column, return_inverse=True)
        if uniq.size < column.size:
            return _array([convert(v) for v in uniq.tolist()])[inverse]
    return _array([convert(v) for v in column.tolist()])


def _array(values: list[Any]) -> np.ndarray:
    """An object array of ``values`` (lists among them stay elements, not a dimension)."""
    return np.fromiter(values, dtype=object, count=len(values))


def by_value(convert: Any, values: Sequence[Any]) -> list[Any]:
    """``convert`` of every value, called once per distinct (hashable, exactly equal) value."""
    memo: dict[Any, Any] = {}
    out = []
    for v in values:
        found = memo.get(v, memo)
        if found is memo:
            found = memo[v] = convert(v)
        out.append(found)
    return out


def _objects(members: list[tuple[str, list[Any]]], n: int, encode: Encode) -> list[Any]:
    """One object per row from a group's members (its text with ``encode``): absent when a
    member is, null when all are null; objects are built only for the rows that have one."""
    null = None if encode is None else "null"
    absent = np.zeros(n, dtype=bool)
    empty = np.ones(n, dtype=bool)
    for _, values in members:
        column = np.fromiter(values, dtype=object, count=n)
        absent |= (column == ABSENT).astype(bool)  # (JSON-ready values: equal only to itself)
        empty &= (column == null).astype(bool)
    out: list[Any] = [null] * n
    for k in np.flatnonzero(absent).tolist():
        out[k] = ABSENT
    have = np.flatnonzero(~absent & ~empty).tolist()
    if have:
        pick = picker(have)
        keys = [key for key, _ in members]
        columns = [pick(values) for _, values in members]
        made = _dicts(keys, columns) if encode is None else object_texts(encode, keys, columns)
        for k, record in zip(have, made, strict=True):
            out[k] = record
    return out


def object_template(keys: list[str], encode: Callable[[Any], str]) -> str:
    """``{"key": %s, …}``: a JSON object's text with its values' texts to fill in with ``%``."""
    return "{" + ", ".join(encode(key).replace("%", "%%") + ": %s" for key in keys) + "}"
