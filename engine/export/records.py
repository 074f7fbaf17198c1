"""The conversation records of the JSON layout, prepared column by column.

A record has a fixed part (endpoints, counts, times; :class:`FixedColumns`) and one field per
column that analyses and plug-ins declared (:mod:`.declared`), left out of the records of
protocols it does not describe. :func:`record_fields` lays out a protocol's records once, as
columns (:mod:`.fields`); :func:`conversation_records` makes one dict per conversation from
them (CSV, the text table, the index), and :mod:`.json_lines` writes the same records' JSON
text.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..packets import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG
from ..protocols import format_address, protocol_name
from ..result import FlowResult
from ..table import ConversationTable
from .declared import declared_fields
from .fields import Coded, Column, Field, Obj, Write, coded, null_rows, object_array, present
from .rounding import rounded

FLAG_LETTERS = ((SYN, "S"), (ACK, "A"), (FIN, "F"), (RST, "R"), (PSH, "P"), (URG, "U"),
                (ECE, "E"), (CWR, "C"), (NS, "N"))
#: protocols whose records carry the ``icmp`` object and ``quotes``
ICMP_PROTOCOLS = ("icmp", "icmpv6")


@functools.lru_cache(maxsize=1024)
def flag_string(flags: int) -> str:
    """TCP flags seen, as letters in a fixed order (``SAFP``)."""
    return "".join(letter for bit, letter in FLAG_LETTERS if flags & bit)


def rows_of(result: FlowResult, rows: np.ndarray | None) -> np.ndarray:
    """``rows`` as row numbers, every conversation's when None."""
    if rows is None:
        return np.arange(len(result.conversations))
    return np.asarray(rows, dtype=np.int64)


@dataclass
class FixedColumns:
    """The fixed part of the records of ``rows``: numbers as the table holds them (negative:
    none in the "nullable" fields; NaN: none in the floats), text written once per distinct
    value."""

    ids: np.ndarray
    protocols: list[str]  # the distinct protocol names
    protocol: np.ndarray  # each row's position among them
    proto: Coded
    stream: np.ndarray
    a_address: Coded
    a_port: np.ndarray
    b_address: Coded
    b_port: np.ndarray
    packets: np.ndarray
    bytes: np.ndarray
    counts: dict[str, np.ndarray]  # the table's per-direction counts by column name
    start: np.ndarray
    end: np.ndarray
    relative_start: np.ndarray
    duration: np.ndarray
    bps_ab: np.ndarray
    bps_ba: np.ndarray
    flags_ab: Coded
    flags_ba: Coded
    icmp_type: np.ndarray
    icmp_code: np.ndarray
    icmp_id: np.ndarray
    quotes: np.ndarray

    @classmethod
    def of(cls, result: FlowResult, rows: np.ndarray, write: Write) -> FixedColumns:
        """The fixed part of the records of ``rows``, its text written by ``write``."""
        t = result.conversations
        start = t.start_ns[rows]
        end = t.end_ns[rows]
        counts = {name: getattr(t, name)[rows] for name in (
            "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "payload_ab", "payload_ba")}
        protocols, protocol = _protocols(t, rows)
        return cls(
            ids=rows, protocols=protocols, protocol=protocol,
            proto=coded(protocols, protocol, write), stream=t.stream[rows],
            a_address=_addresses(t, rows, "a", write), a_port=t.a_port[rows],
            b_address=_addresses(t, rows, "b", write), b_port=t.b_port[rows],
            packets=counts["packets_ab"] + counts["packets_ba"],
            bytes=counts["bytes_ab"] + counts["bytes_ba"],
            counts=counts, start=start, end=end,
            relative_start=_seconds_since(start, result.capture.first_ns or 0),
            duration=_seconds_since(end, start),
            bps_ab=rounded(t.bits_per_second("ab", rows), 3),
            bps_ba=rounded(t.bits_per_second("ba", rows), 3),
            flags_ab=_flags(t.flags_ab[rows], write), flags_ba=_flags(t.flags_ba[rows], write),
            icmp_type=t.icmp_type[rows], icmp_code=t.icmp_code[rows],
            icmp_id=t.icmp_id[rows], quotes=t.quotes[rows])


def _protocols(t: ConversationTable, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(the distinct protocol names, each row's position among them); two kinds of
    conversation may share a name."""
    uniq, inverse = np.unique(t.kind[rows].astype(np.int64) << 8 | t.ip_proto[rows],
                              return_inverse=True)
    positions: dict[str, int] = {}
    renumber = [positions.setdefault(protocol_name(code >> 8, code & 0xFF), len(positions))
                for code in uniq.tolist()]
    return list(positions), np.asarray(renumber, dtype=np.intp)[inverse.reshape(-1)]


def _addresses(t: ConversationTable, rows: np.ndarray, side: str, write: Write) -> Coded:
    """Address texts; each distinct address is formatted once (many rows share a few hosts)."""
    keys = (getattr(t, f"{side}_lo")[rows], getattr(t, f"{side}_hi")[rows], t.family[rows])
    order = np.lexsort(keys)
    lo, hi, family = (key[order] for key in keys)
    new = np.ones(rows.size, dtype=bool)
    new[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1]) | (family[1:] != family[:-1])
    codes = np.empty(rows.size, dtype=np.intp)
    codes[order] = np.cumsum(new) - 1
    texts = [format_address(f, h, low) for f, h, low
             in zip(family[new].tolist(), hi[new].tolist(), lo[new].tolist(), strict=True)]
    return coded(texts, codes, write)


def _flags(flags: np.ndarray, write: Write) -> Coded:
    uniq, inverse = np.unique(flags, return_inverse=True)
    return coded(list(map(flag_string, uniq.tolist())), inverse.reshape(-1), write)


def _seconds_since(ns: np.ndarray, origin: np.ndarray | int) -> np.ndarray:
    """``(ns - origin) / 1e9`` as Python computes it for ints (exactly: the difference of
    non-negative int64 values cannot overflow; others are subtracted as Python ints)."""
    if ns.size == 0 or (int(ns.min()) >= 0 and int(np.min(origin)) >= 0):
        return (ns - origin) / 1e9
    origins = np.broadcast_to(origin, ns.shape).tolist()
    return np.array([(v - o) / 1e9 for v, o in zip(ns.tolist(), origins, strict=True)],
                    dtype=np.float64)


def record_fields(f: FixedColumns, protocol: str, first: int, extra: list[Field],
                  endpoint: list[tuple[str, str, Coded]]) -> list[Field]:
    """The fields of a ``protocol`` record, in the JSON layout's order (the one place it is
    written down): the fixed part, then the declared fields (``extra``, from
    :func:`~engine.export.declared.declared_fields`) that the protocol's records have, as its
    row ``first`` tells."""

    def side(name: str, address: Coded, port: np.ndarray) -> Field:
        declared: list[Field] = [(key, field) for s, key, field in endpoint
                                 if s == name and present(field, first)]
        return name, Obj([("address", address), ("port", Column(port, "nullable")), *declared])

    c = f.counts
    fields: list[Field] = [
        ("id", Column(f.ids, "int")), ("protocol", f.proto),
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
        fields += [("tcp_flags_a_to_b", f.flags_ab), ("tcp_flags_b_to_a", f.flags_ba)]
    elif protocol in ICMP_PROTOCOLS:
        fields += [("icmp", Obj([("type", Column(f.icmp_type, "int")),
                                 ("code", Column(f.icmp_code, "int")),
                                 ("id", Column(f.icmp_id, "nullable"))])),
                   ("quotes", Column(f.quotes, "nullable"))]
    return fields + [(key, field) for key, field in extra if present(field, first)]


def protocol_fields(result: FlowResult, rows: np.ndarray, write: Write
                    ) -> list[tuple[np.ndarray, list[Field]]]:
    """The records of ``rows``, protocol by protocol: (the positions of its rows in ``rows``,
    its records' fields), their text and the declared fields' values written by ``write``."""
    f = FixedColumns.of(result, rows, write)
    extra, endpoint = declared_fields(result, rows, f.protocols, f.protocol, write)
    by_protocol = [np.flatnonzero(f.protocol == k) for k in range(len(f.protocols))]
    return [(ks, record_fields(f, name, int(ks[0]), extra, endpoint))
            for name, ks in zip(f.protocols, by_protocol, strict=True)]


# -- the dict records ------------------------------------------------------------------------
def conversation_records(result: FlowResult, rows: np.ndarray | None = None
                         ) -> list[dict[str, Any]]:
    """One JSON-ready dict per conversation (all, or ``rows`` in the given order)."""
    rows = rows_of(result, rows)
    records = np.empty(rows.size, dtype=object)
    for ks, fields in protocol_fields(result, rows, _as_they_are):
        records[ks] = object_array(_dicts(fields, ks))
    return records.tolist()


def _as_they_are(values: list[Any]) -> list[Any]:
    return values


def _dicts(fields: list[Field], rows: np.ndarray) -> list[dict[str, Any]]:
    keys = [key for key, _ in fields]
    columns = [_dict_values(field, rows) for _, field in fields]
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


def _dict_values(field: Column | Coded | Obj, rows: np.ndarray) -> list[Any]:
    """The field's values at ``rows`` as JSON-ready values (an object's as dicts, or None)."""
    if isinstance(field, Column):
        return _PYTHON_VALUES[field.kind](field.values[rows])
    if isinstance(field, Coded):
        return field.values(rows).tolist()
    if not field.nullable:
        return _dicts(field.fields, rows)
    have = np.flatnonzero(~null_rows(field, rows))
    out: list[Any] = [None] * rows.size
    for k, record in zip(have.tolist(), _dicts(field.fields, rows[have]), strict=True):
        out[k] = record
    return out


def _or_none(values: np.ndarray) -> list[int | None]:
    """The values, None for the negative ones ("none")."""
    return [None if v < 0 else v for v in values.tolist()]


def _float_or_none(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


#: a number column's values as dict values, by its kind
_PYTHON_VALUES: dict[str, Callable[[np.ndarray], list[Any]]] = {
    "int": np.ndarray.tolist, "nullable": _or_none, "float": _float_or_none,
}
