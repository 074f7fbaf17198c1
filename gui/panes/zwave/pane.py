"""The Z-Wave pane: ACK vs command frames per node pair (grouped by home network), frames over
time, the selected conversation's command classes, and RSSI over time when the capture has it.

The overview charts are built once per capture; a selection only moves the highlight (an
outline around the pair's bar, its frames over time as a line, its RSSI points in colour) and
redraws the command classes. Stacked bars are two BarGraphItems, the second with ``y0`` = the
first one's heights.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QGridLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from engine.result import FlowResult
from engine.zwave.protocol import ZWAVE
from gui import units
from gui.jobs import JobRunner
from gui.panes.base import Pane
from gui.panes.titles import title
from gui.panes.zwave.data import (
    GROUP_GAP,
    MAX_RSSI_POINTS,
    MAX_SELECTED_RSSI_POINTS,
    FrameHistogram,
    PairBars,
    RssiSeries,
    command_classes,
    frame_histogram,
    has_zwave,
    pair_bars,
    rssi_series,
)
from gui.plots import axis_font, make_plot
from gui.style import (
    GUIDE_COLOR,
    HIGHLIGHT_COLOR,
    MUTED_STYLE,
    POINT_OUTLINE,
    TEXT_COLOR,
    ZWAVE_ACK_COLOR,
    ZWAVE_COMMAND_COLOR,
    swatch,
)

BAR_WIDTH = 0.72
EMPTY = "This capture has no Z-Wave frames."
NO_RSSI = "This capture carries no signal strength (RSSI): only Z-Wave TAP captures do."


class ZWavePane(Pane):
    """``show_conversation(result, id)``; ``packetSelected`` when an RSSI point is clicked."""

    name = "zwave"
    title = "Z-Wave"
    tooltip = "ACK and command frames per node pair, over time, and signal strength"
    protocols = frozenset({"zwave"})
    priority = 10
    only_when_present = True

    ready = Signal()

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.pairs: PairBars | None = None
        self.rssi: RssiSeries | None = None
        self.histogram: FrameHistogram | None = None

        self.empty = self.empty_label(EMPTY)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)

        self.pair_plot = make_plot(self, y_label="Frames")
        self.pair_plot.getPlotItem().setMouseEnabled(y=False)
        self.ack_bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH,
                                        brush=ZWAVE_ACK_COLOR, pen=pg.mkPen(None))
        self.command_bars = pg.BarGraphItem(x=[], height=[], y0=[], width=BAR_WIDTH,
                                            brush=ZWAVE_COMMAND_COLOR, pen=pg.mkPen(None))
        self.pair_highlight = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH + 0.16,
                                              brush=None,
                                              pen=pg.mkPen(HIGHLIGHT_COLOR, width=3))
        for item in (self.ack_bars, self.command_bars, self.pair_highlight):
            self.pair_plot.addItem(item)
        self.home_labels: list[pg.GraphicsObject] = []
        pair_view = self.pair_plot.getPlotItem().getViewBox()
        pair_view.sigResized.connect(self._update_pair_ticks)
        pair_view.sigXRangeChanged.connect(self._update_pair_ticks)

        self.time_plot = make_plot(self, x_label="Time since the capture began", x_units="s",
                                   y_label="Frames per second")
        self.time_ack = pg.BarGraphItem(x0=[], height=[], width=1.0, brush=ZWAVE_ACK_COLOR,
                                        pen=pg.mkPen(None))
        self.time_command = pg.BarGraphItem(x0=[], height=[], y0=[], width=1.0,
                                            brush=ZWAVE_COMMAND_COLOR, pen=pg.mkPen(None))
        self.time_selected = pg.PlotDataItem(stepMode="center",
                                             pen=pg.mkPen(HIGHLIGHT_COLOR, width=2.5))
        for item in (self.time_ack, self.time_command, self.time_selected):
            self.time_plot.addItem(item)

        self.class_plot = make_plot(self, x_label="Command frames")
        self.class_plot.getPlotItem().setMouseEnabled(x=False, y=False)
        self.class_bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.66,
                                          brush=ZWAVE_COMMAND_COLOR, pen=pg.mkPen(None))
        self.class_plot.addItem(self.class_bars)
        self.class_note = pg.TextItem("", color=TEXT_COLOR, anchor=(0.5, 0.5))
        self.class_plot.addItem(self.class_note)

        self.rssi_stack = QStackedWidget(self)
        self.rssi_plot = make_plot(self, x_label="Time since the capture began", x_units="s",
                                   y_label="RSSI", y_units="dBm")
        self.rssi_all = pg.ScatterPlotItem(size=5, pen=pg.mkPen(None),
                                           brush=pg.mkBrush(150, 160, 175, 150))
        self.rssi_selected = pg.ScatterPlotItem(size=9, pen=pg.mkPen(POINT_OUTLINE, width=1),
                                                brush=pg.mkBrush(HIGHLIGHT_COLOR))
        self.rssi_selected.sigClicked.connect(self._rssi_clicked)
        self.rssi_plot.addItem(self.rssi_all)
        self.rssi_plot.addItem(self.rssi_selected)
        self.rssi_stack.addWidget(self.rssi_plot)
        no_rssi = QLabel(NO_RSSI, alignment=Qt.AlignmentFlag.AlignCenter)
        no_rssi.setWordWrap(True)
        no_rssi.setStyleSheet(MUTED_STYLE)
        self.rssi_stack.addWidget(no_rssi)

        self.pair_plot.setTitle("ACK and command frames per node pair", color=TEXT_COLOR,
                                size="10pt")
        self.time_plot.setTitle("Frames over time", color=TEXT_COLOR, size="10pt")
        self.class_plot.setTitle("Command classes (selected)", color=TEXT_COLOR, size="10pt")
        self.rssi_plot.setTitle("Signal strength over time", color=TEXT_COLOR, size="10pt")

        grid = QGridLayout()
        grid.setSpacing(4)
        grid.addWidget(self.pair_plot, 0, 0, 1, 3)
        grid.addWidget(self.time_plot, 1, 0)
        grid.addWidget(self.class_plot, 1, 1)
        grid.addWidget(self.rssi_stack, 1, 2)
        grid.setColumnStretch(0, 4)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 3)
        content = QWidget()
        box = QVBoxLayout(content)
        box.setContentsMargins(4, 4, 4, 2)
        box.addWidget(self.header)
        box.addLayout(grid, 1)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # -- the capture -----------------------------------------------------------------------------
    def show_conversation(self, result: FlowResult | None, conversation: int) -> None:
        if result is not self.result:
            self._set_capture(result)
        self.conversation = conversation
        if self.pairs is not None:
            self._show_selection()
        self.ready.emit()

    def _set_capture(self, result: FlowResult | None) -> None:
        self.result = result
        self.pairs = self.rssi = self.histogram = None
        if not has_zwave(result):
            self.stack.setCurrentIndex(0)
            return
        assert result is not None
        self.pairs = pairs = pair_bars(result)
        self.ack_bars.setOpts(x=pairs.x, height=pairs.acks, width=BAR_WIDTH)
        self.command_bars.setOpts(x=pairs.x, y0=pairs.acks, height=pairs.commands,
                                  width=BAR_WIDTH)
        top = float((pairs.acks + pairs.commands).max(initial=1))
        for label in self.home_labels:
            self.pair_plot.removeItem(label)
        self.home_labels = []
        for k, (home, first, last) in enumerate(pairs.homes):
            label = pg.TextItem(f"home {home:08X}", color=TEXT_COLOR, anchor=(0.5, 0.0))
            label.setPos((first + last) / 2, top * 1.26)
            self.pair_plot.addItem(label)
            self.home_labels.append(label)
            if k:  # a dashed line between two home networks
                line = pg.InfiniteLine(first - 0.5 - GROUP_GAP / 2, angle=90,
                                       pen=pg.mkPen(GUIDE_COLOR, style=Qt.PenStyle.DashLine))
                self.pair_plot.addItem(line)
                self.home_labels.append(line)
        self.pair_plot.setXRange(float(pairs.x.min()) - 0.8, float(pairs.x.max()) + 0.8,
                                 padding=0)
        self.pair_plot.setYRange(0, top * 1.32, padding=0)
        self._update_pair_ticks()

        self.histogram = histogram = frame_histogram(result)
        for item in (self.time_ack, self.time_command):
            item.setOpts(width=histogram.width * 0.9)
        self.time_ack.setOpts(x0=histogram.start, height=histogram.acks)
        self.time_command.setOpts(x0=histogram.start, y0=histogram.acks,
                                  height=histogram.commands)
        per = "second" if histogram.width == 1 else f"{histogram.width:g} s"
        self.time_plot.getPlotItem().setLabel("left", f"Frames per {per}")
        top = float((histogram.acks + histogram.commands).max(initial=1))
        self.time_plot.setYRange(0, top * 1.08, padding=0)
        self.time_plot.setXRange(-histogram.width * 0.3,
                                 float(histogram.start[-1]) + histogram.width * 1.3, padding=0)

        self.rssi = rssi_series(result)
        if self.rssi is None:
            self.rssi_stack.setCurrentIndex(1)
        else:
            stride = max(1, -(-self.rssi.seconds.size // MAX_RSSI_POINTS))
            self.rssi_all.setData(x=self.rssi.seconds[::stride], y=self.rssi.rssi[::stride])
            end = float(self.rssi.seconds.max())
            self.rssi_plot.setXRange(-0.03 * end - 0.1, end * 1.03 + 0.1, padding=0)
            self.rssi_plot.setYRange(float(self.rssi.rssi.min()) - 3,
                                     float(self.rssi.rssi.max()) + 3, padding=0)
            self.rssi_stack.setCurrentIndex(0)
        self.stack.setCurrentIndex(1)

    def _update_pair_ticks(self) -> None:
        """Label as many bars as fit side by side at the current width and zoom."""
        pairs = self.pairs
        if pairs is None or not pairs.x.size:
            return
        view = self.pair_plot.getPlotItem().getViewBox()
        (x_min, x_max), _ = view.viewRange()
        per_bar = view.width() / max(x_max - x_min, 1e-9)
        metrics = QFontMetrics(axis_font())
        widest = max(metrics.horizontalAdvance(label) for label in pairs.labels) + 8
        step = max(1, math.ceil(widest / max(per_bar, 1e-9)))
        ticks = [(float(x), label) for k, (x, label) in
                 enumerate(zip(pairs.x, pairs.labels, strict=True)) if k % step == 0]
        self.pair_plot.getPlotItem().getAxis("bottom").setTicks([ticks])

    # -- the selection ---------------------------------------------------------------------------
    def _show_selection(self) -> None:
        result, pairs, conv = self.result, self.pairs, self.conversation
        assert result is not None and pairs is not None
        t = result.conversations
        conversations = int((t.kind == ZWAVE.kind).sum())
        frames = int(pairs.acks.sum() + pairs.commands.sum())
        text = (f"<b>Z-Wave</b>: {units.count(frames)} frames in "
                f"{units.count(conversations)} conversations in "
                f"{len(pairs.homes)} home network{'s' if len(pairs.homes) != 1 else ''} · "
                f"{swatch(ZWAVE_ACK_COLOR, 'ACK frames')}&nbsp;&nbsp;"
                f"{swatch(ZWAVE_COMMAND_COLOR, 'command frames')}&nbsp;&nbsp;"
                f"{swatch(HIGHLIGHT_COLOR, 'selected conversation')}")
        x = pairs.x_of(conv) if conv >= 0 else None
        if x is not None:
            at = np.flatnonzero(pairs.rows == conv)[0]
            total = float(pairs.acks[at] + pairs.commands[at])
            self.pair_highlight.setOpts(x=[x], y0=[0.0], height=[total])
            text += (f"<br>Selected: {title(result, conv)} · {int(pairs.acks[at])} ACK, "
                     f"{int(pairs.commands[at])} command frames")
        else:
            self.pair_highlight.setOpts(x=[], y0=[], height=[])
        self.header.setText(text)
        self._show_time_selection(x is not None)
        self._show_classes()
        self._show_rssi_selection(x is not None)

    def _show_time_selection(self, selected: bool) -> None:
        histogram = self.histogram
        if not selected or histogram is None:
            self.time_selected.setData([], [])
            return
        edges = np.append(histogram.start, histogram.start[-1] + histogram.width)
        self.time_selected.setData(edges, histogram.of(self.conversation))

    def _show_classes(self) -> None:
        assert self.result is not None
        classes = command_classes(self.result, self.conversation)
        axis = self.class_plot.getPlotItem().getAxis("left")
        if not classes:
            self.class_bars.setOpts(x0=[], y=[], width=[])
            axis.setTicks([[]])
            axis.setWidth(None)
            self.class_note.setText("Select a Z-Wave conversation with command frames\n"
                                    "to see its command classes.")
            self.class_note.setPos(0.5, 0.5)
            self.class_plot.setXRange(0, 1, padding=0)
            self.class_plot.setYRange(0, 1, padding=0)
            return
        self.class_note.setText("")
        names = [name for name, _ in classes]
        counts = np.array([count for _, count in classes], dtype=np.float64)
        y = np.arange(len(classes), dtype=np.float64)[::-1]  # most used on top
        self.class_bars.setOpts(x0=np.zeros(len(classes)), y=y, width=counts, height=0.66)
        axis.setTicks([[(float(v), n) for v, n in zip(y, names, strict=True)]])
        metrics = QFontMetrics(axis_font())
        axis.setWidth(max(metrics.horizontalAdvance(n) for n in names) + 14)
        self.class_plot.setXRange(0, float(counts.max()) * 1.08, padding=0)
        self.class_plot.setYRange(-0.6, len(classes) - 0.4, padding=0)

    def _show_rssi_selection(self, selected: bool) -> None:
        if self.rssi is None:
            return
        if not selected:
            self.rssi_selected.setData(x=[], y=[])
            return
        mine = np.flatnonzero(self.rssi.conversation == self.conversation)
        mine = mine[::max(1, -(-mine.size // MAX_SELECTED_RSSI_POINTS))]
        self.rssi_selected.setData(x=self.rssi.seconds[mine], y=self.rssi.rssi[mine],
                                   data=self.rssi.packet[mine])

    def _rssi_clicked(self, _item: object, points: list, *_args: object) -> None:
        if len(points):
            self.packetSelected.emit(int(points[0].data()))
