"""The conversation table widget: fixed row heights, sized columns, a column menu, empty states.

Column widths come from the header, a sample text and the first rows shown — never from
``ResizeToContents``, which would measure every one of a million rows.
"""

from __future__ import annotations

import contextlib

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QFontDatabase, QPainter, QPaintEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from gui.jobs import GUI_TURN
from gui.style import TABLE_HEADER_STYLE
from gui.table.columns import default_hidden
from gui.table.model import ConversationModel

#: rows measured when sizing columns after a load (about a screenful)
MEASURED_ROWS = 60
MAX_COLUMN_WIDTH = 340


class ConversationView(QTableView):
    """Shows a :class:`ConversationModel`; publishes the selected conversation's id."""

    #: the current conversation changed: its id, or -1 when none is selected
    conversationSelected = Signal(int)
    #: a row was double-clicked or Enter pressed on it (the stream pane will open it)
    conversationActivated = Signal(int)
    #: the user hid or showed columns: the keys hidden, and the default-hidden keys shown
    columnChoicesChanged = Signal(list, list)

    def __init__(self, model: ConversationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._hidden: set[str] = set()
        self._fitted: set[int] = set()  # columns sized since the last reset
        self._shown: set[str] = set()
        self._selected_id = -1
        self._header_blocked = False
        self.empty_text = "No capture loaded"
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        vertical = self.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSortIndicatorShown(True)
        header.setSortIndicatorClearable(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # flat sections with room on the right for the sort arrow, so it never covers a
        # right-aligned title
        header.setStyleSheet(
            TABLE_HEADER_STYLE)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.selectionModel().currentRowChanged.connect(self._current_changed)
        model.modelReset.connect(self._after_reset)
        model.columnsInserted.connect(self._columns_inserted)
        model.layoutAboutToBeChanged.connect(self._hold_header)
        model.layoutChanged.connect(self._layout_changed)
        model.layoutChanged.connect(self._publish_current)
        self.doubleClicked.connect(self._activated)

    # -- selection ---------------------------------------------------------------------------
    @property
    def selected_id(self) -> int:
        return self._selected_id

    def selected_ids(self) -> np.ndarray:
        """Ids of the selected rows in display order."""
        rows = sorted(index.row() for index in self.selectionModel().selectedRows())
        return self._model.ids[rows].copy() if rows else np.zeros(0, dtype=np.int64)

    def select_conversation(self, conversation_id: int) -> bool:
        """Select and show a conversation's row; False if it is filtered out."""
        row = self._model.row_of(conversation_id)
        if row < 0:
            return False
        self.selectRow(row)
        self.scrollTo(self._model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._publish_current()

    def _publish_current(self) -> None:
        index = self.selectionModel().currentIndex()
        selected = index.isValid() and self.selectionModel().isRowSelected(index.row())
        new = self._model.conversation_id(index.row()) if selected else -1
        if new != self._selected_id:
            self._selected_id = new
            self.conversationSelected.emit(new)

    def selectionChanged(self, selected: object, deselected: object) -> None:  # type: ignore[override]
        super().selectionChanged(selected, deselected)  # type: ignore[arg-type]
        self._publish_current()

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.conversationActivated.emit(self._model.conversation_id(index.row()))

    # -- columns ---------------------------------------------------------------------------
    def set_column_choices(self, hidden: list[str] | set[str], shown: list[str] | set[str]) -> None:
        """The user's explicit choices: columns hidden, and default-hidden columns shown."""
        self._hidden = set(hidden)
        self._shown = set(shown)
        self._apply_hidden()

    def is_column_hidden(self, key: str) -> bool:
        return key in self._hidden or (key in default_hidden() and key not in self._shown)

    def hidden_columns(self) -> list[str]:
        return sorted(col.key for col in self._model.columns if self.is_column_hidden(col.key))

    def set_column_visible(self, key: str, visible: bool) -> None:
        if visible:
            self._hidden.discard(key)
            if key in default_hidden():
                self._shown.add(key)
        else:
            self._hidden.add(key)
            self._shown.discard(key)
        self._apply_hidden()
        self.columnChoicesChanged.emit(sorted(self._hidden), sorted(self._shown))

    def _apply_hidden(self) -> None:
        # QTableView answers each column's resize with a repaint from that column rightwards,
        # one event-loop pass later: after a refresh of a loading table that was a second
        # paint of nearly the whole table (30-50 ms). The header's signals wait, and the view
        # lays itself out once, below.
        header = self.horizontalHeader()
        blocked = header.blockSignals(True)
        try:
            shown = []
            for k, col in enumerate(self._model.columns):
                hidden = self.is_column_hidden(col.key)
                self.setColumnHidden(k, hidden)
                if not hidden:
                    shown.append(k)
            self._fit([k for k in shown if k not in self._fitted])
        finally:
            header.blockSignals(blocked)
        self._lay_out_now()

    def _hold_header(self) -> None:
        # QHeaderView keeps its sections across a layout change by showing each hidden one and
        # hiding it again: some 70 resize signals a refresh of a loading table, each asking
        # the view for a relayout and a repaint of the columns to its right. The sections end
        # as they were, so those signals wait (and the view lays itself out once, below).
        self._header_blocked = self.horizontalHeader().blockSignals(True)

    def _layout_changed(self) -> None:
        self.horizontalHeader().blockSignals(self._header_blocked)
        self._lay_out_now()

    def _lay_out_now(self) -> None:
        """Scroll ranges and one repaint now, instead of the layout Qt defers to a later pass
        after a model change (and the second paint it brings)."""
        self.doItemsLayout()

    def column_menu(self, parent: QWidget | None = None) -> QMenu:
        """A checkable entry per column (View ▸ Columns and the header's context menu)."""
        menu = QMenu("&Columns", parent or self)
        self.fill_column_menu(menu)
        return menu

    def fill_column_menu(self, menu: QMenu) -> None:
        menu.clear()
        for col in self._model.columns:
            action = QAction(col.title, menu)
            action.setCheckable(True)
            action.setChecked(not self.is_column_hidden(col.key))
            if col.tooltip:
                action.setToolTip(col.tooltip)
            action.toggled.connect(lambda on, key=col.key: self.set_column_visible(key, on))
            menu.addAction(action)
        menu.addSeparator()
        show_all = menu.addAction("Show All Columns")
        show_all.triggered.connect(self._show_all)

    def _show_all(self) -> None:
        self._hidden.clear()
        self._shown |= default_hidden()
        self._apply_hidden()
        self.columnChoicesChanged.emit([], sorted(self._shown))

    def _header_menu(self, pos: QPoint) -> None:
        menu = self.column_menu(self)
        menu.exec(self.horizontalHeader().mapToGlobal(pos))
        menu.deleteLater()

    def _columns_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        """A protocol's columns arrived while a capture loads: the columns sized so far keep
        their sizes (at their new places), the new ones are hidden or sized as choices say."""
        count = last - first + 1
        self._fitted = {k if k < first else k + count for k in self._fitted}
        # a selected row stays selected whole (Qt leaves the new cells out of its ranges)
        selection = self.selectionModel()
        spans = {(part.top(), part.bottom()) for part in selection.selection()}
        if spans:
            whole = QItemSelection()
            for top, bottom in sorted(spans):
                whole.select(self._model.index(top, 0), self._model.index(bottom, 0))
            flags = QItemSelectionModel.SelectionFlag
            selection.select(whole, flags.ClearAndSelect | flags.Rows)
        self._apply_hidden()

    def _after_reset(self) -> None:
        self.fit_columns()
        self._publish_current()

    def fit_columns(self) -> None:
        """Size each shown column for its title, a typical value and the first rows shown (a
        hidden one is sized when it is shown: measuring all 80-odd columns at every refresh of
        a loading table cost 10 ms of the GUI thread's)."""
        self._fitted.clear()
        self._apply_hidden()  # (it sizes the shown columns not sized yet: all of them now)

    def _fit(self, columns: list[int]) -> None:
        if not columns:
            return
        self._fitted.update(columns)
        model = self._model
        data = model.conversations
        options = model.display_options
        cell = self.fontMetrics()
        head = self.horizontalHeader().fontMetrics()
        ids = model.ids[:MEASURED_ROWS].tolist()
        style = self.style()
        padding = 2 * style.pixelMetric(style.PixelMetric.PM_FocusFrameHMargin) + 10
        head_padding = 5 + 14 + 4  # the header's left and right padding (style sheet) and a bit
        for k in columns:
            col = model.columns[k]
            texts = {col.sample}
            if data is not None:
                texts.update(col.text(data, i, options) for i in ids)
            title = max(head.horizontalAdvance(line) for line in col.header(options).split("\n"))
            width = max(title + head_padding,
                        max(cell.horizontalAdvance(t) for t in texts) + padding)
            self.setColumnWidth(k, min(width, MAX_COLUMN_WIDTH))

    # -- empty state -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        rows = self._model.rowCount()
        # thousands of data() calls: a load in progress waits meanwhile (an empty table makes
        # none, and does not wait 20-40 ms for a load that is just starting)
        with GUI_TURN.turn() if rows else contextlib.nullcontext():
            super().paintEvent(event)
        if not rows and self.empty_text:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            font = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
            font.setPointSizeF(font.pointSizeF() * 1.15)
            painter.setFont(font)
            painter.drawText(self.viewport().rect().adjusted(24, 24, -24, -24),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.empty_text)
            painter.end()

