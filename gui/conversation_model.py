"""A QAbstractTableModel over the engine's conversation columns, sorted and filtered with numpy.

The model keeps one array, ``ids``: the conversation id shown in each row. Sorting and filtering
only rebuild that array (a stable argsort of a per-column rank, a boolean mask), inside one
``layoutAboutToBeChanged``/``layoutChanged`` pair that moves persistent indexes (the selection)
with their conversations. No QSortFilterProxyModel: it would call ``data()`` per comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from .columns import Column, DisplayOptions, columns_for
from .conversation_data import ConversationData

#: the exact value of a cell (int, float or str): what sorting and copying use
EXACT_ROLE = Qt.ItemDataRole.UserRole
#: the conversation id of a row (its position in the engine's table)
ID_ROLE = Qt.ItemDataRole.UserRole + 1

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_Index = QModelIndex | QPersistentModelIndex


def dense_rank(keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """Rank of each row under the keys (most significant first); equal keys share a rank.

    Sorting by rank with a stable argsort gives the same order as a stable sort of the keys, and
    ``-rank`` gives the descending order with ties still in conversation order.
    """
    if len(keys) == 1:
        _, inverse = np.unique(keys[0], return_inverse=True)
        return inverse.reshape(-1).astype(np.int64)
    n = keys[0].size
    order = np.lexsort(keys[::-1])
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    for key in keys:
        ordered = key[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.cumsum(change) - 1
    return rank


class ConversationModel(QAbstractTableModel):
    """Rows are conversations (filtered, sorted); columns come from :mod:`gui.columns`."""

    #: the shown rows changed (filter or new data): the status bar recounts
    rowsShownChanged = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._data: ConversationData | None = None
        self._columns: list[Column] = columns_for(None)
        self._mask: np.ndarray | None = None
        self._sort_key: str | None = None
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._ids = np.zeros(0, dtype=np.int64)
        self._ranks: dict[str, np.ndarray] = {}
        self._options = DisplayOptions()

    # -- what is shown ------------------------------------------------------------------------
    @property
    def conversations(self) -> ConversationData | None:
        return self._data

    @property
    def columns(self) -> list[Column]:
        return self._columns

    @property
    def ids(self) -> np.ndarray:
        """Conversation id of every shown row, in display order (read-only view)."""
        view = self._ids.view()
        view.flags.writeable = False
        return view

    @property
    def display_options(self) -> DisplayOptions:
        return self._options

    def conversation_id(self, row: int) -> int:
        return int(self._ids[row])

    def row_of(self, conversation_id: int) -> int:
        """The row showing a conversation, or -1 if it is filtered out."""
        hits = np.flatnonzero(self._ids == conversation_id)
        return int(hits[0]) if hits.size else -1

    def column_index(self, key: str) -> int:
        for k, col in enumerate(self._columns):
            if col.key == key:
                return k
        return -1

    def shown_packets(self) -> int:
        if self._data is None:
            return 0
        return int(self._data.packets[self._ids].sum())

    # -- changing it --------------------------------------------------------------------------
    def set_conversations(self, data: ConversationData | None) -> None:
        """Show another capture's conversations (the filter mask is dropped; sort is kept)."""
        self.beginResetModel()
        self._data = data
        self._columns = columns_for(data)
        self._mask = None
        self._ranks = {}
        if self.column_index(self._sort_key or "") < 0:
            self._sort_key = None
        self._ids = self._ordered(self._visible())
        self.endResetModel()
        self.rowsShownChanged.emit()

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Show only the conversations where ``mask`` is True (None: all)."""
        if self._data is not None and mask is not None and mask.shape != (len(self._data),):
            raise ValueError("the filter mask must have one entry per conversation")
        self._relayout(lambda: setattr(self, "_mask", mask))
        self.rowsShownChanged.emit()

    def set_display_options(self, options: DisplayOptions) -> None:
        """Change cell text (not values): every cell may read differently."""
        self._options = options
        if self._columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._columns) - 1)
        if self._ids.size and self._columns:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(self._ids.size - 1, len(self._columns) - 1))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            key = None
        else:
            key = self._columns[column].key

        def change() -> None:
            self._sort_key = key
            self._sort_order = order
        self._relayout(change)

    # -- internals ------------------------------------------------------------------------------
    def _visible(self) -> np.ndarray:
        if self._data is None:
            return np.zeros(0, dtype=np.int64)
        if self._mask is None:
            return np.arange(len(self._data), dtype=np.int64)
        return np.flatnonzero(self._mask).astype(np.int64)

    def _rank(self, key: str) -> np.ndarray:
        rank = self._ranks.get(key)
        if rank is None:
            assert self._data is not None
            column = self._columns[self.column_index(key)]
            rank = dense_rank(column.sort_keys(self._data))
            self._ranks[key] = rank
        return rank

    def _ordered(self, ids: np.ndarray) -> np.ndarray:
        if self._sort_key is None or self._data is None or not ids.size:
            return ids
        rank = self._rank(self._sort_key)[ids]
        if self._sort_order == Qt.SortOrder.DescendingOrder:
            rank = -rank
        return ids[np.argsort(rank, kind="stable")]

    def _relayout(self, change: Any) -> None:
        """Apply ``change`` and rebuild the shown ids; persistent indexes follow their ids."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_ids = [int(self._ids[p.row()]) if 0 <= p.row() < self._ids.size else -1
                   for p in old]
        change()
        self._ids = self._ordered(self._visible())
        if old:
            total = len(self._data) if self._data is not None else 0
            position = np.full(total, -1, dtype=np.int64)
            position[self._ids] = np.arange(self._ids.size)
            new = [self.index(int(position[c]), p.column()) if c >= 0 and position[c] >= 0
                   else QModelIndex() for p, c in zip(old, old_ids, strict=True)]
            self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    # -- QAbstractTableModel --------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else int(self._ids.size)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._data is None:
            return None
        column = self._columns[index.column()]
        i = int(self._ids[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(self._data, i, self._options)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.cell_tooltip(self._data, i, self._options)
        if role == EXACT_ROLE:
            return column.exact(self._data, i)
        if role == ID_ROLE:
            return i
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        column = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.header(self._options)
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        return None
