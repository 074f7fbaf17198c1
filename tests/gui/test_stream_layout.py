"""The stream view's layout (Qt-free): lines in every mode hold exactly the stream's bytes in
Follow's order, gaps are marked where they occur, positions map back to bytes and packets, and
find and copy work across pieces and directions."""

from __future__ import annotations

import random

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.export.follow import hexdump
from engine.follow import find_tcp_stream
from gui.panes.stream import layout as stream_layout
from gui.panes.stream.copy import copy_text
from gui.panes.stream.layout import (
    MODES,
    TEXT_WIDTH,
    StreamDocument,
    StreamLayout,
    text_line_starts,
)
from gui.panes.stream.search import find, needle_for
from gui.panes.stream.text import NONE, SPACE, render_gap, render_hex, render_raw, render_text
from tests.conftest import CAPTURES, oracle
from tests.gui.stream_helpers import document, tcp_result, udp_result

HTTP = CAPTURES / "zeek-http-get.pcap"
GAPS = CAPTURES / "zeek-tcp-reassembly.pcap"


def _doc(path, stream: int = 0) -> StreamDocument:  # type: ignore[no-untyped-def]
    result = extract_flows_from_file(path, WIRESHARK)
    return document(result, find_tcp_stream(result, stream))


def _bytes_by_direction(layout: StreamLayout) -> tuple[bytes, bytes]:
    out = [bytearray(), bytearray()]
    for line in layout.lines(0, layout.line_count):
        out[line.direction] += layout.line_bytes(line)
    return bytes(out[0]), bytes(out[1])


@pytest.mark.parametrize("mode", MODES)
def test_lines_hold_the_oracle_bytes_in_every_mode(mode: str) -> None:
    expected = oracle(HTTP)["tcp"][0]
    doc = _doc(HTTP)
    layout = StreamLayout(doc, mode)
    a, b = _bytes_by_direction(layout)
    assert a.hex() == expected["payload_a_to_b_hex"]
    assert b.hex() == expected["payload_b_to_a_hex"]
    lines = layout.lines(0, layout.line_count)
    # the request (client) first, then the response (server); positions tile the display
    assert [ln.direction for ln in lines] == sorted(ln.direction for ln in lines)
    assert lines[0].label and lines[0].direction == 0
    first_b = next(ln for ln in lines if ln.direction == 1)
    assert first_b.label and first_b.position == len(a)
    ends = [ln.position + ln.end - ln.start for ln in lines]
    assert [ln.position for ln in lines[1:]] == ends[:-1]
    assert layout.byte_count == len(a) + len(b)
    doc.close()


def test_summary_counts_like_wireshark() -> None:
    doc = _doc(HTTP)
    assert doc.packets == (1, 4) and doc.turns == 1 and doc.missing == 0
    assert doc.bytes == (136, 5007)
    doc.close()
    gaps = _doc(GAPS)
    assert gaps.missing == 4376 and gaps.packets[1] == 0 and gaps.turns == 0
    gaps.close()


def test_hex_lines_are_the_follow_hexdump() -> None:
    doc = _doc(HTTP)
    layout = StreamLayout(doc, "hex")
    lines = layout.lines(0, layout.line_count)
    mine = "".join(render_hex(layout.line_bytes(ln), ln.start).text + "\n" for ln in lines
                   if ln.direction == 0)
    assert mine.splitlines()[:-1] == hexdump(doc.stream.data(0)).decode().splitlines()[:-1]
    # the last, partial line keeps the columns of the full ones
    assert mine.splitlines()[-1].startswith("00000080  6c 69 76 65 0d 0a 0d 0a ")
    assert mine.splitlines()[-1].endswith("live....")
    doc.close()


def test_gaps_are_marked_where_they_occur() -> None:
    doc = _doc(GAPS)
    expected = oracle(GAPS)["tcp"][0]["gaps_a_to_b"]
    for mode in MODES:
        layout = StreamLayout(doc, mode)
        gap_lines = [ln for ln in layout.lines(0, layout.line_count) if ln.is_gap]
        assert [(ln.start, doc.stream.gaps[ln.gap].length) for ln in gap_lines] == [
            (g["offset"], g["missing"]) for g in expected]
        # the byte before a gap line ends at the gap's offset
        for ln in gap_lines:
            before = layout.line(ln.index - 1)
            assert before.end == ln.start and layout.line(ln.index + 1).start == ln.start
    first = doc.stream.gaps[0]
    assert render_gap(first).text == f"[{first.length} bytes missing in capture]"
    doc.close()


def test_direction_filters() -> None:
    expected = oracle(HTTP)["tcp"][0]
    doc = _doc(HTTP)
    for direction, key in (("a-to-b", "payload_a_to_b_hex"), ("b-to-a", "payload_b_to_a_hex")):
        layout = StreamLayout(doc, "text", direction)
        a, b = _bytes_by_direction(layout)
        assert (a + b).hex() == expected[key]
        assert not (a and b)
        assert layout.byte_count == len(a + b)
    doc.close()


def _reference_lines(data: bytes, width: int) -> list[int]:
    """Display line starts by a plain loop: split at LF, wrap every ``width`` visible bytes."""
    starts = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        stop = len(data) if end < 0 else end + 1
        visible = (end if end >= 0 else len(data)) - pos
        for k in range(max(1, -(-visible // width))):
            starts.append(pos + k * width)
        pos = stop
    return starts


@pytest.mark.parametrize("seed", range(8))
def test_text_line_starts_match_a_plain_loop(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = b"ab \n\n\r\x00\xff"
    data = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 3000)))
    width = rng.choice([1, 3, 16, 128])
    starts, owner = text_line_starts(np.frombuffer(data, np.uint8), np.array([0]), width)
    assert starts.tolist() == _reference_lines(data, width)
    assert (owner == 0).all()


def test_text_wraps_long_lines_and_marks_continuations() -> None:
    body = b"x" * (TEXT_WIDTH * 2 + 5) + b"\n" + b"y" * TEXT_WIDTH + b"\n"
    doc = document(tcp_result([(0, body)]))
    layout = StreamLayout(doc, "text")
    lines = layout.lines(0, layout.line_count)
    assert [ln.end - ln.start for ln in lines] == [TEXT_WIDTH, TEXT_WIDTH, 6, TEXT_WIDTH + 1]
    assert [ln.wrapped for ln in lines] == [False, True, True, False]
    doc.close()


def test_long_turns_are_cut_into_pieces_without_losing_bytes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_layout, "PIECE", 64)
    rng = random.Random(3)
    a = bytes(rng.randrange(256) for _ in range(1000))
    b = b"".join(b"row %04d\r\n" % i for i in range(60))
    doc = document(tcp_result([(0, a), (1, b), (0, b"bye")], segment=300))
    assert (doc.pieces.length[doc.pieces.gap < 0] <= 64).all()
    for mode in MODES:
        layout = StreamLayout(doc, mode)
        got = _bytes_by_direction(layout)
        assert got == (a + b"bye", b)
        labels = [ln for ln in layout.lines(0, layout.line_count) if ln.label]
        assert [ln.direction for ln in labels] == [0, 1, 0]  # one label per turn, not piece
    layout = StreamLayout(doc, "hex")
    # hex offsets run on across pieces
    assert [ln.start for ln in layout.lines(0, 8)] == [16 * k for k in range(8)]
    # a match may run across a piece boundary inside a turn
    assert layout.turn_end(1, 0) == len(b)
    match = find(layout, b[60:70], 0, match_case=True)
    assert match is not None and layout.locate(match.position) == (1, 60)
    doc.close()


def test_positions_lines_and_packets_round_trip() -> None:
    doc = _doc(HTTP)
    c = doc.stream.chunks
    for mode in MODES:
        layout = StreamLayout(doc, mode)
        for position in range(0, layout.byte_count, 97):
            d, offset = layout.locate(position)  # type: ignore[misc]
            assert layout.position_of(d, offset) == position
            line = layout.line(layout.line_of_position(position))
            assert line.direction == d and line.start <= offset < line.end
            k = doc.chunk_at(d, offset)
            assert c.offset[k] <= offset < c.offset[k] + c.length[k]
            assert layout.packet_of_line(line, offset) == int(c.packet[k])
    assert StreamLayout(doc, "text", "a-to-b").position_of(1, 0) is None
    doc.close()


def test_find_forward_backward_wrap_and_case() -> None:
    doc = _doc(HTTP)
    layout = StreamLayout(doc, "text")
    data_b = doc.stream.data(1)
    first = find(layout, b"keep-alive", 0)
    assert first is not None and not first.wrapped
    assert layout.locate(first.position) == (0, doc.stream.data(0).find(b"Keep-Alive"))
    second = find(layout, b"keep-alive", first.position + 1)
    assert second is not None and layout.locate(second.position) == (1, data_b.find(
        b"Keep-Alive"))
    exact = find(layout, b"Keep-Alive", 0, match_case=True)
    assert exact is not None and exact.position == first.position
    assert find(layout, b"keep-alive", 0, match_case=True) is None
    back = find(layout, b"keep-alive", second.position, forward=False)
    assert back is not None and back.position == first.position
    wrapped = find(layout, b"GET /", 10)
    assert wrapped is not None and wrapped.wrapped and wrapped.position == 0
    assert find(layout, b"GET /", 10, wrap=False) is None
    assert find(layout, b"no such text", 0) is None
    doc.close()


def test_a_match_never_runs_from_one_turn_into_the_next() -> None:
    doc = document(tcp_result([(0, b"hello ab"), (1, b"cd world")]))
    layout = StreamLayout(doc, "text")
    assert find(layout, b"abcd", 0) is None
    assert find(layout, b"ab", 0) is not None and find(layout, b"cd", 0) is not None
    doc.close()


def test_hex_queries_in_hex_modes() -> None:
    assert needle_for("47 45 54", "hex") == b"GET"
    assert needle_for("474554", "raw") == b"GET"
    assert needle_for("47 45 54", "text") == b"47 45 54"
    assert needle_for("GET", "hex") == b"GET"


def test_copy_in_each_mode() -> None:
    doc = document(tcp_result([(0, b"GET / HTTP/1.0\r\n\r\n"), (1, b"HTTP/1.0 200 OK\r\n")]))
    text = StreamLayout(doc, "text")
    assert copy_text(text, 0, text.byte_count) == "GET / HTTP/1.0\r\n\r\nHTTP/1.0 200 OK\r\n"
    assert copy_text(text, 4, 20) == "/ HTTP/1.0\r\n\r\nHT"
    raw = StreamLayout(doc, "raw")
    assert copy_text(raw, 0, 3) == "474554"
    assert copy_text(raw, 16, 20) == "0d0a\n4854"
    hexed = StreamLayout(doc, "hex")
    assert copy_text(hexed, 0, 18) == hexdump(b"GET / HTTP/1.0\r\n\r\n").decode()
    doc.close()
    gaps = _doc(GAPS)
    layout = StreamLayout(gaps, "text")
    gap_line = next(ln for ln in layout.lines(0, layout.line_count) if ln.is_gap)
    copied = copy_text(layout, gap_line.position - 2, gap_line.position + 2)
    assert "\n[8 bytes missing in capture]\n" in copied
    gaps.close()


def test_udp_datagrams_each_start_a_line() -> None:
    doc = document(udp_result([(0, b"ask"), (0, b"again"), (1, b"answer")]))
    layout = StreamLayout(doc, "text")
    lines = layout.lines(0, layout.line_count)
    assert [(ln.direction, layout.line_bytes(ln)) for ln in lines] == [
        (0, b"ask"), (0, b"again"), (1, b"answer")]
    assert all(ln.label for ln in lines)
    assert doc.packets == (2, 1) and doc.turns == 1
    doc.close()


def test_render_text_utf8_controls_tabs_and_line_ends() -> None:
    r = render_text("héllo\tw\x01€".encode() + b"\xff\r\n")
    assert r.text == "héllo   w.€\ufffd"
    assert r.byte_at.tolist() == [0, 1, 3, 4, 5, 6, 6, 6, 7, 8, 9, 12]
    assert r.size == 15
    assert r.byte_for_column(2) == 3 and r.byte_for_column(100) == 14
    assert r.columns(1, 4) == [(1, 3)]  # é (two bytes) and l
    assert render_text(b"a\rb").text == "a.b"
    assert render_text(b"\xe2\x82").text == "\ufffd\ufffd"  # a sequence cut by a wrap


def test_render_hex_and_raw_columns() -> None:
    r = render_hex(bytes(range(65, 65 + 16)), 0x10)
    assert r.text == ("00000010  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  "
                      "ABCDEFGH IJKLMNOP")
    assert r.byte_at[:10].tolist() == [NONE] * 10
    assert r.byte_for_column(0) == 0 and r.byte_for_column(13) == 1
    # bytes 7..8 across the middle: hex pairs plus the spacing between them, and the text
    assert r.columns(7, 9) == [(31, 37), (67, 70)]
    assert r.byte_at[33] == SPACE
    raw = render_raw(b"\x01\xab")
    assert raw.text == "01ab" and raw.columns(1, 2) == [(2, 4)]


def test_a_spilled_stream_reads_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Past FlowConfig.memory_budget the stream lives in temporary files; the view, find and
    copy read it there the same way."""
    expected = oracle(HTTP)["tcp"][0]
    spill = tmp_path / "spill"
    spill.mkdir()
    with extract_flows_from_file(HTTP, WIRESHARK.replace(memory_budget=1000,
                                                        spill_dir=spill)) as result:
        doc = document(result, find_tcp_stream(result, 0))
        assert doc.stream.spilled
        for mode in MODES:
            a, b = _bytes_by_direction(StreamLayout(doc, mode))
            assert (a.hex(), b.hex()) == (expected["payload_a_to_b_hex"],
                                          expected["payload_b_to_a_hex"])
        layout = StreamLayout(doc, "text")
        match = find(layout, b"content-length", 0)
        assert match is not None
        assert copy_text(layout, match.position, match.position + 14) == "Content-Length"
        doc.close()
    assert list(spill.iterdir()) == []
