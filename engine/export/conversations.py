"""The conversation list as JSON, CSV or a text table — one implementation for CLI and GUI.

The JSON layout is a stable contract (see README): a fixed part (endpoints, counts, times) and
one field per column that analyses and plug-ins declared (:mod:`engine.columns`), left out of
the records of protocols it does not describe (the records: :mod:`.records`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO

import numpy as np

from ..columns import COLUMNS
from ..result import FlowResult
from .json_lines import record_texts
from .records import ICMP_PROTOCOLS, conversation_records, rows_of


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
#: conversations from which a forked copy of this process writes the later half of the JSON
#: records while this one writes the earlier half (5M packets, 50,000 conversations: 0.47 s)
SHARED_WRITE = 1 << 12


def write_json(result: FlowResult, out: TextIO, rows: np.ndarray | None = None) -> None:
    """The JSON document, one conversation per line (readable, and fast: written from the
    columns, :mod:`.json_lines`), a block of conversations at a time; on a long list a forked
    copy of this process makes the later half meanwhile (:mod:`.shared_write`)."""
    head = json.dumps(_document_head(result), indent=1)
    out.write(head[:-2] + ',\n "conversations": [')
    rows = rows_of(result, rows)
    shared = False
    if len(rows) >= SHARED_WRITE:
        from ..parallel.halves import may_fork

        shared = may_fork(result.config.workers)
    if shared:
        from .shared_write import write_shared

        split = len(rows) // 2
        write_shared(out, _record_pieces(result, rows[:split], True),
                     partial(_records_text, result, rows[split:], False))
    else:
        for text in _record_pieces(result, rows, True):
            out.write(text)
    if len(rows):
        out.write("\n ")
    out.write("]\n}\n")


def _record_pieces(result: FlowResult, rows: np.ndarray, first: bool) -> Iterator[str]:
    """The records of ``rows`` in the document's layout, each after its separator (the first
    of the document after a line break only)."""
    lead = "\n  " if first else ",\n  "
    for a in range(0, len(rows), WRITE_BLOCK):
        yield lead
        yield from record_texts(result, rows[a : a + WRITE_BLOCK], ",\n  ")
        lead = ",\n  "


def _records_text(result: FlowResult, rows: np.ndarray, first: bool) -> str:
    return "".join(_record_pieces(result, rows, first))


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
    if proto in ICMP_PROTOCOLS:
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
