"""The TCP timeline pane: state bars from the engine's timeline, packet marks, the sequence
graph, hover and click, empty states. Asserts on item data and view ranges, not pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine import FlowResult
from engine.packet_notes import Mark, conversation_packets
from engine.packets import Kind
from engine.tcp import TcpState, tcp_timeline
from engine.tcp.expert_flags import OUT_OF_ORDER, RETRANSMISSION_KINDS
from gui.panes.timeline.data import (
    CLIENT_ROW,
    PACKET_ROW,
    SERVER_ROW,
    column_strokes,
    end_padding,
    thin_marks,
)
from gui.panes.timeline.pane import EMPTY_NONE, TimelinePane
from gui.style import STATE_COLORS

#: the offscreen platform says so whenever a shown widget's size hints change
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")




@pytest.fixture
def pane(qtbot) -> TimelinePane:  # type: ignore[no-untyped-def]
    p = TimelinePane()
    qtbot.addWidget(p)
    p.resize(1200, 640)
    p.show()
    qtbot.waitExposed(p)
    return p


def show(qtbot, pane: TimelinePane, result: FlowResult, conv: int) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(pane.ready, timeout=20_000):
        pane.show_conversation(result, conv)


def bars_by_row(pane: TimelinePane) -> dict[float, list[tuple[float, float, TcpState]]]:
    """(left, right, state) of every bar drawn, per row, left to right (from item data)."""
    rows: dict[float, list[tuple[float, float, TcpState]]] = {}
    for state, item in pane.bar_items.items.items():
        assert item.opts["brush"] == STATE_COLORS[state]  # one item per state colour
        for x0, w, y in zip(item.opts["x0"], item.opts["width"], item.opts["y"], strict=True):
            rows.setdefault(float(y), []).append((float(x0), float(x0 + w), state))
    return {y: sorted(v, key=lambda b: (b[0], b[1])) for y, v in rows.items()}


@pytest.mark.parametrize("name", ["zeek-tcp-syn-then-stuff-then-rst.pcap",
                                  "zeek-tcp-single-rst.pcap", "zeek-http-get.pcap",
                                  "tcpdump-tcp-rst-data-snaplen-trunc.pcap"])
def test_bars_follow_the_engines_timeline_and_end_in_the_tables_states(
        qtbot, pane, open_result, name) -> None:  # type: ignore[no-untyped-def]
    result = open_result(name)
    table = result.conversations
    for conv in np.flatnonzero(table.kind == Kind.TCP).tolist():
        show(qtbot, pane, result, conv)
        timeline = tcp_timeline(result, conv)
        rows = bars_by_row(pane)
        start = int(conversation_packets(result, conv).ts_ns.min())
        for endpoint, row in (("client", CLIENT_ROW), ("server", SERVER_ROW)):
            final = timeline.final(endpoint)
            assert final.name == table.extra[f"{endpoint}_state"][conv]
            assert pane.bars is not None and pane.bars.final[endpoint] == final
            drawn = rows[row]
            assert drawn[-1][2] == final  # the rightmost bar is the final state
            # every state change of the engine starts a bar (instant ones excepted)
            changes = [c for c in timeline.changes if c.endpoint == endpoint]
            lefts = [(round(b[0], 9), b[2]) for b in drawn]
            for k, c in enumerate(changes):
                if k + 1 < len(changes) and changes[k + 1].ts_ns == c.ts_ns:
                    continue
                assert (round((c.ts_ns - start) / 1e9, 9), c.state) in lefts
            # the final state is visible in the default view
            (x_min, x_max), _ = pane.state_plot.getViewBox().viewRange()
            assert x_min <= drawn[0][0] and drawn[-1][1] <= x_max + 1e-9
        assert f"status <b>{table.extra['status'][conv]}</b>" in pane.header.text()


def test_reset_connection_ends_closed_on_both_rows(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-tcp-syn-then-stuff-then-rst.pcap")
    show(qtbot, pane, result, 0)
    rows = bars_by_row(pane)
    assert rows[CLIENT_ROW][-1][2] == TcpState.CLOSED
    assert rows[SERVER_ROW][-1][2] == TcpState.CLOSED
    assert [b[2] for b in rows[CLIENT_ROW]] == [TcpState.SYN_SENT, TcpState.FIN_WAIT_1,
                                                 TcpState.CLOSED]
    assert "RST" in pane.legend.text() and "FIN_WAIT_1" in pane.legend.text()


def test_marks_are_the_packets_coloured_by_kind(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-http-get.pcap")
    show(qtbot, pane, result, 0)
    p = conversation_packets(result, 0)
    times = (p.ts_ns - p.ts_ns.min()) / 1e9
    for mark in Mark:
        expected = np.sort(times[p.mark == mark])
        assert np.allclose(np.sort(pane.marks.drawn(mark)), expected), mark
        x, y = pane.marks.items[mark].getData()
        if x is None or not x.size:
            continue
        # ticks go up from the centre line for the client's packets, down for the server's
        sent_by_client = (p.direction == p.client_lane)[p.mark == mark]
        assert np.array_equal(np.sort(y[1::2] > PACKET_ROW), np.sort(sent_by_client))
    assert int((p.mark == Mark.SYN).sum()) == 1 and int((p.mark == Mark.FIN).sum()) == 2


def test_sequence_graph_shows_the_data_direction_with_its_ack_line(
        qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-http-get.pcap")
    show(qtbot, pane, result, 0)
    assert pane.direction.currentText() == "Server → client"  # the server sent the data
    segments = pane.seq.segments["server"].item
    x, y = segments.getData()
    # SYN-ACK at 0, 5007 payload bytes from 1, then the FIN: the highest end is 5009
    assert y.min() == 0 and y.max() == 5009
    # one vertical stroke per segment: (start, end) at the segment's time
    p = conversation_packets(result, 0)
    server = (p.direction != p.client_lane) & (p.seg_len > 0)
    times = (p.ts_ns - p.ts_ns.min()) / 1e9
    assert np.allclose(x[0::2], times[server]) and np.array_equal(x[0::2], x[1::2])
    assert np.array_equal(y[0::2], p.rel_seq[server])
    assert np.array_equal(y[1::2], (p.rel_seq + p.seg_len)[server])
    assert segments.opts["connect"] == "pairs"
    ack_line = pane.seq.acks["server"]
    _, acks = ack_line.getData()
    assert acks.max() == 5009  # the client acknowledged everything
    assert ack_line.opts["clipToView"] and ack_line.opts["autoDownsample"]
    assert ack_line.opts["downsampleMethod"] == "peak"
    pane.direction.setCurrentIndex(0)  # both directions
    assert set(pane.seq.segments) == {"client", "server"}
    _, client_y = pane.seq.segments["client"].item.getData()
    assert client_y.max() == 138  # SYN, 136 bytes of request, FIN
    low, high = pane.seq.data_range() or (0, 0)
    assert low == 0 and high == 5009


def test_retransmissions_are_marked_in_the_sequence_graph(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-tcp-reassembly.pcap")
    show(qtbot, pane, result, 0)
    p = conversation_packets(result, 0)
    odd = (p.notes & (RETRANSMISSION_KINDS | OUT_OF_ORDER)) != 0
    side = "client" if pane.direction.currentIndex() == 1 else "server"
    lane = p.client_lane if side == "client" else 1 - p.client_lane
    expected = odd & (p.direction == lane) & (p.seg_len > 0)
    points = pane.seq.odd[side].getData()
    assert points[0].size == int(expected.sum()) > 0
    assert np.allclose(np.sort(points[1]), np.sort(p.rel_seq[expected]))


def _viewport_point(widget, x: float, y: float) -> object:  # type: ignore[no-untyped-def]
    vb = widget.getPlotItem().getViewBox()
    scene = vb.mapViewToScene(QPointF(x, y))
    return widget.mapFromScene(scene)


def test_hover_describes_a_packet_and_click_selects_it(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-http-get.pcap")
    show(qtbot, pane, result, 0)
    p = conversation_packets(result, 0)
    row = 3  # packet 4: the HTTP request
    t = float((p.ts_ns[row] - p.ts_ns.min()) / 1e9)
    pane.state_plot.setXRange(t - 0.002, t + 0.002, padding=0)  # room around its mark
    point = _viewport_point(pane.state_widget, t, PACKET_ROW + 0.2)
    qtbot.mouseMove(pane.state_widget.viewport(), point)
    qtbot.waitUntil(lambda: pane.info.text().startswith("Packet 4 "), timeout=3000)
    assert "[PSH, ACK]" in pane.info.text() and "136 bytes of payload" in pane.info.text()
    assert "seq 1 ack 1" in pane.info.text()
    with qtbot.waitSignal(pane.packetSelected, timeout=3000) as blocker:
        qtbot.mouseClick(pane.state_widget.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == [int(p.index[row])]
    assert pane.cursors[0].isVisible() and pane.cursors[0].value() == pytest.approx(t)
    # hovering a state bar names the state and its span
    point = _viewport_point(pane.state_widget, t, CLIENT_ROW)
    qtbot.mouseMove(pane.state_widget.viewport(), point)
    qtbot.waitUntil(lambda: pane.info.text().startswith("Client: ESTABLISHED"), timeout=3000)


def test_zoom_pan_and_reset_view(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-http-get.pcap")
    show(qtbot, pane, result, 0)
    p = conversation_packets(result, 0)
    duration = float((p.ts_ns.max() - p.ts_ns.min()) / 1e9)
    pad = end_padding(duration)
    expected = (-pad, duration + pad)
    (x_min, x_max), _ = pane.state_plot.getViewBox().viewRange()
    assert (x_min, x_max) == pytest.approx(expected)
    pane.seq.plot.setXRange(0.10, 0.11, padding=0)  # zoom in the sequence graph …
    (x_min, x_max), _ = pane.state_plot.getViewBox().viewRange()
    assert (x_min, x_max) == pytest.approx((0.10, 0.11))  # … the state chart follows
    qtbot.mouseClick(pane.reset_button, Qt.MouseButton.LeftButton)
    (x_min, x_max), (y_min, y_max) = pane.state_plot.getViewBox().viewRange()
    assert (x_min, x_max) == pytest.approx(expected)
    assert y_min < SERVER_ROW and y_max > CLIENT_ROW
    assert pane.seq.plot.getViewBox().viewRange()[0] == pytest.approx(list(expected))


def test_non_tcp_and_no_selection_show_a_sentence(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-dns53.pcap")
    udp = int(np.flatnonzero(result.conversations.kind == Kind.UDP)[0])
    show(qtbot, pane, result, udp)
    assert pane.stack.currentIndex() == 0
    assert "TCP conversations" in pane.empty.text() and "UDP" in pane.empty.text()
    show(qtbot, pane, None, -1)
    assert pane.empty.text() == EMPTY_NONE
    assert all(not item.getData()[0].size for item in pane.marks.items.values()
               if item.getData()[0] is not None)


def test_a_quick_second_selection_wins(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result("zeek-wikipedia-many-conns.pcap")
    tcp = np.flatnonzero(result.conversations.kind == Kind.TCP)
    pane.show_conversation(result, int(tcp[0]))
    show(qtbot, pane, result, int(tcp[1]))
    assert pane.timeline is not None and pane.timeline.conversation == int(tcp[1])
    qtbot.wait(50)  # a late answer for the first selection must not replace it
    assert pane.timeline.conversation == int(tcp[1])


def test_thinning_keeps_one_mark_per_pixel_kind_and_side() -> None:
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0, 100, 100_000))
    key = rng.integers(0, 6, x.size)
    rows = thin_marks(x, key, 0.0, 100.0, 1000)
    assert rows.size <= 1000 * 6
    column = (x * 10).astype(np.int64)
    assert np.unique(column[rows] * 6 + key[rows]).size == rows.size  # one per (pixel, key)
    assert np.unique(column * 6 + key).size == rows.size  # and none missing
    zoomed = thin_marks(x, key, 10.0, 10.5, 1000)  # few marks in view: all of them
    assert np.array_equal(x[zoomed], x[(x >= 10.0) & (x < 10.5)])


def test_engine_is_asked_once_per_selection(qtbot, pane, open_result,  # type: ignore[no-untyped-def]
                                            monkeypatch) -> None:
    import gui.panes.timeline.pane as module

    calls: list[int] = []
    real = module.tcp_timeline

    def counting(result: FlowResult, conv: int) -> object:
        calls.append(conv)
        return real(result, conv)
    monkeypatch.setattr(module, "tcp_timeline", counting)
    result = open_result("zeek-http-get.pcap")
    show(qtbot, pane, result, 0)
    assert calls == [0]



def test_strokes_keep_the_lowest_start_and_highest_end_per_pixel_column() -> None:
    rng = np.random.default_rng(2)
    t = np.sort(rng.uniform(0, 10, 50_000))
    low = np.cumsum(rng.integers(0, 1500, t.size)).astype(float)
    high = low + 1448
    x, a, b = column_strokes(t, low, high, 0.0, 10.0, 500)
    assert x.size <= 501
    column = np.floor(t * 50).astype(np.int64)
    for k in (0, 100, 499):
        inside = column == k
        at = np.flatnonzero(np.floor(x * 50).astype(np.int64) == k)
        assert at.size == 1
        assert a[at[0]] == low[inside].min() and b[at[0]] == high[inside].max()
    x, a, b = column_strokes(t, low, high, 5.0, 5.01, 500)  # zoomed in: every segment
    inside = np.flatnonzero((t >= 5.0) & (t < 5.01))
    assert np.array_equal(x[1:-1], t[inside]) and np.array_equal(b[1:-1], high[inside])


def test_a_hundred_thousand_segments_draw_as_one_stroke_per_pixel(qtbot, pane) -> None:  # type: ignore[no-untyped-def]
    from gui.panes.timeline.data import SequenceSeries

    n = 100_000
    t = np.linspace(0, 100, n)
    seq = np.arange(n, dtype=float) * 1448
    series = SequenceSeries(lane=0, seg_t=t, seg_seq=seq, seg_end=seq + 1448,
                            retx_t=np.zeros(0), retx_seq=np.zeros(0), ack_t=t, ack_seq=seq,
                            data_bytes=n * 1448)
    pane.seq.show({"client": series})
    pane.state_plot.setXRange(0, 100, padding=0)
    pane.seq.segments["client"].refresh()
    x, y = pane.seq.segments["client"].item.getOriginalDataset()
    pixels = max(pane.seq.plot.getViewBox().width(), 200)  # (the plot may not be laid out)
    assert x.size <= 2 * (pixels + 2) and y.max() == seq[-1] + 1448 and y.min() == 0
    pane.state_plot.setXRange(50, 50.05, padding=0)  # zoom in: the real segments
    pane.seq.segments["client"].refresh()
    x, _y = pane.seq.segments["client"].item.getOriginalDataset()
    assert 2 * 50 <= x.size <= 2 * 54
