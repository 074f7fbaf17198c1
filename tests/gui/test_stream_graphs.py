"""The Timeline pane's TCP stream graphs (tcptrace, throughput, round-trip time, window scaling):
the selector and direction switch, what each graph draws (from item data, against the engine's
StreamGraphData), the marks, hover and click, the worker asked once per direction, and the
thinning that keeps a big connection cheap. No pixels, no sleeps."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine.tcp_graphs import stream_graph_data
from gui.panes.timeline import pane as pane_module
from gui.panes.timeline import stream_graphs as sg
from gui.panes.timeline.pane import TimelinePane
from gui.panes.timeline.stream_graphs import GraphKind, Points, thin_points
from tests.conftest import CAPTURES

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")

FAST = "zeek-tcp-retransmit-fast009.pcap"  # server → client: fast retransmissions, SACK blocks
SCENARIOS = CAPTURES.parent / "tcp_expert" / "captures"


@pytest.fixture
def pane(qtbot) -> TimelinePane:  # type: ignore[no-untyped-def]
    p = TimelinePane()
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    qtbot.waitExposed(p)
    return p


def show(qtbot, pane: TimelinePane, result, conv: int = 0) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(pane.ready, timeout=20_000):
        pane.show_conversation(result, conv)


def choose(qtbot, pane: TimelinePane, kind: GraphKind) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(pane.graphReady, timeout=20_000):
        pane.graph.setCurrentIndex(kind)


def curve(pane: TimelinePane, name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = pane.stream.named[name].getOriginalDataset()  # type: ignore[attr-defined]
    return (np.zeros(0), np.zeros(0)) if x is None else (x, y)


def test_tcptrace_draws_segments_acks_window_and_sack(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(FAST)
    show(qtbot, pane, result)
    assert pane.direction.currentIndex() == 2  # the server sent the data
    choose(qtbot, pane, GraphKind.TCPTRACE)
    assert pane.graphs.currentWidget() is pane.stream.widget
    assert not pane.direction.model().item(0).isEnabled()  # one direction at a time
    d = stream_graph_data(result, 0, 1)
    segments = pane.stream.named["Server segments"]
    retransmitted = pane.stream.named["Retransmitted / out of order"]
    assert segments.t.size + retransmitted.t.size == d.seg_t.size
    assert retransmitted.t.size == int(d.retransmitted.sum()) == 3
    assert sorted(retransmitted.low.tolist()) == sorted(d.seg_start[d.retransmitted].tolist())
    sack = pane.stream.named["SACK blocks"]
    assert sack.t.size == d.sack_t.size == 8
    assert np.array_equal(np.sort(sack.high), np.sort(d.sack_right))
    _, ack = curve(pane, "ACK line")
    assert ack.max() == d.ack.max() and ack.min() == d.ack.min()
    _, window = curve(pane, "Receive window (ACK + window)")
    assert window.max() == (d.ack + d.window).max()
    legend = pane.graph_legend.text()
    assert "ACK line" in legend and "SACK blocks" in legend and "Zero window" not in legend
    # I-bars: caps once zoomed in enough
    pane.state_plot.setXRange(0.2, 0.21, padding=0)
    segments.refresh()
    cx, _ = segments.caps.getOriginalDataset()
    assert cx is not None and cx.size == 4 * segments.item.getOriginalDataset()[0].size // 2


def test_throughput_rtt_and_window_graphs(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(FAST)
    show(qtbot, pane, result)
    d = stream_graph_data(result, 0, 1)
    choose(qtbot, pane, GraphKind.THROUGHPUT)
    _, goodput = curve(pane, f"Server goodput ({d.average_s:g} s average)")
    assert np.allclose(np.sort(goodput), np.sort(d.goodput * 8))
    assert pane.stream.plot.getAxis("right").isVisible()
    assert pane.stream.right.viewRange()[1][0] == 0  # segment lengths from zero
    assert pane.stream.named["Segment length (right axis)"].x.size == d.seg_t.size

    choose(qtbot, pane, GraphKind.RTT)
    assert pane.rtt_axis.isVisible()
    points = pane.stream.named["Round-trip time of server segments"]
    assert np.array_equal(points.y, d.rtt) and np.array_equal(points.x, d.rtt_t)
    assert "Round-trip time" in pane.stream.plot.getAxis("left").labelString()
    with qtbot.waitSignal(pane.graphReady, timeout=20_000):
        pane.rtt_axis.setCurrentIndex(1)  # against sequence number: no longer tied to time
    points = pane.stream.named["Round-trip time of server segments"]
    assert np.array_equal(points.x, d.rtt_seq) and not pane.stream.x_is_time
    assert pane.stream.plot.getViewBox().linkedView(0) is None
    assert "Sequence number" in pane.stream.plot.getAxis("bottom").labelString()

    choose(qtbot, pane, GraphKind.WINDOW)
    assert not pane.rtt_axis.isVisible()
    assert pane.stream.plot.getViewBox().linkedView(0) is pane.state_plot.getViewBox()
    _, window = curve(pane, "Receive window of the other side")
    assert set(window.tolist()) == set(d.window.tolist())
    flight = pane.stream.named["Bytes in flight (server)"]
    assert np.array_equal(flight.y, d.flight, equal_nan=True)
    marks = pane.stream.named["Retransmission / out of order"]
    assert marks.x.size == 3


def test_marks_for_zero_windows_and_lost_segments(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(SCENARIOS / "tcpx-zero-window.pcap")
    show(qtbot, pane, result)
    pane.direction.setCurrentIndex(1)
    choose(qtbot, pane, GraphKind.WINDOW)
    zero = pane.stream.named["Zero window"]
    d = stream_graph_data(result, 0, 0)
    assert zero.x.size == int(d.zero_window.sum()) >= 1 and np.all(zero.y == 0)
    assert "Zero window" in pane.graph_legend.text()
    result = open_result(SCENARIOS / "tcpx-spurious.pcap")
    show(qtbot, pane, result)
    choose(qtbot, pane, GraphKind.STEVENS)
    choose(qtbot, pane, GraphKind.TCPTRACE)
    lost = pane.stream.named["Previous segment not captured"]
    assert lost.x.size == 1


def test_direction_switch_and_back_to_stevens(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(FAST)
    show(qtbot, pane, result)
    pane.direction.setCurrentIndex(0)  # Stevens: both directions
    choose(qtbot, pane, GraphKind.TCPTRACE)
    assert pane.direction.currentIndex() == 2  # the busier one
    with qtbot.waitSignal(pane.graphReady, timeout=20_000):
        pane.direction.setCurrentIndex(1)
    assert "Client segments" in pane.stream.named
    assert pane.stream.data is not None and pane.stream.data.lane == 0
    pane.graph.setCurrentIndex(GraphKind.STEVENS)
    assert pane.graphs.currentWidget() is pane.seq.widget
    assert pane.direction.model().item(0).isEnabled() and pane.graph_legend.text() == ""


def test_the_worker_is_asked_once_per_direction(qtbot, pane, open_result, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[int, int]] = []
    real = pane_module.stream_graph_data

    def counted(result, conversation, lane):  # type: ignore[no-untyped-def]
        calls.append((conversation, lane))
        return real(result, conversation, lane)

    monkeypatch.setattr(pane_module, "stream_graph_data", counted)
    result = open_result(FAST)
    show(qtbot, pane, result)
    for kind in (GraphKind.TCPTRACE, GraphKind.THROUGHPUT, GraphKind.RTT, GraphKind.WINDOW):
        if kind == GraphKind.TCPTRACE:
            choose(qtbot, pane, kind)
        else:
            pane.graph.setCurrentIndex(kind)  # from the cache: drawn at once
    assert calls == [(0, 1)]


def test_hover_and_click_a_point(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(FAST)
    show(qtbot, pane, result)
    choose(qtbot, pane, GraphKind.RTT)
    d = pane.stream.data
    assert d is not None
    k = int(np.argmax(d.rtt))
    vb = pane.stream.view
    vb.setRange(xRange=(d.rtt_t[k] - 0.05, d.rtt_t[k] + 0.05),
                yRange=(0, d.rtt[k] * 1.5), padding=0)
    scene = vb.mapViewToScene(QPointF(float(d.rtt_t[k]), float(d.rtt[k])))
    point = pane.stream.widget.mapFromScene(scene)
    qtbot.mouseMove(pane.stream.widget.viewport(), point)
    segment = int(d.rtt_segment[k])
    qtbot.waitUntil(lambda: pane.info.text().startswith(f"Packet {segment + 1} "), timeout=3000)
    assert f"acknowledged by packet {int(d.rtt_packet[k]) + 1}" in pane.info.text()
    with qtbot.waitSignal(pane.packetSelected, timeout=3000) as blocker:
        qtbot.mouseClick(pane.stream.widget.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == [segment]
    assert pane.cursors[2].isVisible()


def test_thinning_keeps_one_point_per_cell_and_each_columns_extremes() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, 200_000)
    y = rng.normal(0, 1, 200_000)
    rows = thin_points(x, y, (0, 10), (-3, 3), 500, 200)
    assert rows.size <= 500 * 203 + 1000
    assert y[rows].max() == y.max() and y[rows].min() == y.min()
    few = thin_points(x[:100], y[:100], (0, 10), (-3, 3), 500, 200)
    assert few.size == 100
    inside = thin_points(x, y, (2, 3), (-3, 3), 500, 200)
    assert np.all((x[inside] >= 2) & (x[inside] <= 3))


def _thin_by_sorting(x: np.ndarray, y: np.ndarray, x_range: tuple[float, float],
                     y_range: tuple[float, float], width: int, height: int) -> np.ndarray:
    """The rule :func:`thin_points` follows, written the plain way (sorts): the first point of
    each cell, and each column's lowest (first of equals) and highest (last of equals)."""
    (x0, x1), (y0, y1) = x_range, y_range
    rows = np.flatnonzero((x >= x0) & (x <= x1) & np.isfinite(y))
    if rows.size <= sg.POINT_LIMIT:
        return rows
    w, h = max(width, 50), max(height, 50)
    fx = (x[rows] - x0) / max(x1 - x0, 1e-300) * w
    fy = np.clip((y[rows] - y0) / max(y1 - y0, 1e-300) * h, -sg.CELL, h + sg.CELL)
    cell = sg.CELL
    while True:
        cx = np.floor(fx / cell).astype(np.int64)
        cy = np.floor(fy / cell).astype(np.int64) + 2
        _, first = np.unique(cx * (int(h / cell) + 5) + cy, return_index=True)
        if first.size <= sg.MAX_POINTS or cell >= 32:
            break
        cell *= 2
    order = np.lexsort((y[rows], cx))
    starts = np.flatnonzero(np.r_[True, cx[order][1:] != cx[order][:-1]])
    ends = np.r_[starts[1:], order.size] - 1
    return rows[np.unique(np.concatenate((first, order[starts], order[ends])))]


def test_thinning_equals_the_plain_rule_on_random_points() -> None:
    rng = np.random.default_rng(11)
    for case in range(120):
        n = int(rng.integers(1_000, 40_000))
        x = rng.uniform(0, 10, n)
        if case % 2:
            x.sort()
        y = rng.normal(0, 1, n)
        if case % 3 == 0:
            y = np.round(y, 1)  # many equal values in a column
        if case % 5 == 0:
            y[rng.integers(0, n, 40)] = np.nan
        args = (x, y, (float(rng.uniform(0, 2)), float(rng.uniform(5, 10))), (-3.0, 3.0),
                int(rng.integers(100, 1500)), int(rng.integers(100, 800)))
        np.testing.assert_array_equal(thin_points(*args), _thin_by_sorting(*args),
                                      err_msg=str(case))


def test_a_big_connection_draws_a_bounded_number_of_items(qtbot, pane) -> None:  # type: ignore[no-untyped-def]
    import pyqtgraph as pg

    view = pane.stream.view
    points = Points(view, "test", symbol="o", size=4, pen=None, brush=pg.mkBrush("b"))
    n = 200_000
    points.set_data(np.linspace(0, 100, n), np.random.default_rng(1).normal(0.05, 0.01, n))
    view.setRange(xRange=(0, 100), yRange=(0, 0.1), padding=0)
    points.refresh()
    assert points.drawn() < n / 4
    points.detach()
    view.removeItem(points.item)
