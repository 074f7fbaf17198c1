"""The Application pane: one conversation's application record (``engine.app.transactions``).

The engine reads the conversation on a worker and returns sections of lines — every HTTP request
and response, every DNS message, the TLS handshake with the certificate chain, SSH
identification, the FTP dialogue and the data connections it opened. The pane only shows them:
a line that came from a packet selects that packet when clicked, a line that names another
conversation (an FTP data connection, its control connection) selects that conversation.
Copy puts the whole record on the clipboard as text.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.app import AppDetail, transactions
from engine.result import FlowResult
from gui.jobs import JobRunner
from gui.panes.base import Pane
from gui.panes.titles import name, title
from gui.style import LINK_COLOR, MUTED_STYLE, monospace_font

PACKET_ROLE = int(Qt.ItemDataRole.UserRole) + 1
CONVERSATION_ROLE = int(Qt.ItemDataRole.UserRole) + 2
EMPTY_NONE = "Select a TCP or UDP conversation in the table to see its application layer."

#: the summary's JSON groups, as the header names them
_GROUPS = (("tls", "TLS"), ("quic", "QUIC"), ("http", "HTTP"), ("dns", "DNS"), ("ssh", "SSH"),
           ("ftp", "FTP"))


class ApplicationPane(Pane):
    """``show_conversation`` reads a conversation's application record on a worker;
    ``packetSelected`` / ``conversationRequested`` report a clicked line's packet or
    conversation."""

    name = "application"
    title = "Application"
    tooltip = ("What the conversation said: HTTP requests, DNS messages, the TLS handshake and "
               "certificates, SSH and mail banners, FTP commands and data connections")
    protocols = frozenset({"tcp", "udp"})
    priority = 30

    #: the record is shown (or reading it failed)
    ready = Signal()

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.result: FlowResult | None = None
        self.conversation = -1
        self.detail: AppDetail | None = None

        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header.setWordWrap(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the whole record as text (Ctrl+C)")
        self.copy_button.clicked.connect(self.copy)
        self.copy_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)

        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setFont(monospace_font())
        self.tree.setToolTip("Click a line to select its packet (or the conversation it names)")
        self.tree.itemClicked.connect(self._clicked)
        QShortcut(QKeySequence.StandardKey.Copy, self.tree, self.copy)

        self.note = QLabel()
        self.note.setStyleSheet(MUTED_STYLE)
        content = QWidget()
        box = QVBoxLayout(content)
        box.setContentsMargins(4, 4, 4, 2)
        box.setSpacing(3)
        box.addLayout(top)
        box.addWidget(self.tree, 1)
        box.addWidget(self.note)
        self.empty = self.empty_label(EMPTY_NONE)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # -- showing a conversation ----------------------------------------------------------------
    def show_conversation(self, result: FlowResult | None, conversation: int) -> None:
        self.jobs.cancel()
        self.result, self.conversation, self.detail = result, conversation, None
        self.tree.clear()
        self.copy_button.setEnabled(False)
        if result is None or conversation < 0:
            self._show_empty(EMPTY_NONE)
            return
        if not self.applies(result, conversation):
            self._show_empty(self.not_applicable(result, conversation))
            return
        self.header.setText(f"<b>{escape(title(result, conversation))}</b>")
        self.note.setText("Reading the conversation…")
        self.stack.setCurrentIndex(1)
        self.jobs.run(f"Application layer of {name(result, conversation)}",
                      lambda: transactions(result, conversation), self._show_detail,
                      self._failed)

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.stack.setCurrentIndex(0)
        self.ready.emit()

    def _failed(self, message: str) -> None:
        self.note.setText(message)
        self.ready.emit()

    def _show_detail(self, detail: AppDetail) -> None:
        self.detail = detail
        self.header.setText(header_text(detail, title(self.result, self.conversation))
                            if self.result is not None else "")
        self.tree.clear()
        for section in detail.sections:
            top = QTreeWidgetItem([section.title])
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for line in section.lines:
                item = QTreeWidgetItem([line.text])
                if line.packet is not None:
                    item.setData(0, PACKET_ROLE, line.packet)
                if line.conversation is not None:
                    item.setData(0, CONVERSATION_ROLE, line.conversation)
                    item.setForeground(0, LINK_COLOR)
                    item.setToolTip(0, "Click to select this conversation")
                top.addChild(item)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        if not detail.sections:
            service = detail.service or "not identified"
            self.tree.addTopLevelItem(QTreeWidgetItem([
                f"Service: {service}. Nothing more to list for this protocol."]))
        self.note.setText(detail.note)
        self.copy_button.setEnabled(True)
        self.ready.emit()

    # -- the user's picks -----------------------------------------------------------------------
    def _clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        conversation = item.data(0, CONVERSATION_ROLE)
        if conversation is not None:
            self.conversationRequested.emit(int(conversation))
            return
        packet = item.data(0, PACKET_ROLE)
        if packet is not None:
            self.packetSelected.emit(int(packet))

    def copy(self) -> None:
        if self.detail is not None:
            QGuiApplication.clipboard().setText(self.detail.text())


def header_text(detail: AppDetail, conversation_title: str) -> str:
    """The pane's heading: which conversation, its service and server name, endpoint names."""
    s = detail.summary
    parts = [f"<b>{escape(conversation_title)}</b>"]
    service = s.get("service")
    if service:
        by = " (guessed from the port)" if s.get("service_by") == "port" else ""
        parts.append(f"service <b>{escape(service)}</b>{by}")
    if s.get("server_name"):
        parts.append(f"server name <b>{escape(s['server_name'])}</b>")
    names = [escape(s[k]) for k in ("a_name", "b_name") if s.get(k)]
    if names:
        parts.append("names from the capture's DNS: " + ", ".join(names))
    for key, label in _GROUPS:
        group = s.get(key)
        if isinstance(group, dict):
            shown = ", ".join(f"{k} {v if not isinstance(v, list) else ' '.join(v)}"
                              for k, v in group.items() if v is not None and k not in
                              ("ja3", "ja3s", "ja4", "cert_subject", "cert_issuer",
                               "cert_not_before", "cert_not_after"))
            if shown:
                parts.append(f"{label}: {escape(shown)}")
    if s.get("banner"):
        parts.append(f"banner: {escape(s['banner'])}")
    return " · ".join(parts)
