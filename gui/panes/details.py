"""The detail panes under the conversation table, as tabs: Timeline, Stream, Packets, Z-Wave.

Follows the main window: a loaded capture resets every pane, a double-clicked conversation
opens the Stream tab, a selected conversation goes to the pane on show
(``show_conversation(result, id)``); panes not on show are brought up to date when their tab
is opened, so a selection costs only the visible pane's update. A packet chosen in any pane
(``packetSelected``) is selected in the Packets pane and marked on the timeline.
When the open tab does not apply to the selected conversation (the timeline for UDP, the
Z-Wave charts for TCP), the panel turns to one that does.

The Stream tab is :class:`gui.stream_pane.StreamPane` (its own worker; stopped through
``shutdown()`` when the window closes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QSplitter, QTabWidget, QWidget

from engine.packets import Kind
from engine.result import FlowResult
from engine.zwave.protocol import ZWAVE
from gui.jobs import JobRunner
from gui.panes.packets.pane import PacketsPane
from gui.panes.stream.pane import StreamPane
from gui.panes.timeline.pane import TimelinePane
from gui.panes.zwave.data import has_zwave
from gui.panes.zwave.pane import ZWavePane
from gui.table.data import ConversationData

if TYPE_CHECKING:
    from gui.window import MainWindow

TIMELINE, STREAM, PACKETS, ZWAVE_TAB = "Timeline", "Stream", "Packets", "Z-Wave"
#: tabs that apply to a conversation of each kind, the preferred one first
APPLIES: dict[int, tuple[str, ...]] = {
    Kind.TCP: (TIMELINE, STREAM, PACKETS),
    Kind.UDP: (STREAM, PACKETS),
    ZWAVE.kind: (ZWAVE_TAB, PACKETS),
}


class DetailsPanel(QTabWidget):
    """The tabs; :meth:`follow` connects them to a main window."""

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.result: FlowResult | None = None
        self.conversation = -1
        self.timeline = TimelinePane(runner, self)
        self.stream = StreamPane(self)
        self.packets = PacketsPane(runner, self)
        self.zwave = ZWavePane(self)
        self.panes: dict[str, QWidget] = {TIMELINE: self.timeline, STREAM: self.stream,
                                          PACKETS: self.packets, ZWAVE_TAB: self.zwave}
        tips = {TIMELINE: "TCP states of both endpoints, packets and sequence numbers over time",
                STREAM: "The conversation's bytes, as Wireshark's Follow Stream shows them",
                PACKETS: "The conversation's packets; the clicked one dissected",
                ZWAVE_TAB: "ACK and command frames per node pair, over time, and signal strength"}
        for name, pane in self.panes.items():
            self.setTabToolTip(self.addTab(pane, name), tips[name])
            signal = getattr(pane, "packetSelected", None)
            if signal is not None:
                signal.connect(lambda packet, source=name: self.select_packet(packet, source))
        self._shown: dict[str, tuple[int, int]] = {}  # pane → (id(result), conversation)
        self.setTabVisible(self.indexOf(self.zwave), False)
        self.currentChanged.connect(lambda _index: self._refresh_current())

    # -- wiring ------------------------------------------------------------------------------
    def follow(self, window: MainWindow) -> None:
        """Follow ``window``'s captures and selection; stop the panes' work when it closes."""
        window.captureLoaded.connect(self.set_capture)
        window.conversationSelected.connect(self.show_conversation)
        window.conversationActivated.connect(self.show_stream)
        window.installEventFilter(self)

    def below(self, table: QWidget) -> QSplitter:
        """A vertical splitter with ``table`` above this panel."""
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(table)
        split.addWidget(self)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([320, 480])  # the panes' size hints alone would squeeze the table
        split.setChildrenCollapsible(False)
        return split

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop background work (the window is closing)."""
        self.timeline.jobs.shutdown()
        self.packets.shutdown()
        self.stream.shutdown()

    # -- what is shown ---------------------------------------------------------------------------
    def set_capture(self, data: ConversationData | None) -> None:
        self.result = data.result if data is not None else None
        self.conversation = -1
        self._shown.clear()
        zwave = has_zwave(self.result)
        self.setTabVisible(self.indexOf(self.zwave), zwave)
        if zwave and self.result is not None and not (self.result.conversations.kind
                                                     == Kind.TCP).any():
            self.setCurrentWidget(self.zwave)  # a Z-Wave capture: start on its charts
        self._refresh_current()

    def show_conversation(self, conversation: int) -> None:
        self.conversation = conversation
        if self.result is not None and conversation >= 0:
            kind = int(self.result.conversations.kind[conversation])
            applies = APPLIES.get(kind, (PACKETS,))
            if self.tabText(self.currentIndex()) not in applies:
                self.setCurrentWidget(self.panes[applies[0]])
        self._refresh_current()

    def show_stream(self, conversation: int) -> None:
        """A double-clicked conversation opens on its Stream tab (TCP and UDP)."""
        self.show_conversation(conversation)
        if (self.result is not None and conversation >= 0
                and STREAM in APPLIES.get(int(self.result.conversations.kind[conversation]), ())):
            self.setCurrentWidget(self.stream)

    def open_stream(self, conversation: int) -> None:
        """A double click on a row: its stream."""
        self.conversation = conversation
        self.setCurrentWidget(self.stream)
        self._refresh_current()

    def select_packet(self, packet: int, source: str = "") -> None:
        """Select capture packet ``packet`` in the Packets pane and mark it on the timeline
        (``source``: the pane it came from)."""
        if source != PACKETS:
            self._refresh(PACKETS)
            self.packets.select_packet(packet)
        if self._shown.get(TIMELINE) == self._key():
            self.timeline.select_packet(packet)

    def _key(self) -> tuple[int, int]:
        return (id(self.result), self.conversation)

    def _refresh_current(self) -> None:
        self._refresh(self.tabText(self.currentIndex()))

    def _refresh(self, name: str) -> None:
        """Bring pane ``name`` up to date with the selection (nothing if it already is)."""
        pane = self.panes.get(name)
        if pane is None or self._shown.get(name) == self._key():
            return
        self._shown[name] = self._key()
        show = getattr(pane, "show_conversation", None)
        if show is not None:
            show(self.result, self.conversation)
