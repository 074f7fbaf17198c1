"""The JSON writer's column-wise lines equal ``json``'s text of the records, byte for byte."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.l2 import ARP, Ether

from engine import WIRESHARK, extract_flows
from engine.columns import COLUMNS, ColumnSpec, declare_column
from engine.export import conversations as conversations_export
from engine.export import float_text, json_objects
from engine.export.conversations import write_json
from engine.export.declared import ENDPOINTS
from engine.export.float_text import float_texts
from engine.export.json_lines import encode, record_lines
from engine.export.records import conversation_records, rows_of
from engine.export.rounding import rounded
from engine.pipeline import analyse_file

from ..conftest import DATA, readable_captures
from .packets import at, mixed

ENCODER = json.JSONEncoder(separators=(", ", ": ")).encode
CAPTURES = readable_captures() + sorted(
    p for folder in ("app", "built") for p in (DATA / folder).iterdir()
    if p.suffix in (".pcap", ".pcapng"))


def _dict_lines(result, rows=None) -> list[str]:
    return [ENCODER(r) for r in conversation_records(result, rows)]


def _assert_lines(result, rows=None) -> None:
    """The lines are json's text of the dict records, whose declared fields are what their
    columns' converters make of each row's value."""
    assert record_lines(result, rows) == _dict_lines(result, rows)
    records = conversation_records(result, rows)
    for row, record in zip(rows_of(result, rows).tolist(), records, strict=True):
        fields, endpoints = _declared_reference(result, row)
        assert _texts(_declared(record)) == _texts(fields)
        for side in ENDPOINTS:
            assert _texts(record[side])[2:] == _texts(endpoints[side])


#: the keys of the records' fixed part (everything else is a declared field)
FIXED = {"id", "protocol", "stream", "a", "b", "packets", "bytes", "packets_a_to_b",
         "bytes_a_to_b", "packets_b_to_a", "bytes_b_to_a", "payload_bytes_a_to_b",
         "payload_bytes_b_to_a", "start_ns", "end_ns", "relative_start", "duration",
         "bits_per_second_a_to_b", "bits_per_second_b_to_a", "tcp_flags_a_to_b",
         "tcp_flags_b_to_a", "icmp", "quotes"}


def _declared(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in FIXED}


def _texts(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The fields in order, each value as json writes it (-0.0 is not 0.0, NaN is NaN)."""
    return [(key, ENCODER(value)) for key, value in fields.items()]


def _declared_reference(result, row: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A row's declared fields worked out value by value, as the JSON layout says: each
    column's converter of the row's value, left out for other protocols; ``group.key``
    columns in one object at the first one's place (left out when one is, null when all are
    null); ``a.key`` / ``b.key`` in the endpoints (returned apart)."""
    t = result.conversations
    protocol = t.protocol_names()[row]
    fields: dict[str, Any] = {}
    endpoints: dict[str, dict[str, Any]] = {side: {} for side in ENDPOINTS}
    groups: dict[str, list[tuple[str, Any, bool]]] = {}
    for spec in COLUMNS.values():
        if spec.core or spec.name not in t.extra:
            continue
        value = spec.convert(t.extra[spec.name][row : row + 1].tolist()[0])
        absent = bool(spec.protocols) and protocol not in spec.protocols
        group, _, key = spec.key.rpartition(".")
        if group in ENDPOINTS:
            if not absent:
                endpoints[group][key] = value
        elif not group:
            if not absent:
                fields[key] = value
        else:
            if group not in groups:
                groups[group] = []
                fields[group] = None
            groups[group].append((key, value, absent))
    for group, members in groups.items():
        if any(absent for _, _, absent in members):
            del fields[group]
        elif any(value is not None for _, value, _ in members):
            fields[group] = {key: value for key, value, _ in members}
    return fields, endpoints


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_capture_writes_the_records_text(path: Path) -> None:
    """All rows, and rows in another order: reversed, a shuffled half, one row, none."""
    with analyse_file(path, WIRESHARK) as result:
        _assert_lines(result)
        n = len(result.conversations)
        _assert_lines(result, np.arange(n)[::-1])
        _assert_lines(result, np.random.default_rng(n).permutation(n)[: n // 2])
        _assert_lines(result, np.array([n // 2] if n else [], dtype=np.int64))
        assert record_lines(result, np.array([], dtype=np.int64)) == []


def _mixed():
    return extract_flows(mixed(), WIRESHARK)


def test_text_that_json_escapes_and_percent_signs() -> None:
    """Values with % (the templates are %-formatted), quotes, control and non-ASCII
    characters, and a list value, come out as json writes them."""
    result = _mixed()
    extra = result.conversations.extra
    tcp_row = int(np.flatnonzero(result.conversations.protocol_names() == "tcp")[0])
    extra["http_uri"][tcp_row] = '/a%sb%%c%(x)s"\\\n\u2028ü😀'
    extra["http_host"][tcp_row] = "%"
    extra["dns_answers"][tcp_row] = "1.2.3.4,%s,é"
    lines = record_lines(result)
    assert lines == _dict_lines(result)
    assert json.loads(lines[tcp_row])["http"]["uri"] == '/a%sb%%c%(x)s"\\\n\u2028ü😀'


def test_rows_in_a_given_order_and_the_whole_document() -> None:
    result = _mixed()
    assert len(result.conversations) == 3
    rows = np.array([2, 0, 1], dtype=np.int64)
    assert record_lines(result, rows) == _dict_lines(result, rows)
    out = io.StringIO()
    write_json(result, out)
    doc = json.loads(out.getvalue())
    assert doc["conversations"] == conversation_records(result)


def _document(result, rows=None) -> str:
    out = io.StringIO()
    write_json(result, out, rows)
    return out.getvalue()


@pytest.mark.parametrize("combinations", [0.0, 1.0])
def test_the_document_is_the_records_lines_in_blocks_and_pieces(monkeypatch,
                                                                 combinations: float) -> None:
    """The document's conversation lines are the records' text, whatever the blocks, the
    rows a ``%`` fills (here a few, so that blocks and pieces end mid-protocol), and the
    runs of coded fields written as one (none, or every run); floats by numpy, however
    few."""
    with analyse_file(DATA / "app" / "ndpi-wechat.pcap", WIRESHARK) as result:
        n = len(result.conversations)
        assert n > 20
        rows = np.random.default_rng(1).permutation(n)
        whole = _document(result, rows)
        monkeypatch.setattr(conversations_export, "WRITE_BLOCK", 7)
        monkeypatch.setattr(json_objects, "FILL_ROWS", 3)
        monkeypatch.setattr(json_objects, "FEW_COMBINATIONS", combinations)
        monkeypatch.setattr(json_objects, "JOIN_ROWS", 0)
        monkeypatch.setattr(float_text, "_FEW", 0)
        assert _document(result, rows) == whole
        head, _, body = whole.partition('"conversations": [\n  ')
        assert body.split(",\n  ")[-1].endswith("\n ]\n}\n")
        assert body[: -len("\n ]\n}\n")].split(",\n  ") == _dict_lines(result, rows)
        assert json.loads(whole) == {**json.loads(head[:-3] + "}"),
                                     "conversations": conversation_records(result, rows)}


def test_a_capture_without_conversations() -> None:
    result = extract_flows([at(Ether() / ARP(), 1.0)], WIRESHARK)
    assert len(result.conversations) == 0
    assert record_lines(result) == []
    document = _document(result)
    assert json.loads(document)["conversations"] == []
    assert document.endswith('"conversations": []\n}\n')


# -- declared columns with awkward keys and values ---------------------------------------------
#: JSON-ready values a plug-in's column may give, which json writes in its own ways
AWKWARD: list[Any] = [
    math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1e-05, 0.0001, 1e16, 0.1 + 0.2, None,
    True, False, 0, -1, 2**70, "", "%s%%%(x)s", 'q"\\\x00\x1f\x7f', "ü€😀\u2028\n", [],
    ["a", "%s", "é"], [1, None, 2.5, math.nan], {"k%s": [1, {"z": None}]}, {},
]


@contextmanager
def awkward_columns() -> Iterator[list[str]]:
    """Columns a plug-in might declare: grouped, on an endpoint, with % in their keys, for
    some protocols, and turning their values into :data:`AWKWARD` ones."""
    specs = [
        ColumnSpec("test_odd_value", "Odd", "count", "test", ("tcp", "udp"),
                   json_key="odd%s.v%%alue", to_json=lambda v: AWKWARD[v]),
        ColumnSpec("test_odd_text", "Odd text", "text", "test", ("tcp", "udp"),
                   json_key="odd%s.text", to_json=lambda v: v or None),
        ColumnSpec("test_odd_float", "Odd float", "float", "test", (),
                   json_key="f%loat", to_json=float),
        ColumnSpec("test_odd_name", "Odd name", "text", "test", ("udp", "icmp"),
                   json_key="a.na%me", to_json=lambda v: v),
    ]
    for spec in specs:
        declare_column(spec)
    try:
        yield [spec.name for spec in specs]
    finally:
        for spec in specs:
            COLUMNS.pop(spec.name)


def _with_columns(names: list[str], odd: list[int], texts: list[str], floats: list[float]):
    result = _mixed()
    extra = result.conversations.extra
    extra[names[0]] = np.array(odd, dtype=np.int64)
    extra[names[1]] = np.array(texts, dtype=np.dtypes.StringDType())
    extra[names[2]] = np.array(floats, dtype=np.float64)
    extra[names[3]] = np.array(texts[::-1], dtype=object)
    return result


def test_awkward_keys_and_values_of_declared_columns() -> None:
    with awkward_columns() as names:
        for first in range(len(AWKWARD)):
            odd = [first, (first + 1) % len(AWKWARD), (first + 7) % len(AWKWARD)]
            result = _with_columns(names, odd, ["%s", "", "ü\n"], [-0.0, 0.0, math.nan])
            _assert_lines(result)
            _assert_lines(result, np.array([2, 0], dtype=np.int64))


@settings(max_examples=150, deadline=None)
@given(odd=st.lists(st.integers(0, len(AWKWARD) - 1), min_size=3, max_size=3),
       texts=st.lists(st.text(), min_size=3, max_size=3),
       floats=st.lists(st.floats(), min_size=3, max_size=3))
def test_any_values_of_declared_columns(odd: list[int], texts: list[str],
                                        floats: list[float]) -> None:
    with awkward_columns() as names:
        result = _with_columns(names, odd, texts, floats)
        _assert_lines(result)
        _assert_lines(result, np.array([1], dtype=np.int64))


@settings(max_examples=150, deadline=None)
@given(times=st.lists(st.integers(-(2**62), 2**62), min_size=6, max_size=6),
       sizes=st.lists(st.integers(0, 2**40), min_size=2, max_size=2))
def test_any_times_and_rates(times: list[int], sizes: list[int]) -> None:
    """The fixed part's floats (seconds, bit rates rounded to 3 places) as Python computes
    and json writes them, for any times (negative, far apart) and sizes."""
    result = _mixed()
    t = result.conversations
    t.start_ns[:] = times[:3]
    t.end_ns[:] = [max(s, e) for s, e in zip(times[:3], times[3:], strict=True)]
    t.bytes_ab[:2] = sizes
    _assert_lines(result)
    first = result.capture.first_ns or 0
    for k, record in enumerate(conversation_records(result)):
        start, end = int(t.start_ns[k]), int(t.end_ns[k])
        assert record["relative_start"] == (start - first) / 1e9
        assert record["duration"] == (end - start) / 1e9
        rate = float(t.bits_per_second("ab")[k])
        assert record["bits_per_second_a_to_b"] == (None if math.isnan(rate)
                                                    else round(rate, 3))


# -- floats: their text and their rounding at numpy speed --------------------------------------
@pytest.mark.parametrize("value", [
    0, -1, 2**70, 1.5, -0.0, 0.0, 5e-324, 1e300, 0.1 + 0.2, math.nan, math.inf, -math.inf,
    True, False, None, "", "a\"b\\c\x00\x1f\x7f", "ü€😀\u2028", "%s%%",
    ["a", "%s", "é"], [1, None, 2.5], {"k": [1, {"z": None}]}, [], ["a", 1],
])
def test_a_value_is_encoded_as_json_encodes_it(value: object) -> None:
    assert encode(value) == ENCODER(value)


#: floats that are short decimals (what the fast text is for), and any floats
_DECIMALS = st.builds(lambda k, places: k / 10**places, st.integers(0, 10**16),
                      st.sampled_from([0, 1, 3, 6, 9, 12]))
_FLOATS = st.one_of(_DECIMALS, st.floats(), st.floats(min_value=1e-5, max_value=1e-3))


@settings(max_examples=300)
@given(st.lists(_FLOATS, min_size=1, max_size=40), st.integers(1, 300))
def test_floats_are_written_as_repr_writes_them(values: list[float], size: int) -> None:
    """As many floats as make numpy's way pay (and fewer, which repr writes)."""
    floats = np.resize(np.array(values, dtype=np.float64), size)
    assert float_texts(floats).tolist() == [ENCODER(v) for v in floats.tolist()]


#: values whose thousandfold lies on or near a half (where rounding could go either way)
_NEAR_HALVES = st.builds(lambda k, nudge: (k + 0.5) / 1000 * (1 + nudge),
                         st.integers(-(10**12), 10**12), st.sampled_from([0, 1e-16, -1e-16]))


@settings(max_examples=300)
@given(st.lists(st.one_of(_FLOATS, _NEAR_HALVES, st.floats(allow_nan=True)), max_size=40),
       st.integers(0, 9))
def test_floats_are_rounded_as_round_rounds_them(values: list[float], places: int) -> None:
    got = rounded(np.array(values, dtype=np.float64), places)
    want = np.array([round(v, places) for v in values], dtype=np.float64)
    assert got.tobytes() == want.tobytes() or all(
        (a != a and b != b) or np.float64(a).tobytes() == np.float64(b).tobytes()
        for a, b in zip(got.tolist(), want.tolist(), strict=True))
