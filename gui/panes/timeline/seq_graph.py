"""The Stevens time-sequence graph of one TCP conversation: relative sequence number over time
per direction, with the other side's acknowledgements as the ACK line.

Each segment is a vertical stroke from its first to its last sequence number at its time, as
tcptrace draws it: a steady transfer climbs, a stall is a gap, a retransmission a stroke below
the climb. The other side's acknowledgements are a staircase (the ACK line). For 100k packets:
the ACK line is a dense curve (clipped to the view, peak-downsampled); the strokes are re-thinned
to one per pixel column (lowest start to highest end) whenever the view moves; retransmitted /
out-of-order segments (few) are a scatter of crosses.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget

from gui.panes.timeline.data import SequenceSeries, column_strokes
from gui.plots import dense_curve, make_plot
from gui.style import CLIENT_COLOR, SERVER_COLOR, TEXT_COLOR, lighter


class Strokes(QObject):
    """Vertical strokes (``connect="pairs"``), re-thinned for the visible range."""

    def __init__(self, plot: pg.PlotItem, pen: object, name: str) -> None:
        super().__init__()
        self.item = pg.PlotDataItem(connect="pairs", pen=pen, name=name)
        plot.addItem(self.item)
        self._view = plot.getViewBox()
        self._t = self._low = self._high = np.zeros(0)
        self._timer = QTimer(self)  # a burst of range changes costs one re-thinning
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        self._view.sigXRangeChanged.connect(self._later)
        self._view.sigResized.connect(self._later)

    def _later(self, *_args: object) -> None:
        self._timer.start()

    def set_data(self, t: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        order = np.argsort(t, kind="stable")
        self._t, self._low, self._high = t[order], low[order], high[order]
        self.refresh()

    def refresh(self) -> None:
        (x_min, x_max), _ = self._view.viewRange()
        x, low, high = column_strokes(self._t, self._low, self._high, x_min, x_max,
                                      max(int(self._view.width()), 200))
        ys = np.empty(2 * x.size)
        ys[0::2], ys[1::2] = low, high
        self.item.setData(np.repeat(x, 2), ys)

    def detach(self) -> None:
        self._view.sigXRangeChanged.disconnect(self._later)
        self._view.sigResized.disconnect(self._later)
        self._timer.stop()


class SequenceGraph:
    """Owns the plot widget and its items; ``show`` replaces the series."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.widget = make_plot(parent, x_label="Time since the conversation began", x_units="s",
                                y_label="Sequence number", y_units="B")
        self.plot = self.widget.getPlotItem()
        # bottom right: a transfer climbs from the bottom left to the top right
        self.legend = self.plot.addLegend(offset=(-10, -10), labelTextColor=TEXT_COLOR.name(),
                                          brush=pg.mkBrush(255, 255, 255, 200))
        self.segments: dict[str, Strokes] = {}
        self.acks: dict[str, pg.PlotDataItem] = {}
        self.odd: dict[str, pg.ScatterPlotItem] = {}
        self.series: dict[str, SequenceSeries] = {}

    def clear(self) -> None:
        for strokes in self.segments.values():
            strokes.detach()
            self.plot.removeItem(strokes.item)
        for item in [*self.acks.values(), *self.odd.values()]:
            self.plot.removeItem(item)
        self.legend.clear()
        self.segments.clear()
        self.acks.clear()
        self.odd.clear()
        self.series.clear()

    def show(self, series: dict[str, SequenceSeries]) -> None:
        """``series``: "client"/"server" → that side's data (one or both)."""
        self.clear()
        for side, s in series.items():
            color = CLIENT_COLOR if side == "client" else SERVER_COLOR
            name = "Client" if side == "client" else "Server"
            ack = dense_curve(self.widget, pg.mkPen(lighter(color, 170), width=1.5,
                                                    style=Qt.PenStyle.DashLine),
                              name=f"ACKs of {name.lower()} data")
            ack.setData(*_steps(s.ack_t, s.ack_seq))
            seg = Strokes(self.plot, pg.mkPen(color, width=2), f"{name} segments")
            seg.set_data(s.seg_t, s.seg_seq, s.seg_end)
            odd = pg.ScatterPlotItem(x=s.retx_t, y=s.retx_seq, symbol="x", size=9,
                                     pen=pg.mkPen(color.darker(140), width=1.5), brush=None)
            self.plot.addItem(odd)
            if s.retx_t.size:  # named (so listed in the legend) only when there are some
                self.legend.addItem(odd, f"{name} retransmitted / out of order")
            self.segments[side], self.acks[side], self.odd[side] = seg, ack, odd
            self.series[side] = s

    def data_range(self) -> tuple[float, float] | None:
        """Lowest and highest sequence number shown (None when empty)."""
        lows, highs = [], []
        for s in self.series.values():
            for arr in (s.seg_seq, s.seg_end, s.ack_seq):
                if arr.size:
                    lows.append(float(arr.min()))
                    highs.append(float(arr.max()))
        return (min(lows), max(highs)) if lows else None


def _steps(t: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A value that holds until the next one (the ACK line): a staircase through the points."""
    if t.size < 2:
        return t, value
    x = np.repeat(t, 2)[1:]
    y = np.repeat(value, 2)[:-1]
    return x, y

