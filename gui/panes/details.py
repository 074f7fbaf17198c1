"""The detail panes under the conversation table, as tabs (:func:`gui.panes.pane_classes`).

Follows the main window: a loaded capture resets every pane and shows the tabs that apply to
it, a double-clicked conversation opens its Stream, a selected conversation goes to the pane on
show (``show_conversation(result, id)``); panes not on show are brought up to date when their
tab is opened, so a selection costs only the visible pane's update. A packet chosen in any pane
(``packetSelected``) is offered to every other pane (``select_packet``). When the open tab does
not apply to the selected conversation (the timeline for UDP, the Z-Wave charts for TCP), the
panel turns to the applicable pane of lowest priority.

Panes are reached by name as attributes (``details.timeline``, ``details.stream``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QSplitter, QTabWidget, QWidget

from engine.protocols import FOLLOW
from engine.result import FlowResult
from gui.jobs import JobRunner
from gui.panes import pane_classes
from gui.panes.base import Pane
from gui.panes.titles import conversation_protocol
from gui.table.data import ConversationData


class DetailsPanel(QTabWidget):
    """The tabs. The main window feeds it captures (:meth:`set_capture`), selections
    (:meth:`show_conversation`) and double clicks (:meth:`show_stream`), and has it watch
    itself (:meth:`watch_close`) so the panes stop their work when it closes."""

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.result: FlowResult | None = None
        self.conversation = -1
        #: every pane by name, in tab order
        self.panes: dict[str, Pane] = {}
        for pane_class in pane_classes():
            pane = pane_class(runner, self)
            self.panes[pane.name] = pane
            self.setTabToolTip(self.addTab(pane, pane.title), pane.tooltip)
            pane.packetSelected.connect(lambda packet, source=pane: self.select_packet(packet,
                                                                                       source))
        self._shown: dict[str, tuple[int, int]] = {}  # pane → (id(result), conversation)
        self._split: QSplitter | None = None
        self._open: bool | None = None  # the panel opened for a selection (None: not yet set)
        self._user_sized = False
        self._show_tabs(set())
        self.currentChanged.connect(lambda _index: self._refresh_current())

    def __getattr__(self, name: str) -> Pane:
        panes = self.__dict__.get("panes", {})
        if name in panes:
            return panes[name]
        raise AttributeError(name)

    # -- wiring ------------------------------------------------------------------------------
    def watch_close(self, window: QWidget) -> None:
        """Stop the panes' work when ``window`` closes."""
        window.installEventFilter(self)

    def below(self, table: QWidget) -> QSplitter:
        """A vertical splitter with ``table`` above this panel.

        While no conversation is selected the panes have nothing to show, so the table gets
        the room and the panel only its tabs and a line of its empty state; selecting a
        conversation opens the panel to three fifths. Once the user drags the handle, the
        split is theirs and stays as they left it.
        """
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(table)
        split.addWidget(self)
        split.setChildrenCollapsible(False)
        split.splitterMoved.connect(self._sized_by_user)
        # the panes' own minimum heights (plots, lists) would keep the panel from folding
        self.setMinimumHeight(self.folded_height())
        self._split = split
        self._fit(selected=False)
        return split

    def _sized_by_user(self) -> None:
        self._user_sized = True

    def _fit(self, selected: bool, again: bool = False) -> None:
        """Open the panel for a selection, or fold it to its tabs while there is none
        (``again``: even if it already is, as after the table's place was rebuilt)."""
        split = self._split
        if split is None or self._user_sized or (selected == self._open and not again):
            return
        self._open = selected
        panel = split.indexOf(self)
        table = 1 - panel  # the table (or whatever holds its place) is the other widget
        total = sum(split.sizes()) or 800  # before the first layout: proportions only
        sizes = [0, 0]
        if selected:
            split.setStretchFactor(table, 2)
            split.setStretchFactor(panel, 3)
            sizes[table] = total * 2 // 5
        else:  # the panel keeps its height when the window grows; the table takes the rest
            split.setStretchFactor(table, 1)
            split.setStretchFactor(panel, 0)
            sizes[table] = max(total - self.folded_height(), self.folded_height())
        sizes[panel] = total - sizes[table]
        split.setSizes(sizes)

    def folded_height(self) -> int:
        """The panel's height while nothing is selected: its tabs and one line below them."""
        return self.tabBar().sizeHint().height() + 2 * self.fontMetrics().height() + 12

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop background work (the window is closing)."""
        for pane in self.panes.values():
            pane.shutdown()

    def release(self) -> None:
        """Every pane lets go of the capture (the window is closing: a closed window holds
        none of a capture's memory, which at 20M packets is hundreds of MB)."""
        self.result, self.conversation = None, -1
        self._shown.clear()
        for pane in self.panes.values():
            pane.show_conversation(None, -1)

    # -- what is shown ---------------------------------------------------------------------------
    def set_capture(self, data: ConversationData | None) -> None:
        result = data.result if data is not None else None
        if self.result is not None and result is not self.result:
            self.release()  # (panes not on top would keep the previous capture alive)
        self.result = result
        self.conversation = -1
        self._fit(selected=False, again=True)
        self._shown.clear()
        present = {p.name for p in data.protocols} if data is not None else set()
        self._show_tabs(present)
        current = self.currentWidget()
        if present and isinstance(current, Pane) and not any(current.applies_to(p)
                                                             for p in present):
            # nothing of this capture shows on the open tab: start on one that applies
            applicable = [pane for pane in self.panes.values()
                          if any(pane.applies_to(p) for p in present)]
            if applicable:
                self.setCurrentWidget(min(applicable, key=lambda pane: pane.priority))
        self._refresh_current()

    def _show_tabs(self, present: set[str]) -> None:
        for pane in self.panes.values():
            self.setTabVisible(self.indexOf(pane), pane.shown_for(present))

    def show_conversation(self, conversation: int) -> None:
        self.conversation = conversation
        self._fit(selected=conversation >= 0 and self.result is not None)
        if self.result is not None and conversation >= 0:
            current = self.currentWidget()
            if not (isinstance(current, Pane) and current.applies(self.result, conversation)):
                protocol = conversation_protocol(self.result, conversation)
                applicable = [pane for pane in self.panes.values()
                              if pane.applies_to(protocol)]
                if applicable:
                    self.setCurrentWidget(min(applicable, key=lambda pane: pane.priority))
        self._refresh_current()

    def show_stream(self, conversation: int) -> None:
        """A double-clicked conversation opens on the pane that shows its bytes, if it has any
        (TCP and UDP)."""
        self.show_conversation(conversation)
        if self.result is None or conversation < 0:
            return
        for pane in self.panes.values():
            if pane.feature == FOLLOW and pane.applies(self.result, conversation):
                self.setCurrentWidget(pane)
                return

    def select_packet(self, packet: int, source: Pane | None = None) -> None:
        """Offer capture packet ``packet`` (picked in ``source``) to the other panes: brought
        up to date first if they are lists (the Packets pane selects it even when hidden),
        marked where they already show this conversation."""
        for pane in self.panes.values():
            if pane is source:
                continue
            if pane.follows_packets:
                self._refresh(pane)
                pane.select_packet(packet)
            elif self._shown.get(pane.name) == self._key():
                pane.select_packet(packet)

    def _key(self) -> tuple[int, int]:
        return (id(self.result), self.conversation)

    def _refresh_current(self) -> None:
        current = self.currentWidget()
        if isinstance(current, Pane):
            self._refresh(current)

    def _refresh(self, pane: Pane) -> None:
        """Bring ``pane`` up to date with the selection (nothing if it already is)."""
        if self._shown.get(pane.name) == self._key():
            return
        self._shown[pane.name] = self._key()
        pane.show_conversation(self.result, self.conversation)
