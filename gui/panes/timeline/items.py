"""The graphics of the TCP state chart: state bars and packet marks, batched.

One ``BarGraphItem`` per state colour holds every bar of that state (pyqtgraph draws bars that
share a brush in one call); one ``PlotDataItem`` (``connect="pairs"``) per kind of packet mark
holds that kind's ticks. Marks are thinned to one per pixel column, kind and side for the
visible range, and re-thinned when the view moves, so a 100k-packet conversation draws a few
thousand lines.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer

from engine.packet_notes import Mark
from engine.tcp import TcpState
from gui.panes.timeline.data import BAR_HEIGHT, MARK_HALF, PACKET_ROW, StateBars, thin_marks
from gui.style import MARK_COLORS, STATE_COLORS

#: marks drawn later are on top: the rare, important kinds last
MARK_ORDER = (Mark.ACK, Mark.OTHER, Mark.DATA, Mark.FIN, Mark.SYN, Mark.SYN_ACK,
              Mark.RETRANSMISSION, Mark.RST)


class StateBarItems:
    """The state bars of both endpoints: one BarGraphItem per state present."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self._plot = plot
        self.items: dict[TcpState, pg.BarGraphItem] = {}

    def clear(self) -> None:
        for item in self.items.values():
            self._plot.removeItem(item)
        self.items.clear()

    def show(self, bars: StateBars) -> None:
        self.clear()
        for state in TcpState:
            if state not in bars.x0:
                continue
            color = STATE_COLORS[state]
            item = pg.BarGraphItem(x0=bars.x0[state], width=bars.width[state], y=bars.y[state],
                                   height=BAR_HEIGHT, brush=color,
                                   pen=pg.mkPen(color.darker(130), width=1))
            item.setZValue(-5)
            self._plot.addItem(item)
            self.items[state] = item


class PacketMarks(QObject):
    """Vertical ticks on the packet row, coloured by :class:`~engine.packet_notes.Mark`."""

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self._plot = plot
        self.items: dict[Mark, pg.PlotDataItem] = {}
        for z, mark in enumerate(MARK_ORDER):
            item = pg.PlotDataItem(connect="pairs",
                                   pen=pg.mkPen(MARK_COLORS[mark], width=2 if z > 2 else 1.4))
            item.setZValue(z)
            plot.addItem(item)
            self.items[mark] = item
        self._x = np.zeros(0)
        self._upper = np.zeros(0, dtype=bool)
        self._mark = np.zeros(0, dtype=np.uint8)
        self._timer = QTimer(self)  # coalesce a burst of range changes into one re-thinning
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._timer.start())
        plot.getViewBox().sigResized.connect(lambda *_: self._timer.start())

    def set_packets(self, times: np.ndarray, upper: np.ndarray, mark: np.ndarray) -> None:
        """``upper``: sent by the client (tick above the centre line)."""
        order = np.argsort(times, kind="stable")
        self._x, self._upper, self._mark = times[order], upper[order], mark[order]
        self.refresh()

    def clear(self) -> None:
        self.set_packets(np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.uint8))

    def refresh(self) -> None:
        (x_min, x_max), _ = self._plot.getViewBox().viewRange()
        pixels = max(int(self._plot.getViewBox().width()), 200)
        key = self._mark.astype(np.int64) * 2 + self._upper
        rows = thin_marks(self._x, key, x_min, x_max, pixels)
        x, upper, mark = self._x[rows], self._upper[rows], self._mark[rows]
        for kind, item in self.items.items():
            mine = mark == kind
            xs = np.repeat(x[mine], 2)
            ys = np.empty(xs.size)
            side = np.where(upper[mine], MARK_HALF, -MARK_HALF)
            ys[0::2] = PACKET_ROW
            ys[1::2] = PACKET_ROW + side
            item.setData(xs, ys)

    def drawn(self, mark: Mark) -> np.ndarray:
        """x of the ticks of one kind now drawn (for tests)."""
        x, _ = self.items[mark].getData()
        return np.zeros(0) if x is None else x[0::2]
