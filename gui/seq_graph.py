"""The Stevens time-sequence graph of one TCP conversation: relative sequence number over time
per direction, with the other side's acknowledgements as the ACK line.

Each direction is two dense curves (segments, ACK line: clipped to the view and peak-downsampled,
so 100k packets stay fast) and a scatter of its retransmitted / out-of-order segments (few).
Segments are drawn as a step up to their end, so a straight climb is a steady transfer, a flat
stretch a stall and a drop back a retransmission.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from .chart_style import CLIENT_COLOR, SERVER_COLOR, dense_curve, lighter, make_plot
from .timeline_data import SequenceSeries


class SequenceGraph:
    """Owns the plot widget and its items; ``show`` replaces the series."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.widget = make_plot(parent, x_label="Time since the conversation began", x_units="s",
                                y_label="Relative sequence number", y_units="B")
        self.plot = self.widget.getPlotItem()
        self.legend = self.plot.addLegend(offset=(10, 8), labelTextColor="#1f2937",
                                          brush=pg.mkBrush(255, 255, 255, 220))
        self.segments: dict[str, pg.PlotDataItem] = {}
        self.acks: dict[str, pg.PlotDataItem] = {}
        self.odd: dict[str, pg.ScatterPlotItem] = {}
        self.series: dict[str, SequenceSeries] = {}

    def clear(self) -> None:
        for item in [*self.segments.values(), *self.acks.values(), *self.odd.values()]:
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
            seg = dense_curve(self.widget, pg.mkPen(color, width=1.6), name=f"{name} segments")
            x, y = _segment_steps(s)
            seg.setData(x, y)
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


def _segment_steps(s: SequenceSeries) -> tuple[np.ndarray, np.ndarray]:
    """Each segment as a vertical stroke from its start to its end at its time, joined in order
    (start, end, start, end, ...), which is how tcptrace draws them without one item each."""
    x = np.repeat(s.seg_t, 2)
    y = np.empty(x.size)
    y[0::2] = s.seg_seq
    y[1::2] = s.seg_end
    return x, y
