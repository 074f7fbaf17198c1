"""The bar above the table: the filter box and one toggle button per protocol, with counts.

It turns what the user typed and toggled into one boolean mask over the conversations (the
engine's filter language, :mod:`engine.filter`); text it cannot read turns the box red, shows
the message with a caret under the offending characters in the tooltip, and leaves the table
as it was.
"""

from __future__ import annotations

import contextlib
import html

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

from engine.filter import HELP, FilterError, compile_filter
from gui import units
from gui.resource_files import resource
from gui.style import INVALID_INPUT_STYLE, PROTOCOL_CHIP_STYLE
from gui.table.data import ConversationData, ProtocolCount, protocol_title

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
        self.edit.setPlaceholderText("Filter conversations:  10.0.0.1   port 80 or port 443   "
                                     "bytes>30k   RSTO   !udp")
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
        """New capture (or newer numbers of the one loading): one button per protocol it has
        (on, unless the user turned that protocol off meanwhile); the typed filter is kept.
        Newer numbers for the same protocols relabel the buttons in place: a loading table
        refreshes every second, and making the buttons anew each time (a widget, its style
        and the layout's) took a fifth of a refresh."""
        names = [p.name for p in data.protocols] if data is not None else []
        loading = data is not None and self._data is not None and self._data.loading
        if loading and names == list(self._buttons):
            self._data = data
            for p in data.protocols:
                self._label(self._buttons[p.name], p)
            self.apply()
            return
        off = ({name for name, b in self._buttons.items() if not b.isChecked()}
               if loading else set())
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
                button.setChecked(p.name not in off)
                self._label(button, p)
                button.toggled.connect(lambda _on: self.apply())
                self._protocols.addWidget(button)
                self._buttons[p.name] = button
        self.apply()

    @staticmethod
    def _label(button: QToolButton, p: ProtocolCount) -> None:
        button.setText(f"{protocol_title(p.name)}  {units.count(p.conversations)}")
        button.setToolTip(f"Show {protocol_title(p.name)} conversations "
                          f"({units.count(p.conversations)} conversations, "
                          f"{units.count(p.packets)} packets)")

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
            self._set_error(None)
            return
        try:
            mask = compile_filter(self.edit.text(), data.filter_columns).mask(
                data.filter_columns)
        except FilterError as exc:
            self._set_error(exc)
            return
        self._set_error(None)
        hidden = [name for name, b in self._buttons.items() if not b.isChecked()]
        if hidden:
            shown = ~np.isin(data.protocol, hidden)
            mask = shown if mask is None else mask & shown
        self.maskChanged.emit(mask)

    def _set_error(self, exc: FilterError | None) -> None:
        message = "" if exc is None else str(exc)
        if message == self.error:
            return
        self.error = message
        self.edit.setStyleSheet(_INVALID_STYLE if message else "")
        self.edit.setToolTip(HELP if exc is None else _error_tip(exc))
        self.errorChanged.emit(message)


def _error_tip(exc: FilterError) -> str:
    """The filter with a caret under the offending characters, then what was expected."""
    return (f"<pre>{html.escape(exc.caret())}</pre><p>{html.escape(exc.message)}"
            f" (at character {exc.column}).</p>")
