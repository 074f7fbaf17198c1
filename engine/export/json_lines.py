"""The JSON text of conversation records, written from columns instead of one dict each.

:func:`record_lines` gives, for each conversation, exactly the text that ``json`` writes for
its :func:`~engine.export.records.conversation_records` dict (``separators=(", ", ": ")``):
every field's values are encoded once per column (once per distinct value where values
repeat), and each protocol's records are one template, filled by ``%`` with a row of encoded
values. Encoding a dict per conversation cost about four times as much (10,000 conversations
with the TCP and application columns: ~0.5 s).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..result import FlowResult
from .records import (
    ABSENT,
    ICMP_PROTOCOLS,
    FixedColumns,
    declared_fields,
    flag_string,
    object_template,
    picker,
    rows_by_protocol,
    rows_of,
)

#: the encoder whose output the lines equal (one record per line in the JSON document)
_ENCODER = json.JSONEncoder(separators=(", ", ": ")).encode
_TEXT = json.encoder.encode_basestring_ascii


def encode(value: Any) -> str:
    """The JSON text of ``value``, as the encoder writes it; scalars without its machinery."""
    kind = type(value)
    if kind is str:
        return _TEXT(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is float and value - value == 0:  # (finite)
        return float.__repr__(value)
    return _ENCODER(value)


@dataclass
class _Object:
    """An object inside the record (an endpoint, ICMP's fields): its fields."""

    fields: list[Field]


#: a field of a template: its key and its values' texts, or an object
Field = tuple[str, "Sequence[Any] | _Object"]


def _memo_encoded(values: Iterable[str]) -> list[str]:
    """Each text's JSON text, encoded once per distinct text (texts only: 1, 1.0 and True
    would share a key)."""
    memo: dict[str, str] = {}
    out = []
    for v in values:
        text = memo.get(v)
        if text is None:
            text = memo[v] = encode(v)
        out.append(text)
    return out


def _ints(values: Sequence[int]) -> list[str]:
    return list(map(int.__repr__, values))


def _nullable(values: Sequence[int | None]) -> list[str]:
    return ["null" if v is None else int.__repr__(v) for v in values]


def _floats(values: Sequence[float | None]) -> list[str]:
    """As ``json`` writes floats: repr, and NaN/Infinity for the non-finite."""
    return ["null" if v is None else float.__repr__(v) if v - v == 0 else encode(v)
            for v in values]


def _sums(a: list[int], b: list[int]) -> list[str]:
    return list(map(int.__repr__, map(int.__add__, a, b)))


def record_lines(result: FlowResult, rows: np.ndarray | None = None) -> list[str]:
    """Each conversation's record as one line of JSON (all, or ``rows`` in the given order)."""
    rows = rows_of(result, rows)
    f = FixedColumns.of(result, rows)
    c = f.counts
    extra, endpoint_fields = declared_fields(result, rows, f.proto, encode)
    endpoint = {side: [(key, values) for s, key, values in endpoint_fields if s == side]
                for side in ("a", "b")}
    head: list[Field] = [
        ("id", _ints(f.ids)), ("protocol", _memo_encoded(f.proto)), ("stream", _nullable(f.stream)),
        ("a", _Object([("address", _memo_encoded(f.a_address)), ("port", _nullable(f.a_port)),
                       *endpoint["a"]])),
        ("b", _Object([("address", _memo_encoded(f.b_address)), ("port", _nullable(f.b_port)),
                       *endpoint["b"]])),
        ("packets", _sums(c["packets_ab"], c["packets_ba"])),
        ("bytes", _sums(c["bytes_ab"], c["bytes_ba"])),
        ("packets_a_to_b", _ints(c["packets_ab"])), ("bytes_a_to_b", _ints(c["bytes_ab"])),
        ("packets_b_to_a", _ints(c["packets_ba"])), ("bytes_b_to_a", _ints(c["bytes_ba"])),
        ("payload_bytes_a_to_b", _ints(c["payload_ab"])),
        ("payload_bytes_b_to_a", _ints(c["payload_ba"])),
        ("start_ns", _ints(f.start)), ("end_ns", _ints(f.end)),
        ("relative_start", _floats(f.relative_start)), ("duration", _floats(f.duration)),
        ("bits_per_second_a_to_b", _floats(f.bps_ab)),
        ("bits_per_second_b_to_a", _floats(f.bps_ba)),
    ]
    by_proto = rows_by_protocol(f.proto)
    lines = [""] * len(f.ids)
    for name, ks in by_proto.items():
        fields = list(head)
        if name == "tcp":
            fields += [("tcp_flags_a_to_b", _memo_encoded(map(flag_string, c["flags_ab"]))),
                       ("tcp_flags_b_to_a", _memo_encoded(map(flag_string, c["flags_ba"])))]
        elif name in ICMP_PROTOCOLS:
            fields += [("icmp", _Object([
                ("type", _ints(c["icmp_type"])), ("code", _ints(c["icmp_code"])),
                ("id", _nullable([None if v < 0 else v for v in c["icmp_id"]]))])),
                       ("quotes", _nullable([None if v < 0 else v for v in c["quotes"]]))]
        fields += [(key, values) for key, values in extra if values[ks[0]] is not ABSENT]
        template, columns = _template(fields, ks[0])
        pick = picker(ks)
        for k, row in zip(ks, zip(*(pick(col) for col in columns), strict=True), strict=True):
            lines[k] = template % row
    return lines


def _template(fields: list[Field], first: int) -> tuple[str, list[Sequence[Any]]]:
    """(the object's text with ``%s`` for each value, the value columns in that order); an
    object inside leaves out the fields absent from the protocol's first row ``first``."""
    keys: list[str] = []
    pieces: list[str] = []
    columns: list[Sequence[Any]] = []
    for key, values in fields:
        keys.append(key)
        if isinstance(values, _Object):
            inner = [(k, v) for k, v in values.fields
                     if isinstance(v, _Object) or v[first] is not ABSENT]
            piece, more = _template(inner, first)
            pieces.append(piece)
            columns += more
        else:
            pieces.append("%s")
            columns.append(values)
    return object_template(keys, encode, pieces), columns


__all__ = ["record_lines"]
