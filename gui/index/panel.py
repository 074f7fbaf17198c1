"""The index view: a filter box, the table of every capture's conversations, the counts.

The filter box takes the capture table's filter language (:mod:`engine.index.filter_sql` turns
it into SQL), the box beside it a part of the capture's path; typing pauses for a moment before
DuckDB filters, Enter filters at once. Right-clicking
a header chooses columns (every column of the index is offered). Selecting a row publishes
where its conversation is (:class:`gui.index.model.IndexRow`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.index.browse import IndexBrowser
from engine.index.filter_sql import HELP, FilterSyntaxError, FilterTranslator, text
from gui import units
from gui.jobs import JobRunner

from .model import IndexModel, IndexRow, column_title

#: typing pauses this long (ms) before the filter runs
FILTER_DELAY_MS = 400


class IndexPanel(QWidget):
    """An index's conversations over all its captures."""

    #: a row was selected: where its conversation is
    conversationChosen = Signal(object)
    #: a row was double-clicked (open its stream)
    conversationActivated = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = IndexModel(runner, self)
        self._translator: FilterTranslator | None = None
        self.title = QLabel(self)
        self.filter = QLineEdit(self)
        self.filter.setClearButtonEnabled(True)
        self.filter.setPlaceholderText("Filter the index: 10.0.0.0/8  port 443  tcp  RSTO  "
                                       "packets>100  duration>2s  not udp")
        self.filter.setToolTip(HELP)
        self.capture_filter = QLineEdit(self)
        self.capture_filter.setClearButtonEnabled(True)
        self.capture_filter.setPlaceholderText("Capture path contains…")
        self.capture_filter.setToolTip("Only the captures whose path contains this text")
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b00020;")
        self.error.hide()
        self.counts = QLabel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(False)  # until a header is clicked
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(
            self.view.fontMetrics().height() + 6)  # fixed row heights: big models stay fast
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        header.sortIndicatorChanged.connect(lambda *_: header.setSortIndicatorShown(True))

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addWidget(self.filter, 3)
        top.addWidget(self.capture_filter, 1)
        top.addWidget(self.counts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(self.view, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DELAY_MS)
        self._timer.timeout.connect(self.apply_filter)
        for edit in (self.filter, self.capture_filter):
            edit.textEdited.connect(lambda _text: self._timer.start())
            edit.returnPressed.connect(self.apply_filter)
        self.model.arranged.connect(self._arranged)
        self.model.arrangeFailed.connect(self._show_error)
        self.model.busyChanged.connect(self._busy)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.view.doubleClicked.connect(self._activated)

    # -- the index -----------------------------------------------------------------------------
    def open_index(self, dataset: str | Path) -> IndexBrowser:
        """Open a dataset folder (raises FlowError when it is not one)."""
        browser = IndexBrowser(dataset)
        self._translator = FilterTranslator(browser.types)
        self.filter.clear()
        self.capture_filter.clear()
        self.error.hide()
        self.title.setText(f"Index {Path(dataset).name}:")
        self.title.setToolTip(str(dataset))
        self.view.horizontalHeader().setSortIndicatorShown(False)
        self.model.set_browser(browser)
        return browser

    def close_index(self) -> None:
        self.model.close()

    # -- filtering -----------------------------------------------------------------------------
    def apply_filter(self) -> None:
        self._timer.stop()
        if self._translator is None:
            return
        try:
            where = self._translator.where(self.filter.text())
        except FilterSyntaxError as exc:
            self._show_error(str(exc))
            return
        part = self.capture_filter.text().strip()
        if part:
            capture = f"contains(capture_path, {text(part)})"
            where = f"({where}) AND {capture}" if where else capture
        self.error.hide()
        if where != self.model.where:
            self.model.set_where(where)

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _busy(self, busy: bool) -> None:
        if busy:
            self.counts.setText("arranging…")

    def _arranged(self) -> None:
        arrangement = self.model.arrangement
        if arrangement is not None:
            self.counts.setText(f"{units.count(arrangement.rows)} conversations")

    # -- columns ------------------------------------------------------------------------------
    def _header_menu(self, pos: QPoint) -> None:
        self.column_menu().exec(self.view.horizontalHeader().mapToGlobal(pos))

    def column_menu(self) -> QMenu:
        """Every column of the index, checked when shown; toggling one arranges again."""
        menu = QMenu("Columns", self)
        browser = self.model.browser
        if browser is None:
            return menu
        shown = self.model.columns
        for name in browser.columns:
            action = menu.addAction(column_title(name))
            action.setToolTip(name)
            action.setCheckable(True)
            action.setChecked(name in shown)
            action.toggled.connect(lambda on, n=name: self.set_column_visible(n, on))
        return menu

    def set_column_visible(self, name: str, visible: bool) -> None:
        columns = [c for c in self.model.columns if c != name]
        if visible:
            columns.append(name)
        self.model.set_columns(columns)

    # -- selection ----------------------------------------------------------------------------
    def selected_row(self) -> IndexRow | None:
        index = self.view.selectionModel().currentIndex()
        return self.model.row_of_index(index.row()) if index.isValid() else None

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.row_of_index(current.row()) if current.isValid() else None
        if row is not None:
            self.conversationChosen.emit(row)

    def _activated(self, index: QModelIndex) -> None:
        row = self.model.row_of_index(index.row()) if index.isValid() else None
        if row is not None:
            self.conversationActivated.emit(row)
