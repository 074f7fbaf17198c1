"""The TCP timeline pane: each endpoint's RFC 793 states as coloured bars, the packets as marks
coloured by kind, and below them one of Wireshark's five TCP stream graphs (Stevens, tcptrace,
throughput, round-trip time, window scaling); the charts share the time axis.

A selection draws at once what numpy gives in a few milliseconds (marks, Stevens graph, from
:func:`engine.packet_notes.conversation_packets`); the state machine over every packet
(:func:`engine.tcp.tcp_timeline`, sequential) runs on a worker and its bars arrive after. The
other graphs' data (:func:`engine.tcp_graphs.stream_graph_data`) is computed on a worker too,
once per conversation and direction. Hovering shows a packet or a state; clicking a packet
selects it (``packetSelected``).
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
from engine.tcp_graphs import StreamGraphData, stream_graph_data
from gui import units
from gui.jobs import JobRunner, LatestJob
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
from gui.panes.timeline.stream_graphs import GRAPH_TIPS, GRAPH_TITLES, GraphKind, StreamGraph
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
RTT_AXES = ("against time", "against sequence number")
EMPTY_NONE = "Select a TCP conversation in the table to see its state timeline."
HINT = ("Hover over a mark, a bar or a point for details; click one to select its packet. "
        "Drag to pan, wheel to zoom.")


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
    #: the graph below the states is drawn (for all but Stevens, from the worker's data)
    graphReady = Signal()

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
        self.graph = QComboBox()
        for kind in GraphKind:
            self.graph.addItem(GRAPH_TITLES[kind])
            self.graph.setItemData(kind, GRAPH_TIPS[kind], Qt.ItemDataRole.ToolTipRole)
        self.graph.setToolTip("Which of Wireshark's TCP stream graphs to show")
        self.graph.currentIndexChanged.connect(self._graph_changed)
        self.direction = QComboBox()
        self.direction.addItems(DIRECTIONS)
        self.direction.setToolTip("Which direction's segments the graph shows (the other side's "
                                  "ACKs, windows and SACK blocks go with them)")
        self.direction.currentIndexChanged.connect(self._draw_graph)
        self.rtt_axis = QComboBox()
        self.rtt_axis.addItems(RTT_AXES)
        self.rtt_axis.setToolTip("Round-trip times against the segment's time or its sequence "
                                 "number")
        self.rtt_axis.currentIndexChanged.connect(self._draw_graph)
        self.rtt_axis.hide()
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
        self.stream = StreamGraph(self)
        self.stream.plot.getAxis("left").setWidth(64)
        self.stream.widget.setMinimumHeight(220)
        self.seq.widget.setMinimumHeight(220)
        self.graph_jobs = LatestJob(self.runner, self)
        self._graph_data: dict[tuple[int, int], StreamGraphData] = {}
        self._graph_for: FlowResult | None = None
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen(HIGHLIGHT_COLOR, width=1.5))
                        for _ in range(3)]
        for plot, cursor in zip((self.state_plot, self.seq.plot, self.stream.plot), self.cursors,
                                strict=True):
            cursor.setZValue(20)
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
        for widget in (self.state_widget, self.seq.widget, self.stream.widget):
            widget.scene().sigMouseMoved.connect(lambda pos, w=widget: self._hover(w, pos))
            widget.scene().sigMouseClicked.connect(lambda ev, w=widget: self._clicked(w, ev))

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.reset_button)
        # the graph's own controls and legend, right above it
        self.graph_legend = QLabel()
        self.graph_legend.setTextFormat(Qt.TextFormat.RichText)
        self.graph_legend.setWordWrap(True)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 2, 0, 0)
        controls.addWidget(QLabel("<b>Graph:</b>"))
        controls.addWidget(self.graph)
        controls.addWidget(self.direction)
        controls.addWidget(self.rtt_axis)
        controls.addSpacing(8)
        controls.addWidget(self.graph_legend, 1)
        self.graphs = QStackedWidget()
        self.graphs.addWidget(self.seq.widget)
        self.graphs.addWidget(self.stream.widget)
        graph_box = QWidget()
        graph_layout = QVBoxLayout(graph_box)
        graph_layout.setContentsMargins(0, 0, 0, 0)
        graph_layout.setSpacing(2)
        graph_layout.addLayout(controls)
        graph_layout.addWidget(self.graphs, 1)
        charts = QSplitter(Qt.Orientation.Vertical)
        charts.addWidget(self.state_widget)
        charts.addWidget(graph_box)
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
        self.graph_jobs.cancel()
        if result is not self._graph_for:
            self._graph_data.clear()
            self._graph_for = result
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
        self._draw_graph()
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
        self.stream.clear()
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
        self.info.setText(self._packet_text(self._selected) if self._selected >= 0 else HINT)
        self.ready.emit()

    def _timeline_failed(self, message: str) -> None:
        self.info.setText(f"The TCP states could not be worked out: {message}")
        self.ready.emit()

    def _busier_direction(self) -> int:
        """The direction item (1 client → server, 2 server → client) that carried more data."""
        p = self.packets
        assert p is not None
        sent = [int(p.payload[p.direction == lane].sum()) for lane in (0, 1)]
        return 1 if sent[p.client_lane] >= sent[1 - p.client_lane] else 2

    def _choose_direction(self) -> None:
        """The graphs start on the direction that carried more data."""
        self.direction.blockSignals(True)
        self.direction.setCurrentIndex(self._busier_direction())
        self.direction.blockSignals(False)

    @property
    def graph_kind(self) -> GraphKind:
        return GraphKind(self.graph.currentIndex())

    def _graph_changed(self) -> None:
        """Stevens may show both directions; the other graphs one (as in Wireshark)."""
        stevens = self.graph_kind == GraphKind.STEVENS
        self.direction.model().item(0).setEnabled(stevens)  # type: ignore[attr-defined]
        self.rtt_axis.setVisible(self.graph_kind == GraphKind.RTT)
        if not stevens and self.direction.currentIndex() == 0 and self.packets is not None:
            self.direction.blockSignals(True)
            self.direction.setCurrentIndex(self._busier_direction())
            self.direction.blockSignals(False)
        self._draw_graph()

    def _draw_graph(self) -> None:
        if self.graph_kind == GraphKind.STEVENS:
            self.graphs.setCurrentIndex(0)
            self._draw_sequence()
            self.graph_legend.setText("")
            self.graphReady.emit()
        else:
            self.graphs.setCurrentIndex(1)
            self._request_stream_graph()

    def _graph_lane(self) -> tuple[int, str]:
        """The lane (0 A→B, 1 B→A) the stream graph shows, and its sender's name."""
        p = self.packets
        assert p is not None
        choice = self.direction.currentIndex()
        if choice == 0:
            choice = self._busier_direction()
        return (p.client_lane, "Client") if choice == 1 else (1 - p.client_lane, "Server")

    def _request_stream_graph(self) -> None:
        result, conversation = self.result, self.conversation
        if self.packets is None or result is None:
            return
        lane, _side = self._graph_lane()
        key = (conversation, lane)
        if key in self._graph_data:
            self._show_stream_graph(self._graph_data[key])
            return
        self.stream.clear()
        self.graph_legend.setText("")
        self.info.setText("Working out the graph…")
        self.graph_jobs.run(f"TCP graph data of {conversation_name(result, conversation)}",
                            lambda: (key, stream_graph_data(result, conversation, lane)),
                            self._stream_graph_ready, self._stream_graph_failed)

    def _stream_graph_ready(self, answer: tuple[tuple[int, int], StreamGraphData]) -> None:
        key, data = answer
        self._graph_data[key] = data
        if self.packets is None or key[0] != self.conversation or \
                self.graph_kind == GraphKind.STEVENS or key[1] != self._graph_lane()[0]:
            return
        self._show_stream_graph(data)

    def _stream_graph_failed(self, message: str) -> None:
        self.info.setText(f"The graph could not be drawn: {message}")
        self.graphReady.emit()

    def _show_stream_graph(self, data: StreamGraphData) -> None:
        _lane, side = self._graph_lane()
        color = CLIENT_COLOR if side == "Client" else SERVER_COLOR
        self.stream.show(self.graph_kind, data, side, color,
                         by_sequence=self.rtt_axis.currentIndex() == 1)
        if self.stream.x_is_time:
            self.stream.plot.setXLink(self.state_plot)
        else:
            self.stream.plot.setXLink(None)
            self.stream.view.autoRange()
        if self._selected >= 0:
            self.cursors[2].setVisible(self.stream.x_is_time)
        self.graph_legend.setText(self.stream.legend_html())
        if self.info.text() == "Working out the graph…":
            self.info.setText(HINT)
        self.graphReady.emit()

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
        self.stream.view.enableAutoRange(axis="y")
        if self.stream.plot.getAxis("right").isVisible():
            self.stream.fit_right()
        if not self.stream.x_is_time:
            self.stream.view.autoRange()

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
        if widget is self.stream.widget:
            picked = self.stream.pick(pos)  # type: ignore[arg-type]
            if picked is not None and self.packets is not None:
                row = self.packets.row_of(picked[0])
                if row >= 0:
                    self.info.setText(f"{self._packet_text(row)} · {picked[1]}")
            return
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
        if widget is self.stream.widget:
            picked = self.stream.pick(event.scenePos())  # type: ignore[attr-defined]
            if picked is not None and self.packets is not None:
                self.select_packet(picked[0])
                self.packetSelected.emit(picked[0])
            return
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
        self.cursors[2].setVisible(self.stream.x_is_time)
        self.info.setText(self._packet_text(row))
