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


def _ports(values: np.ndarray) -> list[int | None]:
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
    counts: dict[str, list[int]]  # the table's counts by column name (and flags, ICMP fields)
    start: list[int]
    end: list[int]
    relative_start: list[float]
    duration: list[float]
    bps_ab: list[float | None]
    bps_ba: list[float | None]

    @classmethod
    def of(cls, result: FlowResult, rows: np.ndarray) -> FixedColumns:
        t = result.conversations
        start = t.start_ns[rows].tolist()
        end = t.end_ns[rows].tolist()
        first_ns = result.capture.first_ns or 0
        return cls(
            ids=rows.tolist(), proto=t.protocol_names()[rows].tolist(),
            stream=[None if s < 0 else s for s in t.stream[rows].tolist()],
            a_address=_addresses(t, rows, "a"), a_port=_ports(t.a_port[rows]),
            b_address=_addresses(t, rows, "b"), b_port=_ports(t.b_port[rows]),
            counts={name: getattr(t, name)[rows].tolist() for name in (
                "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "payload_ab", "payload_ba",
                "flags_ab", "flags_ba", "icmp_type", "icmp_code", "icmp_id", "quotes")},
            start=start, end=end,
            relative_start=[(s - first_ns) / 1e9 for s in start],
            duration=[(e - s) / 1e9 for s, e in zip(start, end, strict=True)],
            bps_ab=_rate(t.bits_per_second("ab")[rows]),
            bps_ba=_rate(t.bits_per_second("ba")[rows]))


def conversation_records(result: FlowResult, rows: np.ndarray | None = None
                         ) -> list[dict[str, Any]]:
    """One JSON-ready dict per conversation (all, or ``rows`` in the given order)."""
    rows = rows_of(result, rows)
    f = FixedColumns.of(result, rows)
    c = f.counts
    extra, endpoint_fields = declared_fields(result, rows, f.proto)
    records = []
    for k, i in enumerate(f.ids):
        rec: dict[str, Any] = {
            "id": i,
            "protocol": f.proto[k],
            "stream": f.stream[k],
            "a": {"address": f.a_address[k], "port": f.a_port[k]},
            "b": {"address": f.b_address[k], "port": f.b_port[k]},
            "packets": c["packets_ab"][k] + c["packets_ba"][k],
            "bytes": c["bytes_ab"][k] + c["bytes_ba"][k],
            "packets_a_to_b": c["packets_ab"][k],
            "bytes_a_to_b": c["bytes_ab"][k],
            "packets_b_to_a": c["packets_ba"][k],
            "bytes_b_to_a": c["bytes_ba"][k],
            "payload_bytes_a_to_b": c["payload_ab"][k],
            "payload_bytes_b_to_a": c["payload_ba"][k],
            "start_ns": f.start[k],
            "end_ns": f.end[k],
            "relative_start": f.relative_start[k],
            "duration": f.duration[k],
            "bits_per_second_a_to_b": f.bps_ab[k],
            "bits_per_second_b_to_a": f.bps_ba[k],
        }
        for side, key, values in endpoint_fields:
            if values[k] is not ABSENT:
                rec[side][key] = values[k]
        if f.proto[k] == "tcp":
            rec["tcp_flags_a_to_b"] = flag_string(c["flags_ab"][k])
            rec["tcp_flags_b_to_a"] = flag_string(c["flags_ba"][k])
        if f.proto[k] in ICMP_PROTOCOLS:
            icmp_id = c["icmp_id"][k]
            rec["icmp"] = {"type": c["icmp_type"][k], "code": c["icmp_code"][k],
                           "id": None if icmp_id < 0 else icmp_id}
            rec["quotes"] = None if c["quotes"][k] < 0 else c["quotes"][k]
        records.append(rec)
    _add_declared(records, f.proto, extra)
    return records


def rows_by_protocol(proto: list[str]) -> dict[str, list[int]]:
    """Positions of each protocol's rows (which declared fields a record has depends on its
    protocol only)."""
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


def _add_declared(records: list[dict[str, Any]], proto: list[str],
                  extra: list[tuple[str, list[Any]]]) -> None:
    """The declared fields, in order, into each record: the rows of each protocol get theirs
    in one ``update`` each."""
    for ks in rows_by_protocol(proto).values():
        present = [(name, values) for name, values in extra if values[ks[0]] is not ABSENT]
        if not present:
            continue
        names = [name for name, _ in present]
        pick = picker(ks)
        columns = [pick(values) for _, values in present]
        for k, row in zip(ks, zip(*columns, strict=True), strict=True):
            records[k].update(zip(names, row, strict=True))


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
        out[filled] = _array(_by_value(convert, column[filled].tolist()))
        return out
    if kind == "S" or (kind == "O" and all(type(v) is str for v in column.tolist())):
        return _array(_by_value(convert, column.tolist()))
    if kind in "biu":
        uniq, inverse = np.unique(column, return_inverse=True)
        if uniq.size < column.size:
            return _array([convert(v) for v in uniq.tolist()])[inverse]
    return _array([convert(v) for v in column.tolist()])


def _array(values: list[Any]) -> np.ndarray:
    """An object array of ``values`` (lists among them stay elements, not a dimension)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _by_value(convert: Any, values: list[Any]) -> list[Any]:
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
    if encode is None:
        for k in have:
            out[k] = {key: values[k] for key, values in members}
    elif have:
        template = object_template([key for key, _ in members], encode)
        pick = picker(have)
        for k, row in zip(have, zip(*(pick(values) for _, values in members), strict=True),
                          strict=True):
            out[k] = template % row
    return out


def object_template(keys: list[str], encode: Callable[[Any], str],
                    pieces: list[str] | None = None) -> str:
    """``{"key": %s, …}``: a JSON object's text with its values' texts to fill in with ``%``
    (or with ``pieces`` of such text, one per key, in place of each ``%s``)."""
    return "{" + ", ".join(encode(key).replace("%", "%%") + ": " + piece for key, piece
                           in zip(keys, pieces or ["%s"] * len(keys), strict=True)) + "}"
