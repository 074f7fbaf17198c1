"""The Stream pane: the selected conversation's bytes, as Wireshark's Follow Stream shows them.

``show_conversation(result, row)`` starts a :class:`StreamJob` on the pane's worker pool: TCP is
reassembled by the engine (``engine.tcp``), UDP gives its datagrams in order; other protocols
get a sentence saying why there is no stream. For a long conversation the job first lays out
its first ``PREVIEW_PACKETS`` packets, so the first screen appears at once while the rest is
reassembled; the whole stream then replaces the preview where the user is looking.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine import FlowResult, LoadCancelled
from engine.follow.conversation import (
    conversation_packet_count,
    conversation_stream,
    has_stream,
    no_stream_reason,
)
from engine.protocols import FOLLOW
from gui import units
from gui.jobs import PROGRESS_INTERVAL, Job, JobRunner
from gui.panes.base import Pane
from gui.panes.stream.layout import StreamDocument
from gui.panes.stream.search import needle_for
from gui.panes.stream.view import StreamView
from gui.panes.titles import name as conversation_name
from gui.style import STREAM_NOTE_STYLE, STREAM_STYLES

#: packets laid out first for a quick first screen of a long conversation
PREVIEW_PACKETS = 2000
EMPTY_NOTHING_SELECTED = "Select a TCP or UDP conversation to see its stream."
EMPTY_NO_PAYLOAD = "This conversation carries no payload bytes."
MODE_CHOICES = (("text", "Text (UTF-8)"), ("hex", "Hex dump"), ("raw", "Raw hex"))
DIRECTION_CHOICES = (("both", "Both directions"), ("a-to-b", "A→B only"),
                     ("b-to-a", "B→A only"))


class StreamJob(Job):
    """One conversation's stream, laid out: a preview first (as a progress report) when the
    conversation is long, then the whole stream."""

    def __init__(self, result: FlowResult, conversation: int) -> None:
        super().__init__(f"Reading the stream of {conversation_name(result, conversation)}")
        self.result = result
        self.conversation = conversation
        self.preview = conversation_packet_count(result, conversation) > 5 * PREVIEW_PACKETS
        self._last = 0.0

    def work(self) -> StreamDocument:
        if self.preview:
            first = self._document(PREVIEW_PACKETS)
            if self.is_cancelled:
                first.close()
                raise LoadCancelled("cancelled")
            self.progress.emit(self, first)
        return self._document(None)

    def _document(self, first_packets: int | None) -> StreamDocument:
        stream = conversation_stream(self.result, self.conversation, self._cancel.is_set,
                                     self._report if first_packets is None else None,
                                     first_packets)
        try:
            return StreamDocument(stream, self._cancel.is_set, complete=first_packets is None)
        except BaseException:
            stream.close()
            raise

    def _report(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL or done >= total:
            self._last = now
            self.progress.emit(self, done / total if total else 1.0)

    def discard(self, result: Any) -> None:
        result.close()


def endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class FindBar(QWidget):
    """Find text (or hex bytes) forward and backward; Enter = next, Shift+Enter = previous."""

    findRequested = Signal(str, bool, bool)  # query, forward, match case
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Find text (hex bytes such as 47 45 54 in the hex modes)")
        self.edit.setClearButtonEnabled(True)
        self.edit.returnPressed.connect(lambda: self.request(True))
        self.case = QCheckBox("Match case", self)
        self.previous = QPushButton("Previous", self)
        self.previous.setToolTip("Find the previous match (Shift+Enter, Shift+F3)")
        self.previous.clicked.connect(lambda: self.request(False))
        self.next = QPushButton("Next", self)
        self.next.setToolTip("Find the next match (Enter, F3)")
        self.next.clicked.connect(lambda: self.request(True))
        self.status = QLabel(self)
        self.status.setMinimumWidth(110)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Close the find bar (Esc)")
        close.clicked.connect(self.close_bar)
        row.addWidget(QLabel("Find:", self))
        row.addWidget(self.edit, 1)
        row.addWidget(self.case)
        row.addWidget(self.previous)
        row.addWidget(self.next)
        row.addWidget(self.status)
        row.addWidget(close)
        back = QShortcut(QKeySequence("Shift+Return"), self.edit)
        back.setContext(Qt.ShortcutContext.WidgetShortcut)
        back.activated.connect(lambda: self.request(False))
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.close_bar)
        self.edit.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+F in the find box selects its text (rather than the window's filter)."""
        if (watched is self.edit and isinstance(event, QKeyEvent)
                and event.matches(QKeySequence.StandardKey.Find)):
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                self.edit.selectAll()
            return True
        return False

    def request(self, forward: bool) -> None:
        if self.edit.text():
            self.findRequested.emit(self.edit.text(), forward, self.case.isChecked())

    def open_bar(self) -> None:
        self.show()
        self.edit.setFocus()
        self.edit.selectAll()

    def close_bar(self) -> None:
        self.hide()
        self.status.clear()
        self.closed.emit()


class StreamPane(Pane):
    """Mode and direction, a summary line, the stream view, a find bar and Export;
    ``packetSelected`` reports the packet of a clicked byte."""

    name = "stream"
    title = "Stream"
    tooltip = "The conversation's bytes, as Wireshark's Follow Stream shows them"
    feature = FOLLOW
    priority = 20

    #: the whole stream is shown (the document), or nothing (None) for an empty state
    streamShown = Signal(object)
    #: the preview of a long conversation is shown (the document)
    previewShown = Signal(object)
    #: a load failed: the engine's sentence
    streamFailed = Signal(str)

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self._job: StreamJob | None = None
        self._document: StreamDocument | None = None

        self.mode = QComboBox(self)
        for key, label in MODE_CHOICES:
            self.mode.addItem(label, key)
        self.mode.setToolTip("Text: UTF-8, other bytes as dots. Hex dump: 16 bytes a line "
                             "with offsets. Raw hex: the bytes as hex digits.")
        self.direction = QComboBox(self)
        for key, label in DIRECTION_CHOICES:
            self.direction.addItem(label, key)
        self.find_button = QPushButton("Find…", self)
        self.find_button.setToolTip("Find in the stream (Ctrl+F)")
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("Save this stream (raw, hex dump, ASCII, C arrays, YAML) "
                                      "or its packets as pcap (Ctrl+E)")
        self.export_button.setEnabled(False)
        self.legend = [QLabel(self), QLabel(self)]
        for label, style in zip(self.legend, STREAM_STYLES, strict=True):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setStyleSheet(f"QLabel {{ color: {style.foreground.name()}; background: "
                                f"{style.background.name()}; padding: 2px 6px; "
                                f"border-left: 4px solid {style.foreground.name()}; }}")
        self.summary = QLabel(self)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(self)  # copy results and other passing remarks
        self.note.setStyleSheet(STREAM_NOTE_STYLE)
        self.view = StreamView(self)
        self.find_bar = FindBar(self)
        self.find_bar.hide()

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("Show:", self))
        controls.addWidget(self.mode)
        controls.addWidget(QLabel("Direction:", self))
        controls.addWidget(self.direction)
        controls.addStretch(1)
        controls.addWidget(self.find_button)
        controls.addWidget(self.export_button)
        legend = QHBoxLayout()
        legend.setContentsMargins(0, 0, 0, 0)
        legend.addWidget(self.legend[0])
        legend.addWidget(self.legend[1])
        legend.addStretch(1)
        legend.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addLayout(legend)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.find_bar)

        self.mode.currentIndexChanged.connect(
            lambda _i: self.view.set_mode(self.mode.currentData()))
        self.direction.currentIndexChanged.connect(
            lambda _i: self.view.set_direction(self.direction.currentData()))
        self.view.packetSelected.connect(self.packetSelected)
        self.view.message.connect(self.note.setText)
        self.find_button.clicked.connect(self.find_bar.open_bar)
        self.find_bar.findRequested.connect(self.find)
        self.find_bar.closed.connect(self._find_closed)
        self.export_button.clicked.connect(self.export)
        # Ctrl+F, F3 and Shift+F3 in the view (and Ctrl+F in the find box) are handled where
        # the focus is, so the window's own Ctrl+F (the filter) does not compete with them
        self.view.findRequested.connect(self._find_key)
        for keys, forward in ((QKeySequence.StandardKey.FindNext, True),
                              (QKeySequence.StandardKey.FindPrevious, False)):
            shortcut = QShortcut(QKeySequence(keys), self.find_bar)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda forward=forward: self.find_bar.request(forward))
        self._show_empty(EMPTY_NOTHING_SELECTED)

    # -- state -------------------------------------------------------------------------------
    @property
    def document(self) -> StreamDocument | None:
        """What the view shows (a preview while a long stream loads)."""
        return self._document

    @property
    def loading(self) -> bool:
        return self._job is not None

    def show_conversation(self, result: FlowResult | None, conversation: int) -> None:
        """Show conversation ``conversation`` (a row of ``result.conversations``; -1: none)."""
        self._stop_job()
        self.result = result
        self.conversation = conversation
        self._set_legend(None)
        if result is None or conversation < 0:
            self._show_empty(EMPTY_NOTHING_SELECTED)
            return
        self.export_button.setEnabled(has_stream(result, conversation))
        if not has_stream(result, conversation):
            self._show_empty(no_stream_reason(result, conversation))
            return
        self._set_document(None)
        self.view.set_empty_text("Reading the stream…")
        self.summary.setText("Reading the stream…")
        job = StreamJob(result, conversation)
        job.progress.connect(self._job_progress)
        job.finished.connect(self._job_finished)
        job.errored.connect(self._job_failed)
        job.cancelled.connect(self._job_cancelled)
        self._job = job
        self.runner.start(job)

    def clear(self) -> None:
        self.show_conversation(None, -1)

    def shutdown(self) -> None:
        """Stop the worker and release the stream (the window is closing)."""
        self._stop_job()
        super().shutdown()
        self._set_document(None)

    def _stop_job(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job = None

    def _show_empty(self, text: str) -> None:
        self._set_document(None)
        self.view.set_empty_text(text)
        self.summary.setText("")
        if self.result is None or self.conversation < 0:
            self.export_button.setEnabled(False)
        self.streamShown.emit(None)

    def _set_document(self, document: StreamDocument | None, keep_position: bool = False
                      ) -> None:
        old = self._document
        self._document = document
        self.view.set_document(document, keep_position)
        if old is not None and old is not document:
            old.close()

    def _set_legend(self, document: StreamDocument | None) -> None:
        if document is None:
            for label in self.legend:
                label.hide()
            return
        stream = document.stream
        a, b = endpoint(*stream.a), endpoint(*stream.b)
        self.legend[0].setText(f"A→B  {a} → {b}  ·  {units.count(document.bytes[0])} bytes")
        self.legend[1].setText(f"B→A  {b} → {a}  ·  {units.count(document.bytes[1])} bytes")
        for label in self.legend:
            label.show()

    def _summary(self, document: StreamDocument, extra: str = "") -> str:
        def plural(n: int, word: str) -> str:
            return f"{units.count(n)} {word}{'' if n == 1 else 's'}"

        client, server = document.packets
        parts = [plural(client, "client packet"), plural(server, "server packet"),
                 plural(document.turns, "turn"),
                 f"{units.count(document.missing)} bytes missing"]
        text = ", ".join(parts)
        limits = list(document.stream.limits)
        if limits:
            text += " — " + "; ".join(limits)
        return text + extra

    # -- job results ---------------------------------------------------------------------------
    def _job_progress(self, job: Job, payload: object) -> None:
        if job is not self._job:
            if isinstance(payload, StreamDocument):
                payload.close()
            return
        if isinstance(payload, StreamDocument):
            self._show_document(payload)
            self.summary.setText(self._summary(payload, " so far — reading the rest of the "
                                                        "stream…"))
            self.previewShown.emit(payload)
        elif isinstance(payload, float) and self._document is not None:
            self.summary.setText(self._summary(
                self._document, f" so far — reading the rest of the stream: {payload:.0%}"))
        elif isinstance(payload, float):
            self.summary.setText(f"Reading the stream: {payload:.0%}")

    def _job_finished(self, job: Job, document: StreamDocument) -> None:
        if job is not self._job:
            document.close()
            return
        self._job = None
        self._show_document(document)
        self.summary.setText(self._summary(document))
        self.streamShown.emit(document)

    def _show_document(self, document: StreamDocument) -> None:
        keep = self._document is not None and not self._document.complete
        self._set_document(document, keep_position=keep)
        self._set_legend(document)
        if not document.bytes[0] and not document.bytes[1] and not document.stream.gaps:
            self.view.set_empty_text(EMPTY_NO_PAYLOAD)

    def _job_failed(self, job: Job, message: str) -> None:
        if job is not self._job:
            return
        self._job = None
        self._show_empty(message)
        self.streamFailed.emit(message)

    def _job_cancelled(self, job: Job) -> None:
        if job is self._job:  # cancelled by someone else: show nothing half-done
            self._job = None
            self._show_empty(EMPTY_NOTHING_SELECTED)

    # -- find and export -----------------------------------------------------------------------
    def find(self, query: str, forward: bool = True, match_case: bool = False) -> bool:
        """Select the next (or previous) match; the find bar says if there is none."""
        needle = needle_for(query, self.view.mode)
        match = self.view.find(needle, forward, match_case)
        if match is None:
            self.find_bar.status.setText("Not found")
            return False
        self.find_bar.status.setText("Wrapped around" if match.wrapped else "")
        return True

    def _find_key(self, step: int) -> None:
        if step == 0 or not self.find_bar.edit.text():
            self.find_bar.open_bar()
        else:
            self.find_bar.request(step > 0)

    def _find_closed(self) -> None:
        self.view.clear_match()
        self.view.setFocus()

    def export(self) -> None:
        """The Export Stream dialog for the conversation shown."""
        if self.result is None or not has_stream(self.result, self.conversation):
            return
        from gui.panes.stream.export import StreamExportDialog

        dialog = StreamExportDialog(self.result, self.conversation, self,
                                    direction=self.view.direction)
        dialog.open()
