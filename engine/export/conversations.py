"""The conversation list as JSON, CSV or a text table — one implementation for CLI and GUI.

The JSON layout is a stable contract (see README): a fixed part (endpoints, counts, times) and
one field per column that analyses and plug-ins declared (:mod:`engine.columns`), left out of
the records of protocols it does not describe.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from ..columns import COLUMNS, ColumnSpec
from ..packets import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG
from ..protocols import format_address
from ..result import FlowResult
from ..table import ConversationTable

FLAG_LETTERS = ((SYN, "S"), (ACK, "A"), (FIN, "F"), (RST, "R"), (PSH, "P"), (URG, "U"),
                (ECE, "E"), (CWR, "C"), (NS, "N"))


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


def conversation_records(result: FlowResult, rows: np.ndarray | None = None
                         ) -> list[dict[str, Any]]:
    """One JSON-ready dict per conversation (all, or ``rows`` in the given order)."""
    t = result.conversations
    if rows is None:
        rows = np.arange(len(t))
    rows = np.asarray(rows, dtype=np.int64)
    proto = t.protocol_names()[rows].tolist()
    a_addr, b_addr = _addresses(t, rows, "a"), _addresses(t, rows, "b")
    a_port, b_port = _ports(t.a_port[rows]), _ports(t.b_port[rows])
    stream = [None if s < 0 else s for s in t.stream[rows].tolist()]
    start = t.start_ns[rows].tolist()
    end = t.end_ns[rows].tolist()
    first_ns = result.capture.first_ns or 0
    cols = {name: getattr(t, name)[rows].tolist() for name in (
        "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "payload_ab", "payload_ba",
        "flags_ab", "flags_ba", "icmp_type", "icmp_code", "icmp_id", "quotes", "kind")}
    bps_ab, bps_ba = _rate(t.bits_per_second("ab")[rows]), _rate(t.bits_per_second("ba")[rows])
    extra, endpoint_fields = _declared_fields(result, rows, proto)
    records = []
    for k, i in enumerate(rows.tolist()):
        rec: dict[str, Any] = {
            "id": i,
            "protocol": proto[k],
            "stream": stream[k],
            "a": {"address": a_addr[k], "port": a_port[k]},
            "b": {"address": b_addr[k], "port": b_port[k]},
            "packets": cols["packets_ab"][k] + cols["packets_ba"][k],
            "bytes": cols["bytes_ab"][k] + cols["bytes_ba"][k],
            "packets_a_to_b": cols["packets_ab"][k],
            "bytes_a_to_b": cols["bytes_ab"][k],
            "packets_b_to_a": cols["packets_ba"][k],
            "bytes_b_to_a": cols["bytes_ba"][k],
            "payload_bytes_a_to_b": cols["payload_ab"][k],
            "payload_bytes_b_to_a": cols["payload_ba"][k],
            "start_ns": start[k],
            "end_ns": end[k],
            "relative_start": (start[k] - first_ns) / 1e9,
            "duration": (end[k] - start[k]) / 1e9,
            "bits_per_second_a_to_b": bps_ab[k],
            "bits_per_second_b_to_a": bps_ba[k],
        }
        for side, key, values in endpoint_fields:
            if values[k] is not _ABSENT:
                rec[side][key] = values[k]
        if proto[k] == "tcp":
            rec["tcp_flags_a_to_b"] = flag_string(cols["flags_ab"][k])
            rec["tcp_flags_b_to_a"] = flag_string(cols["flags_ba"][k])
        if proto[k] in ("icmp", "icmpv6"):
            icmp_id = cols["icmp_id"][k]
            rec["icmp"] = {"type": cols["icmp_type"][k], "code": cols["icmp_code"][k],
                           "id": None if icmp_id < 0 else icmp_id}
            rec["quotes"] = None if cols["quotes"][k] < 0 else cols["quotes"][k]
        records.append(rec)
    _add_declared(records, proto, extra)
    return records


def _add_declared(records: list[dict[str, Any]], proto: list[str],
                  extra: list[tuple[str, list[Any]]]) -> None:
    """The declared fields, in order, into each record. Which fields a record has depends on
    its protocol only, so the rows of each protocol get theirs in one ``update`` each."""
    by_proto: dict[str, list[int]] = {}
    for k, name in enumerate(proto):
        by_proto.setdefault(name, []).append(k)
    for ks in by_proto.values():
        present = [(name, values) for name, values in extra if values[ks[0]] is not _ABSENT]
        if not present:
            continue
        names = [name for name, _ in present]
        pick = operator.itemgetter(*ks) if len(ks) > 1 else (lambda v, k=ks[0]: (v[k],))
        columns = [pick(values) for _, values in present]
        for k, row in zip(ks, zip(*columns, strict=True), strict=True):
            records[k].update(zip(names, row, strict=True))


#: the value of a field for rows of protocols it does not describe (the key is left out)
_ABSENT = object()


#: the fixed part's objects, which a declared ``a.key`` / ``b.key`` column extends
_ENDPOINTS = ("a", "b")


def _declared_fields(result: FlowResult, rows: np.ndarray, proto: list[str]
                     ) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, str, list[Any]]]]:
    """(JSON key, one value per row) of every declared column the table has, in declaration
    order; columns with a ``group.key`` JSON key become one object per row (null when all of
    its values are), except ``a.key`` / ``b.key``, which go into the endpoint objects (returned
    apart as (side, key, values))."""
    t = result.conversations
    out: list[tuple[str, list[Any]]] = []
    endpoint_fields: list[tuple[str, str, list[Any]]] = []
    groups: dict[str, list[tuple[str, list[Any]]]] = {}
    by_protocol = _RowsByProtocol(proto)
    for spec in COLUMNS.values():
        if spec.core or spec.name not in t.extra:
            continue
        values = _column_values(spec, t.extra[spec.name][rows], by_protocol)
        group, _, key = spec.key.rpartition(".")
        if group in _ENDPOINTS:
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
            out[k] = (name, _objects(groups[name], len(proto)))
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


def _column_values(spec: ColumnSpec, column: np.ndarray, proto: _RowsByProtocol) -> list[Any]:
    """The column's JSON values (``_ABSENT`` for rows of protocols it does not describe). A
    column holds few distinct values next to its rows (counts, states, -1 for "none"), so each
    distinct value is converted once and the rows pick theirs."""
    convert = spec.converter()
    n = column.size
    if spec.protocols:
        mine = proto.rows_of(spec.protocols)
        if not mine.all():
            out = np.full(n, _ABSENT, dtype=object)
            out[mine] = _converted(convert, column[mine])
            return out.tolist()
    return _converted(convert, column).tolist()


def _converted(convert: Any, column: np.ndarray) -> np.ndarray:
    """``convert`` of every value, as an object array: per distinct value where numpy can
    sort the column, else value by value."""
    out = np.empty(column.size, dtype=object)
    if not column.size:
        return out
    uniq = None
    if column.dtype.kind in "biuUS":  # (not floats: -0.0 and 0.0 are one value to np.unique)
        uniq, inverse = np.unique(column, return_inverse=True)
    elif column.dtype.kind == "O" and all(type(v) is str for v in column.tolist()):
        uniq, inverse = np.unique(column, return_inverse=True)  # text kept as Python strings
    if uniq is not None and uniq.size < column.size:
        values = np.empty(uniq.size, dtype=object)
        for k, v in enumerate(uniq.tolist()):
            values[k] = convert(v)
        return values[inverse]
    for k, v in enumerate(column.tolist()):
        out[k] = convert(v)
    return out


def _objects(members: list[tuple[str, list[Any]]], n: int) -> list[Any]:
    """One object per row from a group's members: absent when a member is, null when all are
    null; objects are built only for the rows that have one."""
    absent = np.zeros(n, dtype=bool)
    empty = np.ones(n, dtype=bool)
    for _, values in members:
        column = np.fromiter(values, dtype=object, count=n)
        absent |= (column == _ABSENT).astype(bool)  # (JSON-ready values: equal only to itself)
        empty &= (column == None).astype(bool)  # noqa: E711 (elementwise, not identity)
    out: list[Any] = [None] * n
    for k in np.flatnonzero(absent).tolist():
        out[k] = _ABSENT
    for k in np.flatnonzero(~absent & ~empty).tolist():
        out[k] = {key: values[k] for key, values in members}
    return out


def capture_record(result: FlowResult) -> dict[str, Any]:
    c = result.capture
    return {
        "path": str(c.path) if c.path else None,
        "files": [str(f) for f in c.files],
        "format": c.format,
        "packets": c.packets,
        "link_types": c.link_types,
        "first_ns": c.first_ns,
        "last_ns": c.last_ns,
        "warnings": list(c.warnings),
    }


def _document_head(result: FlowResult) -> dict[str, Any]:
    u = result.unassigned
    return {
        "capture": capture_record(result),
        "unassigned_packets": u.total,
        "unassigned": {"by_reason": u.by_reason, "by_ethertype": u.by_ethertype,
                       "by_linktype": u.by_linktype},
    }


def to_json_document(result: FlowResult, rows: np.ndarray | None = None) -> dict[str, Any]:
    return {**_document_head(result), "conversations": conversation_records(result, rows)}


#: conversations turned into records at once while writing (bounds the memory of a big list)
WRITE_BLOCK = 1 << 14


def write_json(result: FlowResult, out: TextIO, rows: np.ndarray | None = None) -> None:
    """The JSON document, one conversation per line (readable, and fast: the C encoder does it),
    written a block of conversations at a time."""
    head = json.dumps(_document_head(result), indent=1)
    out.write(head[:-2] + ',\n "conversations": [')
    encode = json.JSONEncoder(separators=(", ", ": ")).encode  # one encoder for all rows
    if rows is None:
        rows = np.arange(len(result.conversations))
    lead = "\n  "
    for a in range(0, len(rows), WRITE_BLOCK):
        records = conversation_records(result, rows[a : a + WRITE_BLOCK])
        out.write(lead + ",\n  ".join(map(encode, records)))
        lead = ",\n  "
    if len(rows):
        out.write("\n ")
    out.write("]\n}\n")


def _flatten(rec: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in rec.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}_{sub}"] = json.dumps(v) if isinstance(v, dict | list) else v
        elif isinstance(value, list):
            flat[key] = json.dumps(value)
        else:
            flat[key] = value
    return flat


def csv_rows(records: Iterable[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Flattened records (``a_address``, ``icmp_type``, …) and the union of their columns."""
    flat = [_flatten(r) for r in records]
    header: list[str] = []
    seen: set[str] = set()
    for row in flat:
        for key in row:
            if key not in seen:
                seen.add(key)
                header.append(key)
    return header, flat


def write_csv(result: FlowResult, out: TextIO, rows: np.ndarray | None = None) -> None:
    header, flat = csv_rows(conversation_records(result, rows))
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)


def csv_text(result: FlowResult, rows: np.ndarray | None = None) -> str:
    buf = io.StringIO()
    write_csv(result, buf, rows)
    return buf.getvalue()


#: columns of the text table: (title, how to read it from a record, left-aligned)
TABLE_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any], bool]] = [
    ("Stream", lambda r: r["stream"], False),
    ("Address A", lambda r: r["a"]["address"], True),
    ("Port A", lambda r: r["a"]["port"], False),
    ("Address B", lambda r: r["b"]["address"], True),
    ("Port B", lambda r: r["b"]["port"], False),
    ("Packets A→B", lambda r: r["packets_a_to_b"], False),
    ("Bytes A→B", lambda r: r["bytes_a_to_b"], False),
    ("Packets B→A", lambda r: r["packets_b_to_a"], False),
    ("Bytes B→A", lambda r: r["bytes_b_to_a"], False),
    ("Packets", lambda r: r["packets"], False),
    ("Bytes", lambda r: r["bytes"], False),
    ("Rel Start", lambda r: f"{r['relative_start']:.6f}", False),
    ("Duration", lambda r: f"{r['duration']:.6f}", False),
]

#: what ICMP sections add (the other protocols' additions are declared columns with a
#: ``text_title``)
ICMP_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any], bool]] = [
    ("Type", lambda r: r["icmp"]["type"], False),
    ("Code", lambda r: r["icmp"]["code"], False),
    ("Id", lambda r: r["icmp"]["id"], False)]


def _section_columns(proto: str) -> list[tuple[str, Callable[[dict[str, Any]], Any], bool]]:
    """The columns a protocol's section of the text table adds to :data:`TABLE_COLUMNS`."""
    if proto in ("icmp", "icmpv6"):
        return ICMP_COLUMNS
    return [(spec.text_title, _field_of(spec.key), spec.format == "text")
            for spec in COLUMNS.values()
            if spec.text_title and not spec.core and proto in spec.protocols]


def _field_of(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda record: record.get(key)


def write_table(result: FlowResult, out: TextIO, rows: np.ndarray | None = None) -> None:
    """A readable text table, one section per protocol, like ``tshark -z conv,tcp``; columns
    that are empty for a whole section (ports of ICMP, streams of Z-Wave) are left out. With
    ``rows`` (a filter's), only those conversations, and the header says how many matched."""
    records = conversation_records(result, rows)
    by_proto: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_proto.setdefault(rec["protocol"], []).append(rec)
    c = result.capture
    matched = "" if rows is None else f" ({len(records)} match the filter)"
    out.write(f"{c.title}: {c.format}, {c.packets} packets, "
              f"{len(result.conversations)} conversations{matched}, "
              f"{result.unassigned.total} packets in none\n")
    order = ["tcp", "udp", "icmp", "icmpv6"]
    for proto in sorted(by_proto, key=lambda p: (order.index(p) if p in order else 9, p)):
        recs = sorted(by_proto[proto], key=lambda r: (r["stream"] is None, r["stream"] or 0,
                                                      r["start_ns"]))
        out.write(f"\n{proto.upper()} conversations: {len(recs)}\n")
        columns = TABLE_COLUMNS + _section_columns(proto)
        cells = [["" if (v := get(r)) is None else str(v) for _, get, _ in columns] for r in recs]
        keep = [k for k in range(len(columns)) if any(row[k] for row in cells)]
        lines = [[columns[k][0] for k in keep]] + [[row[k] for k in keep] for row in cells]
        widths = [max(len(line[i]) for line in lines) for i in range(len(keep))]
        for line in lines:
            text = [cell.ljust(w) if columns[k][2] else cell.rjust(w)
                    for cell, w, k in zip(line, widths, keep, strict=True)]
            out.write("  ".join(text).rstrip() + "\n")


# -- the formats, by name (the CLI's --format, the GUI's Export Conversations) -----------------
@dataclass(frozen=True)
class ListFormat:
    """A way to write the conversation list: ``write(result, text file, rows or None)``."""

    name: str
    title: str  # as a file dialog shows it
    description: str  # a line for a choice of formats
    suffix: str
    write: Callable[[FlowResult, TextIO, np.ndarray | None], None]


#: every conversation-list format by name, in the order offered
LIST_FORMATS: dict[str, ListFormat] = {}


def register_list_format(fmt: ListFormat) -> None:
    LIST_FORMATS[fmt.name] = fmt


for _fmt in (
    ListFormat("table", "Text table", "a readable table per protocol, like tshark -z conv",
               ".txt", write_table),
    ListFormat("json", "JSON", "the CLI's document: capture, conversations", ".json",
               write_json),
    ListFormat("csv", "CSV", "one row per conversation", ".csv", write_csv),
):
    register_list_format(_fmt)
