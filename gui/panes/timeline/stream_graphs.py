"""Wireshark's TCP stream graphs besides Stevens, for one direction of one connection: tcptrace,
throughput, round-trip time and window scaling. The pane draws what the engine computed on a
worker (:func:`engine.tcp_graphs.stream_graph_data`); nothing here analyses packets.

- **tcptrace**: each segment an I-bar from its first to its last sequence number (retransmitted
  ones in orange), the other side's ACK line, its receive-window line (ACK + window) and its SACK
  blocks as bars.
- **Throughput**: goodput (new bytes) and throughput (all bytes) in bits per second over a
  moving window, and each segment's length on a second axis (right).
- **Round-trip time**: each segment's time to the first ACK (or SACK block) that covers it, as
  Wireshark's RTT graph measures it, against time or sequence number.
- **Window scaling**: the receive window the other side advertises (scaled as Wireshark scales
  it) and the bytes in flight after each segment.

Every graph marks retransmissions (orange ×), lost segments (previous segment not captured:
purple ▲) and zero windows (black ■). Big connections stay fast: lines are clipped to the view
and peak-downsampled, bars are re-thinned to one per pixel column and points to one per pixel
cell whenever the view moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from engine.tcp_graphs import StreamGraphData
from gui import units
from gui.panes.timeline.data import column_strokes
from gui.plots import axis_font, dense_curve, make_plot
from gui.style import (
    ACK_LINE_COLOR,
    LOST_SEGMENT_COLOR,
    RECEIVE_WINDOW_COLOR,
    RETRANSMISSION_COLOR,
    SACK_COLOR,
    TEXT_COLOR,
    ZERO_WINDOW_COLOR,
    pale,
)


class GraphKind(IntEnum):
    STEVENS = 0
    TCPTRACE = 1
    THROUGHPUT = 2
    RTT = 3
    WINDOW = 4


GRAPH_TITLES = {GraphKind.STEVENS: "Stevens", GraphKind.TCPTRACE: "tcptrace",
                GraphKind.THROUGHPUT: "Throughput", GraphKind.RTT: "Round-trip time",
                GraphKind.WINDOW: "Window scaling"}
GRAPH_TIPS = {
    GraphKind.STEVENS: "Sequence number of each segment over time, with the ACK line",
    GraphKind.TCPTRACE: "Segments as I-bars, the ACK line, the receive window and SACK blocks",
    GraphKind.THROUGHPUT: "Goodput and throughput over a moving window, and segment lengths",
    GraphKind.RTT: "Round-trip time of each segment: to the first ACK that covers it",
    GraphKind.WINDOW: "Receive window advertised by the other side against bytes in flight",
}
#: points drawn as they are up to this many in view; beyond, one per cell of CELL pixels, the
#: cells growing until at most MAX_POINTS remain (pyqtgraph's scatter costs some microseconds a
#: point to set and to paint)
POINT_LIMIT = 1500
CELL = 3
MAX_POINTS = 2500
#: I-bars get their caps when at most this many pixels apart on average
CAP_SPACING = 6
CAP_PIXELS = 3
PICK_PIXELS = 8
TIME_LABEL = "Time since the conversation began"
SEQUENCE_LABEL = "Sequence number"  # relative, as Wireshark shows it (the axis is short)
#: how the legend (a line of rich text above the graph: it never hides data) draws each kind
LINE, DASHED, BAR, POINT = "━━", "╍╍", "┃", "●"


def thin_points(x: np.ndarray, y: np.ndarray, x_range: tuple[float, float],
                y_range: tuple[float, float], width: int, height: int) -> np.ndarray:
    """Rows of the points (``x`` need not be sorted) worth drawing in the view: those with x in
    ``x_range``, all of them when few, else the first point of each cell of a few pixels plus
    each column's lowest and highest (so the y auto-range still sees the true extent). Cells
    and columns are marked in grids (no sort: a graph of 200k points thins in a few ms)."""
    (x0, x1), (y0, y1) = x_range, y_range
    rows = np.flatnonzero((x >= x0) & (x <= x1) & np.isfinite(y))
    if rows.size <= POINT_LIMIT:
        return rows
    w, h = max(width, 50), max(height, 50)
    fx = (x[rows] - x0) / max(x1 - x0, 1e-300) * w
    fy = np.clip((y[rows] - y0) / max(y1 - y0, 1e-300) * h, -CELL, h + CELL)
    at = np.arange(rows.size)
    cell = CELL
    while True:
        cx = np.floor(fx / cell).astype(np.int64)
        cy = np.floor(fy / cell).astype(np.int64) + 2
        ncx, ncy = int(w / cell) + 2, int(h / cell) + 5
        first = _first_of(cx * ncy + cy, ncx * ncy, at)
        first = first[first >= 0]
        if first.size <= MAX_POINTS or cell >= 32:
            break
        cell *= 2
    ys = y[rows]
    low = np.full(ncx, np.inf)
    high = np.full(ncx, -np.inf)
    np.minimum.at(low, cx, ys)
    np.maximum.at(high, cx, ys)
    # each column's lowest (the first of equals) and highest (the last of equals); the rows
    # that are neither go to an extra column left out
    lowest = _first_of(np.where(ys == low[cx], cx, ncx), ncx + 1, at)[:ncx]
    highest = np.full(ncx + 1, -1, dtype=np.int64)
    highest[np.where(ys == high[cx], cx, ncx)] = at
    highest = highest[:ncx]
    keep = np.unique(np.concatenate((first, lowest[lowest >= 0], highest[highest >= 0])))
    return rows[keep]


def _first_of(keys: np.ndarray, size: int, at: np.ndarray) -> np.ndarray:
    """For every key in ``[0, size)``: the position of its first occurrence (-1: none)."""
    first = np.full(size, -1, dtype=np.int64)
    first[keys[::-1]] = at[::-1]  # of repeated stores the last wins: the first occurrence
    return first


def step_line(t: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A value that holds until the next one (ACK line, window): a staircase, in time order."""
    if t.size < 2:
        return t, value
    order = np.argsort(t, kind="stable")
    t, value = t[order], value[order]
    return np.repeat(t, 2)[1:], np.repeat(value, 2)[:-1]


class _Thinned(QObject):
    """Something re-drawn for the visible range: coalesces a burst of view changes."""

    def __init__(self, view: pg.ViewBox) -> None:
        super().__init__()
        self.view = view
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        view.sigRangeChanged.connect(self._later)
        view.sigResized.connect(self._later)

    def _later(self, *_args: object) -> None:
        self._timer.start()

    def refresh(self) -> None:
        raise NotImplementedError

    def detach(self) -> None:
        self.view.sigRangeChanged.disconnect(self._later)
        self.view.sigResized.disconnect(self._later)
        self._timer.stop()


class Bars(_Thinned):
    """Vertical bars (I-bars: with short caps at both ends when there is room), re-thinned to
    one per pixel column from the lowest start to the highest end."""

    def __init__(self, view: pg.ViewBox, pen: object, name: str, caps: bool = True) -> None:
        super().__init__(view)
        self.item = pg.PlotDataItem(connect="pairs", pen=pen, name=name)
        self.caps = pg.PlotDataItem(connect="pairs", pen=pen) if caps else None
        view.addItem(self.item)
        if self.caps is not None:
            view.addItem(self.caps)
        self.t = self.low = self.high = np.zeros(0)

    def items(self) -> list[pg.GraphicsObject]:
        return [self.item] + ([self.caps] if self.caps is not None else [])

    def set_data(self, t: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        order = np.argsort(t, kind="stable")
        self.t, self.low, self.high = t[order], low[order], high[order]
        self.refresh()

    def refresh(self) -> None:
        (x_min, x_max), _ = self.view.viewRange()
        pixels = max(int(self.view.width()), 200)
        x, low, high = column_strokes(self.t, self.low, self.high, x_min, x_max, pixels)
        ys = np.empty(2 * x.size)
        ys[0::2], ys[1::2] = low, high
        self.item.setData(np.repeat(x, 2), ys)
        if self.caps is None:
            return
        if x.size and x.size * CAP_SPACING <= pixels:
            half = CAP_PIXELS * (x_max - x_min) / pixels
            cx = np.empty(4 * x.size)
            cx[0::2] = np.repeat(x - half, 2)
            cx[1::2] = np.repeat(x + half, 2)
            cy = np.repeat(ys, 2)
            self.caps.setData(cx, cy)
        else:
            self.caps.setData([], [])


class Points(_Thinned):
    """A scatter re-thinned to one point per pixel cell for the visible range."""

    def __init__(self, view: pg.ViewBox, name: str | None, **style: object) -> None:
        super().__init__(view)
        self.item = pg.ScatterPlotItem(name=name, **style)
        view.addItem(self.item)
        self.x = self.y = np.zeros(0)

    def items(self) -> list[pg.GraphicsObject]:
        return [self.item]

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.refresh()

    def refresh(self) -> None:
        x_range, y_range = self.view.viewRange()
        rows = thin_points(self.x, self.y, tuple(x_range), tuple(y_range),
                           int(self.view.width()), int(self.view.height()))
        self.item.setData(x=self.x[rows], y=self.y[rows])

    def drawn(self) -> int:
        return len(self.item.data)


@dataclass
class Pickable:
    """Points the mouse can pick: hovering shows ``describe(i)``, a click selects
    ``packet[i]``."""

    x: np.ndarray
    y: np.ndarray
    packet: np.ndarray
    view: pg.ViewBox
    describe: Callable[[int], str]


class StreamGraph:
    """Owns the plot widget; ``show`` draws one graph of one direction."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.widget = make_plot(parent, x_label=TIME_LABEL, x_units="s")
        self.plot = self.widget.getPlotItem()
        self.view = self.plot.getViewBox()
        self.view.setAutoVisible(y=True)
        self.legend: list[str] = []  # rich-text entries (legend_html)
        # the throughput graph's segment lengths: a second view on the right axis
        self.right = pg.ViewBox()
        self.right.setXLink(self.view)
        self.right.setMouseEnabled(x=False, y=False)
        self.plot.scene().addItem(self.right)
        right_axis = self.plot.getAxis("right")
        right_axis.linkToView(self.right)
        right_axis.setPen(pg.mkPen(TEXT_COLOR))
        right_axis.setTextPen(pg.mkPen(TEXT_COLOR))
        right_axis.setTickFont(axis_font())
        self.plot.hideAxis("right")
        self.view.sigResized.connect(self._fit_right)
        self.kind = GraphKind.TCPTRACE
        self.data: StreamGraphData | None = None
        self.by_sequence = False
        self.items: list[tuple[pg.GraphicsObject, pg.ViewBox]] = []
        self.thinned: list[_Thinned] = []
        self.pickables: list[Pickable] = []
        self.named: dict[str, object] = {}  # legend name → item (tests, screenshots)

    def _fit_right(self) -> None:
        self.right.setGeometry(self.view.sceneBoundingRect())
        self.right.linkedViewChanged(self.view, self.right.XAxis)

    def fit_right(self) -> None:
        """Segment lengths from zero to a little above the longest."""
        d = self.data
        top = float(d.seg_len.max()) if d is not None and d.seg_len.size else 1.0
        self.right.setYRange(0, max(top, 1.0) * 1.08, padding=0)

    @property
    def x_is_time(self) -> bool:
        return not (self.kind == GraphKind.RTT and self.by_sequence)

    # -- building ---------------------------------------------------------------------------
    def clear(self) -> None:
        for thinned in self.thinned:
            thinned.detach()
        for item, view in self.items:
            if item in self.plot.items:
                self.plot.removeItem(item)  # added through the PlotItem (dense curves)
            else:
                view.removeItem(item)
        self.legend.clear()
        self.items.clear()
        self.thinned.clear()
        self.pickables.clear()
        self.named.clear()
        self.data = None
        self.plot.hideAxis("right")

    def _entry(self, glyph: str, color: QColor, name: str) -> None:
        self.legend.append(f'<span style="color:{color.name()}">{glyph}</span>&nbsp;{name}')

    def legend_html(self) -> str:
        return "&nbsp;&nbsp;&nbsp;".join(self.legend)

    def _line(self, x: np.ndarray, y: np.ndarray, color: QColor, name: str, width: float = 1.5,
              dashed: bool = False) -> pg.PlotDataItem:
        pen = pg.mkPen(color, width=width,
                       style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        curve = dense_curve(self.widget, pen)
        curve.setData(x, y, connect="finite")
        self.items.append((curve, self.view))
        if x.size:
            self._entry(DASHED if dashed else LINE, color, name)
        self.named[name] = curve
        return curve

    def _bars(self, t: np.ndarray, low: np.ndarray, high: np.ndarray, color: QColor,
              name: str, width: float = 1.5) -> Bars:
        bars = Bars(self.view, pg.mkPen(color, width=width), name)
        for item in bars.items():
            self.items.append((item, bars.view))
        bars.set_data(t, low, high)
        self.thinned.append(bars)
        if t.size:
            self._entry(BAR, color, name)
        self.named[name] = bars
        return bars

    def _points(self, x: np.ndarray, y: np.ndarray, name: str, color: QColor,
                view: pg.ViewBox | None = None, glyph: str = POINT, **style: object) -> Points:
        points = Points(view if view is not None else self.view, name, **style)
        self.items.append((points.item, points.view))
        points.set_data(x, y)
        self.thinned.append(points)
        if x.size:
            self._entry(glyph, color, name)
        self.named[name] = points
        return points

    def _marks(self, x: np.ndarray, y: np.ndarray, what: str,
               view: pg.ViewBox | None = None) -> None:
        """Retransmissions, lost segments or zero windows: few, drawn over the rest, listed in
        the legend only when there are some."""
        symbol, glyph, color, name = {
            "retransmission": ("x", "✕", RETRANSMISSION_COLOR, "Retransmission / out of order"),
            "lost": ("t1", "▲", LOST_SEGMENT_COLOR, "Previous segment not captured"),
            "zero": ("s", "■", ZERO_WINDOW_COLOR, "Zero window"),
        }[what]
        y = np.nan_to_num(y, nan=0.0)
        points = self._points(x, y, name, color, view, glyph, symbol=symbol, size=10,
                              pen=pg.mkPen(color, width=2),
                              brush=None if symbol == "x" else pg.mkBrush(color))
        points.item.setZValue(30)

    def show(self, kind: GraphKind, data: StreamGraphData, side: str, color: QColor,
             by_sequence: bool = False) -> None:
        """Draw graph ``kind`` of ``data`` (one direction); ``side`` names its sender
        ("Client" / "Server") and ``color`` is that side's colour."""
        self.clear()
        self.kind, self.data, self.by_sequence = kind, data, by_sequence
        {GraphKind.TCPTRACE: self._tcptrace, GraphKind.THROUGHPUT: self._throughput,
         GraphKind.RTT: self._rtt, GraphKind.WINDOW: self._window}[kind](data, side, color)
        x_label = TIME_LABEL if self.x_is_time else f"{SEQUENCE_LABEL} of the segment"
        style = {"color": TEXT_COLOR.name(), "font-size": f"{axis_font().pointSizeF():.0f}pt"}
        self.plot.setLabel("bottom", x_label, units="s" if self.x_is_time else "B", **style)
        self.view.enableAutoRange(axis="y")
        if not self.x_is_time:
            self.view.enableAutoRange(axis="x")

    def _set_left(self, label: str, unit: str) -> None:
        style = {"color": TEXT_COLOR.name(), "font-size": f"{axis_font().pointSizeF():.0f}pt"}
        self.plot.setLabel("left", label, units=unit, **style)

    def _tcptrace(self, d: StreamGraphData, side: str, color: QColor) -> None:
        self._set_left(SEQUENCE_LABEL, "B")
        retx = d.retransmitted
        self._bars(d.seg_t[~retx], d.seg_start[~retx], d.seg_end[~retx], color,
                   f"{side} segments")
        retransmitted = self._bars(d.seg_t[retx], d.seg_start[retx], d.seg_end[retx],
                                   RETRANSMISSION_COLOR, "Retransmitted / out of order", width=2)
        for item in retransmitted.items():
            item.setZValue(10)  # over the SACK blocks that usually cover them
        ack_x, ack_y = step_line(d.ack_t, d.ack)
        self._line(ack_x, ack_y, ACK_LINE_COLOR, "ACK line")
        win_x, win_y = step_line(d.ack_t, d.ack + d.window)
        self._line(win_x, win_y, RECEIVE_WINDOW_COLOR, "Receive window (ACK + window)")
        self._bars(d.sack_t, d.sack_left, d.sack_right, SACK_COLOR, "SACK blocks", width=2)
        self._marks(d.seg_t[d.lost], d.seg_start[d.lost], "lost")
        zero = d.zero_window
        self._marks(d.ack_t[zero], d.ack[zero], "zero")
        self.pickables = [
            Pickable(d.seg_t, d.seg_end, d.seg_packet, self.view, self._describe_segment),
            Pickable(d.ack_t, d.ack, d.ack_packet, self.view, self._describe_ack),
            Pickable(d.sack_t, d.sack_right, d.sack_packet, self.view, self._describe_sack)]

    def _throughput(self, d: StreamGraphData, side: str, color: QColor) -> None:
        self._set_left("Goodput", "bit/s")
        self.plot.showAxis("right")
        style = {"color": TEXT_COLOR.name(), "font-size": f"{axis_font().pointSizeF():.0f}pt"}
        self.plot.setLabel("right", "Segment length", units="B", **style)
        self._fit_right()
        average = f"{d.average_s * 1000:g} ms" if d.average_s < 1 else f"{d.average_s:g} s"
        t = d.seg_t
        order = (slice(None) if t.size < 2 or bool(np.all(t[1:] >= t[:-1]))
                 else np.argsort(t, kind="stable"))  # (segments usually come in time order)
        self._line(t[order], d.goodput[order] * 8, color,
                   f"{side} goodput ({average} average)", width=2)
        self._line(t[order], d.throughput[order] * 8, pale(color, 0.55),
                   f"Throughput, all bytes ({average} average)", width=1)
        self._points(d.seg_t, d.seg_len, "Segment length (right axis)", pale(color, 0.4),
                     self.right, symbol="o", size=4, pen=None, brush=pg.mkBrush(pale(color, 0.4)))
        retx, lost = d.retransmitted, d.lost
        self._marks(d.seg_t[retx], d.seg_len[retx].astype(float), "retransmission", self.right)
        self._marks(d.seg_t[lost], d.seg_len[lost].astype(float), "lost", self.right)
        zero = d.zero_window
        self._marks(d.ack_t[zero], np.zeros(int(zero.sum())), "zero")
        self.fit_right()
        self.pickables = [
            Pickable(d.seg_t, d.goodput * 8, d.seg_packet, self.view, self._describe_rate),
            Pickable(d.seg_t, d.seg_len.astype(float), d.seg_packet, self.right,
                     self._describe_segment)]

    def _rtt(self, d: StreamGraphData, side: str, color: QColor) -> None:
        self._set_left("Round-trip time", "s")
        x = d.rtt_seq if self.by_sequence else d.rtt_t
        self._points(x, d.rtt, f"Round-trip time of {side.lower()} segments", color, symbol="o",
                     size=5, pen=None, brush=pg.mkBrush(color))
        seg_x = d.seg_start if self.by_sequence else d.seg_t
        retx, lost, zero = d.retransmitted, d.lost, d.zero_window
        self._marks(seg_x[retx], np.zeros(int(retx.sum())), "retransmission")
        self._marks(seg_x[lost], np.zeros(int(lost.sum())), "lost")
        ack_x = d.ack if self.by_sequence else d.ack_t
        self._marks(ack_x[zero], np.zeros(int(zero.sum())), "zero")
        self.pickables = [Pickable(x, d.rtt, d.rtt_segment, self.view, self._describe_rtt)]

    def _window(self, d: StreamGraphData, side: str, color: QColor) -> None:
        self._set_left("Bytes", "B")
        wx, wy = step_line(d.ack_t, d.window)
        self._line(wx, wy, RECEIVE_WINDOW_COLOR, "Receive window of the other side", width=2)
        self._points(d.seg_t, d.flight, f"Bytes in flight ({side.lower()})", color,
                     symbol="o", size=4, pen=None, brush=pg.mkBrush(color))
        retx, lost, zero = d.retransmitted, d.lost, d.zero_window
        self._marks(d.seg_t[retx], d.flight[retx], "retransmission")
        self._marks(d.seg_t[lost], d.flight[lost], "lost")
        self._marks(d.ack_t[zero], np.zeros(int(zero.sum())), "zero")
        self.pickables = [
            Pickable(d.seg_t, d.flight, d.seg_packet, self.view, self._describe_flight),
            Pickable(d.ack_t, d.window, d.ack_packet, self.view, self._describe_ack)]

    # -- hover texts (after the packet's own description) -------------------------------------
    def _describe_segment(self, i: int) -> str:
        d = self.data
        assert d is not None
        return (f"segment {int(d.seg_start[i])}–{int(d.seg_end[i])} "
                f"({int(d.seg_len[i])} bytes)")

    def _describe_ack(self, i: int) -> str:
        d = self.data
        assert d is not None
        return f"ACK {int(d.ack[i])}, window {units.size(int(d.window[i]))}"

    def _describe_sack(self, i: int) -> str:
        d = self.data
        assert d is not None
        return f"SACK block {int(d.sack_left[i])}–{int(d.sack_right[i])}"

    def _describe_rate(self, i: int) -> str:
        d = self.data
        assert d is not None
        return (f"goodput {units.bit_rate(float(d.goodput[i]) * 8)}, throughput "
                f"{units.bit_rate(float(d.throughput[i]) * 8)}")

    def _describe_rtt(self, i: int) -> str:
        d = self.data
        assert d is not None
        return (f"round-trip time {float(d.rtt[i]) * 1000:.3f} ms (acknowledged by packet "
                f"{int(d.rtt_packet[i]) + 1})")

    def _describe_flight(self, i: int) -> str:
        d = self.data
        assert d is not None
        flight = float(d.flight[i])
        return "bytes in flight not shown by Wireshark" if np.isnan(flight) else \
            f"{units.size(int(flight))} in flight"

    # -- picking ------------------------------------------------------------------------------
    def pick(self, scene_pos: QPointF) -> tuple[int, str] | None:
        """(packet, description) of the point nearest the mouse within a few pixels."""
        if not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        best: tuple[float, Pickable, int] | None = None
        for p in self.pickables:
            if not p.x.size:
                continue
            (x0, x1), (y0, y1) = p.view.viewRange()
            w, h = max(p.view.width(), 1.0), max(p.view.height(), 1.0)
            at = p.view.mapSceneToView(scene_pos)
            dx = (p.x - float(at.x())) * (w / max(x1 - x0, 1e-300))
            dy = (np.nan_to_num(p.y, nan=0.0) - float(at.y())) * (h / max(y1 - y0, 1e-300))
            dist = dx * dx + dy * dy
            i = int(np.argmin(dist))
            if dist[i] <= PICK_PIXELS ** 2 and (best is None or dist[i] < best[0]):
                best = (float(dist[i]), p, i)
        if best is None:
            return None
        _, p, i = best
        return int(p.packet[i]), p.describe(i)
