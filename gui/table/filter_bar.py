"""The bar above the table: the filter box and one toggle button per protocol, with counts.

It turns what the user typed and toggled into one boolean mask over the conversations (via
:func:`gui.filter.filter_mask`); a term it cannot read turns the box red, explains itself in the
tooltip and leaves the table as it was.
"""

from __future__ import annotations

import contextlib

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

from gui import units
from gui.resource_files import resource
from gui.style import INVALID_INPUT_STYLE, PROTOCOL_CHIP_STYLE
from gui.table.data import ConversationData, protocol_title
from gui.table.filter import HELP, FilterError, filter_mask

#: typing pauses this long before the filter is applied (Enter applies at once)
DEBOUNCE_MS = 180

#: protocol toggles look like chips: tinted when shown, plain grey when hidden
_BAR_STYLE = PROTOCOL_CHIP_STYLE
_INVALID_STYLE = INVALID_INPUT_STYLE


class FilterBar(QWidget):
    """Emits ``maskChanged`` (a boolean array, or None for "everything") as the user filters."""

    maskChanged = Signal(object)
    #: the filter text cannot be read: the message (empty string when it is fine again)
    errorChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data: ConversationData | None = None
        self._buttons: dict[str, QToolButton] = {}
        self.error = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.edit = QLineEdit(self)
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("Filter conversations:  10.0.0.1   port 443   tcp   RSTO   "
                                     "packets>100   !udp")
        self.edit.setToolTip(HELP)
        self.edit.setMinimumWidth(280)
        self.edit.setAcceptDrops(False)  # a file dropped here opens it (the window takes it)
        with contextlib.suppress(FileNotFoundError):  # an installation without icons
            self.edit.addAction(QIcon(str(resource("icons/filter.svg"))),
                                QLineEdit.ActionPosition.LeadingPosition)
        self.setStyleSheet(_BAR_STYLE)
        layout.addWidget(self.edit, 1)
        self._protocols = QHBoxLayout()
        self._protocols.setSpacing(2)
        layout.addLayout(self._protocols)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.apply)
        self.edit.textChanged.connect(lambda _text: self._timer.start())
        self.edit.returnPressed.connect(self.apply)

    # -- data --------------------------------------------------------------------------------
    def set_conversations(self, data: ConversationData | None) -> None:
        """New capture: one button per protocol it has (all on); the typed filter is kept."""
        self._data = data
        for button in self._buttons.values():
            self._protocols.removeWidget(button)
            button.deleteLater()
        self._buttons = {}
        if data is not None:
            for p in data.protocols:
                button = QToolButton(self)
                button.setObjectName("protocol")
                button.setCheckable(True)
                button.setChecked(True)
                button.setText(f"{protocol_title(p.name)}  {units.count(p.conversations)}")
                button.setToolTip(f"Show {protocol_title(p.name)} conversations "
                                  f"({units.count(p.conversations)} conversations, "
                                  f"{units.count(p.packets)} packets)")
                button.toggled.connect(lambda _on: self.apply())
                self._protocols.addWidget(button)
                self._buttons[p.name] = button
        self.apply()

    def set_protocol_shown(self, name: str, shown: bool) -> None:
        self._buttons[name].setChecked(shown)

    def protocol_buttons(self) -> dict[str, QToolButton]:
        return dict(self._buttons)

    # -- filtering ---------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Type ``text`` and apply it now (what Enter does)."""
        self.edit.setText(text)
        self.apply()

    def apply(self) -> None:
        self._timer.stop()
        data = self._data
        if data is None:
            self._set_error("")
            return
        try:
            mask = filter_mask(self.edit.text(), data)
        except FilterError as exc:
            self._set_error(str(exc))
            return
        self._set_error("")
        hidden = [name for name, b in self._buttons.items() if not b.isChecked()]
        if hidden:
            shown = ~np.isin(data.protocol, hidden)
            mask = shown if mask is None else mask & shown
        self.maskChanged.emit(mask)

    def _set_error(self, message: str) -> None:
        if message == self.error:
            return
        self.error = message
        self.edit.setStyleSheet(_INVALID_STYLE if message else "")
        self.edit.setToolTip(message or HELP)
        self.errorChanged.emit(message)
