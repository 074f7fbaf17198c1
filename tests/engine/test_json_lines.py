"""The JSON writer's column-wise lines equal ``json``'s text of the records, byte for byte."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows
from engine.export.conversations import write_json
from engine.export.json_lines import encode, record_lines
from engine.export.records import conversation_records
from engine.pipeline import analyse_file

from ..conftest import DATA, readable_captures
from .packets import mixed

ENCODER = json.JSONEncoder(separators=(", ", ": ")).encode
CAPTURES = readable_captures() + sorted(
    p for folder in ("app", "built") for p in (DATA / folder).iterdir()
    if p.suffix in (".pcap", ".pcapng"))


def _dict_lines(result, rows=None) -> list[str]:
    return [ENCODER(r) for r in conversation_records(result, rows)]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_capture_writes_the_records_text(path: Path) -> None:
    with analyse_file(path, WIRESHARK) as result:
        assert record_lines(result) == _dict_lines(result)


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


@pytest.mark.parametrize("value", [
    0, -1, 2**70, 1.5, -0.0, 0.0, 5e-324, 1e300, 0.1 + 0.2, math.nan, math.inf, -math.inf,
    True, False, None, "", "a\"b\\c\x00\x1f\x7f", "ü€😀\u2028", "%s%%",
    ["a", "%s", "é"], [1, None, 2.5], {"k": [1, {"z": None}]},
])
def test_a_value_is_encoded_as_json_encodes_it(value: object) -> None:
    assert encode(value) == ENCODER(value)
