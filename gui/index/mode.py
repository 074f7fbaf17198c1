"""The main window's index mode: File ▸ Open Index…, and the index table in the table's place.

The index panel shares the table's place with the capture table (one stack above the detail
panes); View ▸ Index Table switches between them once an index is open. Selecting an index row
loads its capture with the options it was indexed with (on the window's loader, with its
progress and Cancel) and selects the conversation in the capture table, which fills the
detail panes; double-clicking a row opens its stream. Opening a capture any other way shows the
capture table again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QSplitter, QStackedWidget

from engine import FlowError
from gui.settings import settings
from gui.table.data import ConversationData

from .model import IndexRow
from .opening import ConversationOpener, index_row_chooser
from .panel import IndexPanel


class IndexMode(QObject):
    """Adds the index view to a main window (see the module docstring)."""

    def __init__(self, window: Any) -> None:
        """``window``: the MainWindow (gui.index sits below gui.window, so it is not named)."""
        super().__init__(window)
        self.window = window
        self.panel = IndexPanel(window.runner)
        self.opener = ConversationOpener(window)
        self.dataset: Path | None = None
        self._table_page = window.view
        self.stack = QStackedWidget()
        splitter = window.view.parentWidget()
        assert isinstance(splitter, QSplitter), "the capture table sits in the details splitter"
        position = splitter.indexOf(window.view)
        self.stack.addWidget(window.view)  # reparents the table out of the splitter
        self.stack.addWidget(self.panel)
        splitter.insertWidget(position, self.stack)

        self.open_action = QAction("Open &Index…", window)
        self.open_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_action.setStatusTip("Open a folder written by flowscope-cli index: the "
                                      "conversations of all its captures in one table")
        self.open_action.triggered.connect(lambda _checked=False: self.open_dialog())
        self.show_action = QAction("&Index Table", window)
        self.show_action.setCheckable(True)
        self.show_action.setEnabled(False)
        self.show_action.setStatusTip("Switch between the open index and the capture table")
        self.show_action.toggled.connect(self.show_index)

        self.panel.conversationChosen.connect(self.open_row)
        self.panel.conversationActivated.connect(lambda row: self.open_row(row, activate=True))
        self._own_load = False
        window.captureLoaded.connect(self._capture_loaded)

    # -- opening an index ----------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(settings().value("index/lastFolder", "") or "")
        folder = QFileDialog.getExistingDirectory(self.window, "Open Index", start)
        if folder:
            self.open_index(folder)

    def open_index(self, dataset: str | Path) -> bool:
        """Show the index in ``dataset``; False (and a message) when it is not one."""
        try:
            self.panel.open_index(dataset)
        except FlowError as exc:
            QMessageBox.warning(self.window, "Open Index", str(exc))
            return False
        self.dataset = Path(dataset)
        settings().setValue("index/lastFolder", str(Path(dataset).parent))
        self.show_action.setEnabled(True)
        self.show_index(True)
        return True

    def show_index(self, on: bool) -> None:
        on = on and self.dataset is not None
        self.stack.setCurrentWidget(self.panel if on else self._table_page)
        self.window.filter_bar.setVisible(not on)  # the index has its own filter box
        if self.show_action.isChecked() != on:
            self.show_action.setChecked(on)

    @property
    def showing_index(self) -> bool:
        return self.stack.currentWidget() is self.panel

    def close(self) -> None:
        self.panel.close_index()

    # -- a row's conversation ----------------------------------------------------------------
    def open_row(self, row: IndexRow, activate: bool = False) -> None:
        browser = self.panel.model.browser
        options = dict(browser.options) if browser is not None else None
        self._own_load = True
        self.window.filter_bar.set_text("")  # the conversation must not be filtered out
        self.opener.open(row.capture_path, index_row_chooser(row), options or None,
                         activate=activate, what=f"conversation {row.id} any more")

    def _capture_loaded(self, _data: ConversationData) -> None:
        """A capture opened from elsewhere (File ▸ Open, a drop) brings its table back."""
        if self._own_load:
            self._own_load = False
        elif self.showing_index:
            self.show_index(False)
