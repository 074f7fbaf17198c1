"""The Stream pane with real captures: what it shows (asserted on its model, not on pixels),
clicks that select packets, selection and copy, find, empty states, previews and workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from engine import WIRESHARK, FlowError, FlowResult, extract_flows_from_file
from engine.follow import find_tcp_stream
from gui.panes.stream import pane as stream_pane
from gui.panes.stream.layout import StreamDocument
from gui.panes.stream.pane import EMPTY_NOTHING_SELECTED, StreamPane
from gui.style import GAP_STYLE, STREAM_STYLES
from tests.conftest import CAPTURES, oracle
from tests.gui.stream_helpers import tcp_result

HTTP = CAPTURES / "zeek-http-get.pcap"
GAPS = CAPTURES / "zeek-tcp-reassembly.pcap"
WIKIPEDIA = CAPTURES / "zeek-wikipedia-many-conns.pcap"
PINGS = CAPTURES / "zeek-icmp-5-pings.pcap"

# the pane is shown (clicks need a visible viewport); the offscreen platform then warns that it
# cannot pass size hints to a window manager it does not have
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def pane(qtbot) -> Iterator[StreamPane]:  # type: ignore[no-untyped-def]
    p = StreamPane()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    yield p
    p.shutdown()


@pytest.fixture
def http() -> Iterator[FlowResult]:
    with extract_flows_from_file(HTTP, WIRESHARK) as result:
        yield result


def show(qtbot, pane: StreamPane, result: FlowResult, row: int) -> StreamDocument:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(pane.streamShown, timeout=30_000) as blocker:
        pane.show_conversation(result, row)
    return blocker.args[0]


def test_http_request_in_client_colour_response_in_server_colour(qtbot, pane, http) -> None:  # type: ignore[no-untyped-def]
    expected = oracle(HTTP)["tcp"][0]
    doc = show(qtbot, pane, http, find_tcp_stream(http, 0))
    assert doc is pane.document and doc.complete
    view = pane.view
    layout = view.stream_layout
    assert layout is not None and layout.mode == "text" and layout.direction == "both"
    by_style: dict[str, bytearray] = {"client": bytearray(), "server": bytearray()}
    for index in range(layout.line_count):
        line, _ = view.rendered_line(index)
        style = view.line_style(index)
        client, server = STREAM_STYLES
        name = "client" if style == client else "server" if style == server else "?"
        assert name == ("client", "server")[line.direction]
        by_style[name] += layout.line_bytes(line)
    assert by_style["client"].hex() == expected["payload_a_to_b_hex"]
    assert by_style["server"].hex() == expected["payload_b_to_a_hex"]
    assert view.rendered_line(0)[1].text == "GET /download/CHANGES.bro-aux.txt HTTP/1.1"
    # the two colours are distinct, and each is legible on its own background
    assert STREAM_STYLES[0].foreground != STREAM_STYLES[1].foreground
    assert STREAM_STYLES[0].background != STREAM_STYLES[1].background
    for style in STREAM_STYLES:
        assert _contrast(style.foreground, style.background) >= 7.0
    assert pane.summary.text() == "1 client packet, 4 server packets, 1 turn, 0 bytes missing"
    assert pane.legend[0].text().startswith("A→B  141.142.228.5:59856 → 192.150.187.43:80")
    assert pane.export_button.isEnabled()


def _contrast(a, b) -> float:  # type: ignore[no-untyped-def]
    def lum(c) -> float:  # type: ignore[no-untyped-def]
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_modes_and_directions_from_the_selectors(qtbot, pane, http) -> None:  # type: ignore[no-untyped-def]
    show(qtbot, pane, http, find_tcp_stream(http, 0))
    view = pane.view
    pane.mode.setCurrentIndex(pane.mode.findData("hex"))
    assert view.mode == "hex"
    assert view.rendered_line(0)[1].text.startswith("00000000  47 45 54 20")
    pane.mode.setCurrentIndex(pane.mode.findData("raw"))
    assert view.rendered_line(0)[1].text.startswith("474554202f")
    pane.direction.setCurrentIndex(pane.direction.findData("b-to-a"))
    layout = view.stream_layout
    assert layout is not None and layout.direction == "b-to-a"
    assert {layout.line(i).direction for i in range(layout.line_count)} == {1}
    assert view.rendered_line(0)[1].text.startswith("485454502f312e31")


def test_mode_change_keeps_the_line_at_the_top(qtbot, pane, http) -> None:  # type: ignore[no-untyped-def]
    show(qtbot, pane, http, find_tcp_stream(http, 0))
    view = pane.view
    view.scroll_to_line(40, top=True)
    position = view.rendered_line(40)[0].position
    pane.mode.setCurrentIndex(pane.mode.findData("hex"))
    line = view.rendered_line(view.top_line())[0]
    assert line.position <= position < line.position + line.end - line.start


def test_clicking_a_byte_selects_its_packet(qtbot, pane, http) -> None:  # type: ignore[no-untyped-def]
    doc = show(qtbot, pane, http, find_tcp_stream(http, 0))
    c = doc.stream.chunks
    view = pane.view
    layout = view.stream_layout
    assert layout is not None
    for k in range(len(c)):  # a byte inside each chunk (the last chunk's last byte too)
        offset = int(c.offset[k] + c.length[k] - 1)
        position = layout.position_of(int(c.direction[k]), offset)
        assert position is not None
        point = view.point_of(position)
        assert point is not None
        with qtbot.waitSignal(pane.packetSelected) as blocker:
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
        assert blocker.args == [int(c.packet[k])]
        assert view.selection is None


def test_drag_selects_and_ctrl_c_copies(qtbot, pane, http) -> None:  # type: ignore[no-untyped-def]
    show(qtbot, pane, http, find_tcp_stream(http, 0))
    view = pane.view
    start, end = view.point_of(0), view.point_of(2)
    assert start is not None and end is not None
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), pos=QPoint(end.x(), end.y()))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert view.selection == (0, 3)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "GET"
    assert pane.note.text() == "Copied 3 bytes."
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    layout = view.stream_layout
    assert layout is not None and view.selection == (0, layout.byte_count)


def test_find_bar(qtbot, pane, http) -> None:  # type: ignore[no-untyped-def]
    show(qtbot, pane, http, find_tcp_stream(http, 0))
    view = pane.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert pane.find_bar.isVisible()
    qtbot.keyClicks(pane.find_bar.edit, "connection: keep-alive")
    qtbot.keyClick(pane.find_bar.edit, Qt.Key.Key_Return)
    layout = view.stream_layout
    assert layout is not None and view.selection is not None
    first = view.selection
    assert layout.locate(first[0]) == (0, doc_find(pane, 0, b"Connection: Keep-Alive"))
    qtbot.keyClick(pane.find_bar.edit, Qt.Key.Key_Return)
    assert layout.locate(view.selection[0]) == (1, doc_find(pane, 1, b"Connection: Keep-Alive"))
    qtbot.keyClick(pane.find_bar.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert view.selection == first
    assert pane.find_bar.status.text() == ""
    pane.find_bar.case.setChecked(True)
    pane.find_bar.request(True)
    assert pane.find_bar.status.text() == "Not found"
    assert not pane.find("connection: keep-alive", match_case=True)
    assert pane.find_bar.status.text() == "Not found"
    pane.mode.setCurrentIndex(pane.mode.findData("hex"))
    assert pane.find("48 54 54 50 2f")  # hex bytes of "HTTP/" in a hex mode
    assert layout is not view.stream_layout
    qtbot.keyClick(pane.find_bar.edit, Qt.Key.Key_Escape)
    assert not pane.find_bar.isVisible()


def doc_find(pane: StreamPane, direction: int, text: bytes) -> int:
    assert pane.document is not None
    return pane.document.stream.data(direction).find(text)


def test_gap_lines(qtbot, pane) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(GAPS, WIRESHARK) as result:
        doc = show(qtbot, pane, result, find_tcp_stream(result, 0))
        view = pane.view
        layout = view.stream_layout
        assert layout is not None
        gap_lines = [i for i in range(layout.line_count) if layout.line(i).is_gap]
        assert len(gap_lines) == 9
        first = gap_lines[0]
        assert view.line_style(first) == GAP_STYLE
        assert view.rendered_line(first)[1].text == "[8 bytes missing in capture]"
        assert pane.summary.text() == ("39 client packets, 0 server packets, 0 turns, "
                                       "4,376 bytes missing")
        view.scroll_to_line(first, top=True)
        with qtbot.waitSignal(pane.packetSelected) as blocker:
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                             pos=QPoint(200, view.line_height // 2))
        assert blocker.args == [doc.stream.gaps[0].packet]
        pane.shutdown()


def test_udp_datagrams(qtbot, pane) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(WIKIPEDIA, WIRESHARK) as result:
        row = next(i for i, c in enumerate(result) if c.protocol == "udp"
                   and c.packets_ba > 0)
        doc = show(qtbot, pane, result, row)
        packets = result.conversations.packets_of(row)
        assert doc.stream.chunks.packet.tolist() == [int(p) for p in packets
                                                     if result.payload_bytes(int(p))]
        layout = pane.view.stream_layout
        assert layout is not None
        lines = [layout.line(i) for i in range(layout.line_count)]
        assert b"".join(layout.line_bytes(ln) for ln in lines if ln.direction == 0) == \
            doc.stream.data(0)
        assert "client packet" in pane.summary.text()
        pane.shutdown()


def test_empty_states(qtbot, pane) -> None:  # type: ignore[no-untyped-def]
    assert pane.view.empty_text == EMPTY_NOTHING_SELECTED
    assert not pane.export_button.isEnabled()
    with extract_flows_from_file(PINGS, WIRESHARK) as result:
        with qtbot.waitSignal(pane.streamShown) as blocker:
            pane.show_conversation(result, 0)
        assert blocker.args == [None]
        assert pane.view.empty_text == ("Streams are shown for TCP and UDP conversations; "
                                        "this one is ICMP.")
        assert not pane.export_button.isEnabled() and not pane.loading
        pane.grab()  # paints the sentence
    result = tcp_result([])
    show(qtbot, pane, result, 0)
    assert pane.view.empty_text == stream_pane.EMPTY_NO_PAYLOAD
    pane.clear()
    assert pane.document is None and pane.view.empty_text == EMPTY_NOTHING_SELECTED


def test_a_long_conversation_shows_a_preview_first(qtbot, pane, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_pane, "PREVIEW_PACKETS", 3)
    body = b"".join(b"line %05d of a long response\r\n" % i for i in range(2000))
    result = tcp_result([(0, b"GET / HTTP/1.1\r\n\r\n"), (1, body)], segment=1000)
    previews: list[StreamDocument] = []
    pane.previewShown.connect(previews.append)
    doc = show(qtbot, pane, result, 0)
    assert len(previews) == 1 and not previews[0].complete and doc.complete
    assert len(previews[0].stream.chunks) < len(doc.stream.chunks)
    assert doc.stream.data(1) == body
    assert pane.summary.text().startswith("1 client packet, 62 server packets, 1 turn")


def test_preview_keeps_the_reader_where_they_are(qtbot, pane, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_pane, "PREVIEW_PACKETS", 8)
    body = b"".join(b"line %05d\r\n" % i for i in range(3000))
    result = tcp_result([(1, body)], segment=500)
    view = pane.view

    def scroll(_doc: StreamDocument) -> None:
        view.scroll_to_line(20, top=True)
        view.select(5, 9, scroll=False)

    pane.previewShown.connect(scroll)
    show(qtbot, pane, result, 0)
    assert view.top_line() == 20 and view.selection == (5, 9)


def test_switching_fast_shows_the_last_choice_only(qtbot, pane) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(WIKIPEDIA, WIRESHARK) as result:
        tcp_rows = [i for i, c in enumerate(result) if c.protocol == "tcp"][:6]
        for row in tcp_rows[:-1]:
            pane.show_conversation(result, row)
        doc = show(qtbot, pane, result, tcp_rows[-1])
        assert doc.stream.conversation == tcp_rows[-1] == pane.conversation
        qtbot.waitUntil(lambda: not pane.runner.active())
        pane.shutdown()


def test_engine_errors_are_shown_as_the_engines_sentence(qtbot, pane, http, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*_args: object, **_kwargs: object) -> None:
        raise FlowError("The capture file changed while it was read.")

    monkeypatch.setattr(stream_pane, "conversation_stream", broken)
    with qtbot.waitSignal(pane.streamFailed) as blocker:
        pane.show_conversation(http, find_tcp_stream(http, 0))
    assert blocker.args == ["The capture file changed while it was read."]
    assert pane.view.empty_text == "The capture file changed while it was read."
    qtbot.waitUntil(lambda: not pane.runner.active())


@pytest.mark.parametrize("mode", ["text", "hex", "raw"])
def test_paints_every_mode_with_selection_and_match(qtbot, pane, http, mode: str) -> None:  # type: ignore[no-untyped-def]
    show(qtbot, pane, http, find_tcp_stream(http, 0))
    pane.mode.setCurrentIndex(pane.mode.findData(mode))
    pane.view.select(3, 200)
    pane.find("OK")
    image = pane.view.viewport().grab().toImage()
    assert not image.isNull()
    # the first line's background is the client colour, past the gutter
    assert image.pixelColor(pane.view.viewport().width() - 30, 2) == STREAM_STYLES[0].background

