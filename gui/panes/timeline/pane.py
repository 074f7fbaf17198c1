"""The TCP timeline pane: each endpoint's RFC 793 states as coloured bars, the packets as marks
coloured by kind, and below them the time-sequence graph; both share the time axis.

A selection draws at once what numpy gives in a few milliseconds (marks, sequence graph, from
:func:`engine.packet_notes.conversation_packets`); the state machine over every packet
(:func:`engine.tcp.tcp_timeline`, sequential) runs on a worker and its bars arrive after.
Hovering shows a packet or a state; clicking a packet selects it (``packetSelected``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.packet_notes import (
    MARK_NAMES,
    ConversationPackets,
    Mark,
    conversation_packets,
    flag_text,
    note_text,
)
from engine.protocols import TCP_STATES
from engine.result import FlowResult
from engine.tcp import TcpState, Timeline, tcp_timeline
from engine.tcp.expert_flags import OUT_OF_ORDER, RETRANSMISSION_KINDS
from gui import units
from gui.jobs import JobRunner
from gui.panes.base import Pane
from gui.panes.timeline.data import (
    CLIENT_ROW,
    MARK_HALF,
    PACKET_ROW,
    SERVER_ROW,
    StateBars,
    end_padding,
    nearest_packet,
    seconds_since_start,
    sequence_series,
    state_bars,
)
from gui.panes.timeline.items import PacketMarks, StateBarItems
from gui.panes.timeline.seq_graph import SequenceGraph
from gui.panes.titles import endpoint, packet_time
from gui.panes.titles import name as conversation_name
from gui.plots import make_plot
from gui.style import (
    CLIENT_COLOR,
    HIGHLIGHT_COLOR,
    MARK_COLORS,
    SERVER_COLOR,
    STATE_COLORS,
    coloured,
    swatch,
)

HOVER_PIXELS = 6
DIRECTIONS = ("Both directions", "Client → server", "Server → client")
EMPTY_NONE = "Select a TCP conversation in the table to see its state timeline."


class TimelinePane(Pane):
    """``show_conversation(result, id)`` draws one conversation; ``packetSelected`` reports a
    clicked packet (its index in the capture)."""

    name = "timeline"
    title = "Timeline"
    tooltip = "TCP states of both endpoints, packets and sequence numbers over time"
    feature = TCP_STATES
    priority = 10

    #: everything for the current conversation is drawn (states included)
    ready = Signal()

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.packets: ConversationPackets | None = None
        self.timeline: Timeline | None = None
        self.bars: StateBars | None = None
        self.times = np.zeros(0)
        self._order = np.zeros(0, dtype=np.int64)
        self._duration = 0.0
        self._selected = -1

        self.empty = self.empty_label(EMPTY_NONE)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.direction = QComboBox()
        self.direction.addItems(DIRECTIONS)
        self.direction.setToolTip("Which direction's sequence numbers the graph shows")
        self.direction.currentIndexChanged.connect(self._draw_sequence)
        self.reset_button = QPushButton("Reset view")
        self.reset_button.setToolTip("Show the whole conversation again")
        self.reset_button.clicked.connect(self.reset_view)
        self.info = QLabel(" ")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.state_widget = make_plot(self, x_label="Time since the conversation began",
                                      x_units="s")
        self.state_plot = self.state_widget.getPlotItem()
        self.state_plot.setMouseEnabled(x=True, y=False)
        self.state_plot.showGrid(x=True, y=False, alpha=0.2)
        self.state_plot.getAxis("left").setTicks(
            [[(CLIENT_ROW, "Client"), (PACKET_ROW, "Packets"), (SERVER_ROW, "Server")]])
        self.state_plot.getAxis("left").setWidth(64)
        self.state_plot.setYRange(SERVER_ROW - 0.55, CLIENT_ROW + 0.55, padding=0)
        self.state_widget.setMinimumHeight(150)
        self.bar_items = StateBarItems(self.state_plot)
        self.marks = PacketMarks(self.state_plot)
        self.seq = SequenceGraph(self)
        self.seq.plot.setXLink(self.state_plot)
        self.seq.plot.getAxis("left").setWidth(64)
        self.seq.plot.getViewBox().setAutoVisible(y=True)
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen(HIGHLIGHT_COLOR, width=1.5))
                        for _ in range(2)]
        for plot, cursor in zip((self.state_plot, self.seq.plot), self.cursors, strict=True):
            cursor.setZValue(20)
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
        for widget in (self.state_widget, self.seq.widget):
            widget.scene().sigMouseMoved.connect(lambda pos, w=widget: self._hover(w, pos))
            widget.scene().sigMouseClicked.connect(lambda ev, w=widget: self._clicked(w, ev))

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(QLabel("Sequence graph:"))
        top.addWidget(self.direction)
        top.addWidget(self.reset_button)
        charts = QSplitter(Qt.Orientation.Vertical)
        charts.addWidget(self.state_widget)
        charts.addWidget(self.seq.widget)
        charts.setStretchFactor(0, 2)
        charts.setStretchFactor(1, 3)
        charts.setChildrenCollapsible(False)
        content = QWidget()
        box = QVBoxLayout(content)
        box.setContentsMargins(4, 4, 4, 2)
        box.setSpacing(3)
        box.addLayout(top)
        box.addWidget(self.legend)
        box.addWidget(charts, 1)
        box.addWidget(self.info)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # -- showing a conversation ----------------------------------------------------------------
    def show_conversation(self, result: FlowResult | None, conversation: int) -> None:
        self.jobs.cancel()
        self.result, self.conversation = result, conversation
        self.packets = self.timeline = self.bars = None
        self._selected = -1
        if result is None or conversation < 0:
            self._show_empty(EMPTY_NONE)
            return
        if not self.applies(result, conversation):
            self._show_empty(self.not_applicable(result, conversation))
            return
        # the sequential state machine starts first, on a worker; its answer is delivered to
        # this thread after the marks and the sequence graph are drawn
        self.jobs.run(f"TCP states of {conversation_name(result, conversation)}",
                      lambda: tcp_timeline(result, conversation), self._timeline_ready,
                      self._timeline_failed)
        packets = conversation_packets(result, conversation)
        self.packets = packets
        self.times = seconds_since_start(packets)
        self._order = np.argsort(self.times, kind="stable")
        self._duration = float(self.times.max()) if self.times.size else 0.0
        self.bar_items.clear()
        for cursor in self.cursors:
            cursor.hide()
        self.marks.set_packets(self.times, packets.direction == packets.client_lane,
                               packets.mark)
        self._choose_direction()
        self._draw_sequence()
        self._update_header()
        self._update_legend()
        self.stack.setCurrentIndex(1)
        self.reset_view()
        self.info.setText(f"Working out the TCP states of {units.count(len(packets))} "
                          "packets…")

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.stack.setCurrentIndex(0)
        self.bar_items.clear()
        self.marks.clear()
        self.seq.clear()
        self.ready.emit()

    def _timeline_ready(self, timeline: Timeline) -> None:
        if self.packets is None or timeline.conversation != self.conversation:
            return
        start = int(self.packets.ts_ns.min())
        self.timeline = timeline
        self.bars = state_bars(timeline, start, int(self.packets.ts_ns.max()))
        self.bar_items.show(self.bars)
        self._update_header()
        self._update_legend()
        self.info.setText(self._packet_text(self._selected) if self._selected >= 0 else
                          "Hover over a mark or a bar for details; click a mark to select "
                          "its packet. Drag to pan, wheel to zoom.")
        self.ready.emit()

    def _timeline_failed(self, message: str) -> None:
        self.info.setText(f"The TCP states could not be worked out: {message}")
        self.ready.emit()

    def _choose_direction(self) -> None:
        """The sequence graph starts on the direction that carried more data."""
        p = self.packets
        assert p is not None
        sent = [int(p.payload[p.direction == lane].sum()) for lane in (0, 1)]
        client = sent[p.client_lane]
        server = sent[1 - p.client_lane]
        self.direction.blockSignals(True)
        self.direction.setCurrentIndex(1 if client >= server else 2)
        self.direction.blockSignals(False)

    def _draw_sequence(self) -> None:
        p = self.packets
        if p is None:
            return
        special = (p.notes & (RETRANSMISSION_KINDS | OUT_OF_ORDER)) != 0
        choice = self.direction.currentIndex()
        sides = {"client": p.client_lane, "server": 1 - p.client_lane}
        wanted = {0: ("client", "server"), 1: ("client",), 2: ("server",)}[choice]
        self.seq.show({side: sequence_series(p, sides[side], self.times, special)
                       for side in wanted})
        self.seq.plot.enableAutoRange(axis="y")

    def reset_view(self) -> None:
        """The whole conversation, its final states a little past the last packet."""
        pad = end_padding(self._duration)
        self.state_plot.setXRange(-pad, self._duration + pad, padding=0)
        self.state_plot.setYRange(SERVER_ROW - 0.55, CLIENT_ROW + 0.55, padding=0)
        self.seq.plot.enableAutoRange(axis="y")

    # -- texts -----------------------------------------------------------------------------------
    def _update_header(self) -> None:
        result, p = self.result, self.packets
        assert result is not None and p is not None
        conv = result.conversations[self.conversation]
        client, server = ("A", "B") if p.client_lane == 0 else ("B", "A")
        parts = [f'{coloured(CLIENT_COLOR, "Client")} {endpoint(conv, client)} → '
                 f'{coloured(SERVER_COLOR, "Server")} {endpoint(conv, server)}',
                 f"{units.count(len(p))} packets over {packet_time(self._duration)}"]
        if self.timeline is not None:
            parts.append(f"status <b>{self.timeline.status}</b>")
            parts.append("ends client {} / server {}".format(
                *(self.timeline.final(e).name for e in ("client", "server"))))
            if self.timeline.partial:
                parts.append("no SYN seen: the client is a guess")
        self.header.setText(" · ".join(parts))

    def _update_legend(self) -> None:
        """Two lines: the states this conversation went through, and the kinds of packets."""
        p = self.packets
        assert p is not None
        kinds = sorted({Mark(int(m)) for m in np.unique(p.mark)})
        marks = "&nbsp;&nbsp;".join(swatch(MARK_COLORS[k], MARK_NAMES[k]) for k in kinds)
        states = "<i>working out…</i>"
        if self.bars is not None:
            states = "&nbsp;&nbsp;".join(swatch(STATE_COLORS[s], s.name) for s in TcpState
                                         if s in self.bars.x0)
        self.legend.setText(f"<b>States:</b>&nbsp; {states}<br><b>Packets:</b>&nbsp; {marks}")

    def _packet_text(self, row: int) -> str:
        p = self.packets
        assert p is not None
        sender = "client → server" if p.direction[row] == p.client_lane else "server → client"
        flags = flag_text(int(p.flags[row])) or "no flags"
        text = (f"Packet {int(p.index[row]) + 1} · {packet_time(float(self.times[row]))} · "
                f"{sender} · {MARK_NAMES[Mark(int(p.mark[row]))]} · [{flags}] · "
                f"seq {int(p.rel_seq[row])}")
        if p.has_ack[row]:
            text += f" ack {int(p.rel_ack[row])}"
        text += f" · {int(p.payload[row])} bytes of payload, {int(p.length[row])} on the wire"
        notes = note_text(p, row)
        return text + (f" · {notes}" if notes else "")

    # -- mouse -----------------------------------------------------------------------------------
    def _row_at(self, widget: pg.PlotWidget, scene_pos: object) -> tuple[int, float, float]:
        """(packet row near the cursor or -1, x, y) in view coordinates."""
        vb = widget.getPlotItem().getViewBox()
        if self.packets is None or not vb.sceneBoundingRect().contains(scene_pos):
            return -1, 0.0, 0.0
        point = vb.mapSceneToView(scene_pos)
        x, y = float(point.x()), float(point.y())
        (x_min, x_max), _ = vb.viewRange()
        tolerance = HOVER_PIXELS * (x_max - x_min) / max(vb.width(), 1.0)
        if widget is self.state_widget and abs(y - PACKET_ROW) > MARK_HALF + 0.2:
            return -1, x, y
        return nearest_packet(self.times, self._order, x, tolerance), x, y

    def _hover(self, widget: pg.PlotWidget, pos: object) -> None:
        row, x, y = self._row_at(widget, pos)
        if row >= 0:
            self.info.setText(self._packet_text(row))
            return
        if widget is self.state_widget and self.bars is not None:
            for endpoint_name, row_y in (("client", CLIENT_ROW), ("server", SERVER_ROW)):
                if abs(y - row_y) <= 0.35:
                    found = self.bars.state_at(endpoint_name, x)
                    if found is not None:
                        state, a, b = found
                        self.info.setText(f"{endpoint_name.capitalize()}: {state.name} from "
                                          f"{packet_time(a)} to {packet_time(b)}")

    def _clicked(self, widget: pg.PlotWidget, event: object) -> None:
        row, _x, _y = self._row_at(widget, event.scenePos())  # type: ignore[attr-defined]
        if row >= 0 and self.packets is not None:
            packet = int(self.packets.index[row])
            self.select_packet(packet)
            self.packetSelected.emit(packet)

    def select_packet(self, packet: int) -> None:
        """Show where packet ``packet`` (capture index) is; ignored if not in this one."""
        if self.packets is None:
            return
        row = self.packets.row_of(packet)
        if row < 0:
            return
        self._selected = row
        for cursor in self.cursors:
            cursor.setValue(float(self.times[row]))
            cursor.show()
        self.info.setText(self._packet_text(row))
