"""What every detail pane is: the contract the details panel relies on, and what panes share.

A pane declares, as class attributes, its ``name`` (also the details panel's attribute for it:
``details.timeline``), the tab's ``title`` and ``tooltip``, which protocols it applies to
(``protocols``: registry names, or ``feature``: a feature of the protocol registry such as
``FOLLOW``; neither: every conversation) and its ``priority`` (when the selected conversation's
protocol changes, the panel turns to the applicable pane with the lowest). It implements
``show_conversation(result, conversation)``; the panel calls it only while the pane is on show.
A pane reports a packet the user picked with ``packetSelected``, does slow work through
``self.jobs`` (the window's job runner: newest request wins), and shows a sentence instead of
charts when there is nothing to draw (:meth:`empty_label`).
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QWidget

from engine.protocols import PROTOCOLS, protocol_title
from engine.result import FlowResult
from gui.jobs import JobRunner, LatestJob
from gui.panes.titles import conversation_protocol, name
from gui.style import EMPTY_STATE_STYLE


class Pane(QWidget):
    """Base class of the detail panes (see the module's docstring)."""

    #: a packet the user picked in this pane (its index in the capture)
    packetSelected = Signal(int)
    #: another conversation the user picked in this pane (its id): the table selects it
    conversationRequested = Signal(int)

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    tooltip: ClassVar[str] = ""
    #: registry names of the protocols it applies to (None: decided by ``feature``, or all)
    protocols: ClassVar[frozenset[str] | None] = None
    #: a protocol registry feature the protocols it applies to have (engine.protocols)
    feature: ClassVar[str | None] = None
    #: lower is preferred when the panel picks a pane for a newly selected conversation
    priority: ClassVar[int] = 50
    #: the tab is shown only for captures with a conversation it applies to (else always)
    only_when_present: ClassVar[bool] = False
    #: a packet picked in another pane is selected here even while the pane is hidden (the
    #: packet list); other panes only mark it when they already show its conversation
    follows_packets: ClassVar[bool] = False

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: the window's job pool (whose owner waits for it on close), or the pane's own
        self.runner = runner if runner is not None else JobRunner(self)
        self._own_runner = runner is None
        self.jobs = LatestJob(self.runner, self)
        #: what the pane shows: a capture's result and a conversation of it (-1: none)
        self.result: FlowResult | None = None
        self.conversation = -1

    # -- what it applies to ------------------------------------------------------------------
    @classmethod
    def applies_to(cls, protocol: str) -> bool:
        """Whether the pane has something to show for conversations of ``protocol``."""
        if cls.protocols is not None:
            return protocol in cls.protocols
        if cls.feature is not None:
            p = PROTOCOLS.get(protocol)
            return p is not None and cls.feature in p.features
        return True

    @classmethod
    def applies(cls, result: FlowResult | None, conversation: int) -> bool:
        if result is None or not 0 <= conversation < len(result.conversations):
            return False
        return cls.applies_to(conversation_protocol(result, conversation))

    @classmethod
    def shown_for(cls, protocols: set[str]) -> bool:
        """Whether the tab is shown for a capture with conversations of ``protocols``."""
        return not cls.only_when_present or any(cls.applies_to(p) for p in protocols)

    @classmethod
    def not_applicable(cls, result: FlowResult, conversation: int) -> str:
        """Why the pane shows nothing for this conversation, as a sentence."""
        titles = [p.title for p in PROTOCOLS.values() if cls.applies_to(p.name)]
        having = " and ".join([", ".join(titles[:-1]), titles[-1]] if len(titles) > 1
                              else titles)
        what = protocol_title(conversation_protocol(result, conversation))
        return (f"{cls.title} is shown for {having} conversations; {name(result, conversation)}"
                f" is {what}.")

    # -- showing -----------------------------------------------------------------------------
    def show_conversation(self, result: FlowResult | None, conversation: int) -> None:
        raise NotImplementedError

    def select_packet(self, packet: int) -> None:
        """Mark capture packet ``packet`` (picked in another pane), if this pane shows it."""

    @staticmethod
    def empty_label(text: str = "") -> QLabel:
        """The sentence a pane shows instead of its content."""
        label = QLabel(text, alignment=Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setStyleSheet(EMPTY_STATE_STYLE)
        return label

    # -- stopping ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop background work; a pane on its own waits for its worker (in the window, the
        window's runner does)."""
        self.jobs.cancel()
        if self._own_runner:
            self.runner.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

