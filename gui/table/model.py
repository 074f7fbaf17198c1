"""A QAbstractTableModel over the engine's conversation columns, sorted and filtered with numpy.

The model keeps one array, ``ids``: the conversation id shown in each row. Sorting and filtering
only rebuild that array (a stable numpy sort of the whole column, computed once per column and
direction, then cut down by the boolean filter mask in O(n)), inside one
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

from gui.style import protocol_color
from gui.table.columns import Column, DisplayOptions, columns_for
from gui.table.data import ConversationData

#: the exact value of a cell (int, float or str): what sorting and copying use
EXACT_ROLE = Qt.ItemDataRole.UserRole
#: the conversation id of a row (its position in the engine's table)
ID_ROLE = Qt.ItemDataRole.UserRole + 1

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_Index = QModelIndex | QPersistentModelIndex
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_HANDLED_ROLES = frozenset({_DISPLAY, _ALIGNMENT, _TOOLTIP, _FOREGROUND, int(EXACT_ROLE),
                            int(ID_ROLE)})
def _group_starts(keys: tuple[np.ndarray, ...], order: np.ndarray) -> np.ndarray:
    """True where ``order`` starts a run of equal keys (NaN equals NaN here, as in sorting)."""
    change = np.zeros(order.size, dtype=bool)
    if order.size:
        change[0] = True
    for key in keys:
        ordered = key[order]
        differ = ordered[1:] != ordered[:-1]
        if ordered.dtype.kind == "f":
            differ &= ~(np.isnan(ordered[1:]) & np.isnan(ordered[:-1]))
        change[1:] |= differ
    return change


def sort_order(keys: tuple[np.ndarray, ...], descending: bool = False) -> np.ndarray:
    """Row order under ``keys`` (most significant first), stable both ways.

    Ascending is ``np.lexsort`` (a stable sort; NaN last). Descending reverses the runs of equal
    keys but keeps each run in row order, so ties stay in conversation (start time) order
    whichever way the user sorts — without a second sort.
    """
    if len(keys) == 1:
        order = np.argsort(keys[0], kind="stable")
    else:
        order = np.lexsort(keys[::-1])
    if not descending:
        return order
    n = order.size
    change = _group_starts(keys, order)
    starts = np.flatnonzero(change)
    group = np.cumsum(change) - 1
    ends = np.append(starts[1:], n)
    position = (n - ends[group]) + (np.arange(n) - starts[group])
    reversed_runs = np.empty_like(order)
    reversed_runs[position] = order
    return reversed_runs


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
        #: full-table sort orders already computed, by (column key, descending)
        self._orders: dict[tuple[str, bool], np.ndarray] = {}
        self._options = DisplayOptions()
        self._layouts = _SpanLayouts()

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
        """Packets of the capture in the rows shown (a tunnelled frame once, in its tunnel)."""
        if self._data is None:
            return 0
        return int(self._data.frame_packets[self._ids].sum())

    # -- changing it --------------------------------------------------------------------------
    def set_conversations(self, data: ConversationData | None) -> None:
        """Show another capture's conversations (the filter mask is dropped; sort is kept)."""
        self.beginResetModel()
        self._data = data
        self._columns = columns_for(data)
        self._mask = None
        self._orders = {}
        if self.column_index(self._sort_key or "") < 0:
            self._sort_key = None
        self._ids = self._ordered(self._visible())
        self.endResetModel()
        self.rowsShownChanged.emit()

    def update_conversations(self, data: ConversationData,
                             id_map: np.ndarray | None = None) -> None:
        """Newer numbers for the capture shown (a load in progress, or its end): rows grow and
        change, the sort and the selection stay. ``id_map`` gives the new id of each old id when
        ids change (the final table is ordered by start time). The filter mask is dropped (the
        filter bar sends the new one)."""
        columns = columns_for(data)
        same = [c.key for c in columns] == [c.key for c in self._columns]
        # other columns: only a reset can say so, unless a loading table gains some
        if self._data is None or (not same and (id_map is not None
                                                or not self._insert_columns(data, columns))):
            self.set_conversations(data)
            return

        def change() -> None:
            self._data = data
            self._mask = None
            self._orders = {}
        self._relayout(change, id_map)
        self.rowsShownChanged.emit()

    def _insert_columns(self, data: ConversationData, columns: list[Column]) -> bool:
        """A loading table's first conversations of a protocol bring its columns: insert
        them where they go (a reset would drop the selection and lay out and repaint the
        whole table). False when the shown columns are not all kept in their order."""
        keys = [c.key for c in columns]
        old = [c.key for c in self._columns]
        shown = set(old)
        if [k for k in keys if k in shown] != old:
            return False
        # (the rows shown are running ids, the same in the newer numbers: they read them now)
        self._data = data
        self._orders = {}
        current = list(self._columns)
        k = 0
        while k < len(columns):
            if k < len(current) and current[k].key == keys[k]:
                k += 1
                continue
            end = k
            while end < len(columns) and keys[end] not in shown:
                end += 1
            self.beginInsertColumns(QModelIndex(), k, end - 1)
            current[k:k] = columns[k:end]
            self._columns = list(current)
            self.endInsertColumns()
            k = end
        return True

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

        if key == self._sort_key and (key is None or order == self._sort_order):
            return  # QTableView.sortByColumn asks twice; the order is already right

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

    def _full_order(self, key: str, descending: bool) -> np.ndarray:
        order = self._orders.get((key, descending))
        if order is None:
            assert self._data is not None
            column = self._columns[self.column_index(key)]
            order = sort_order(column.sort_keys(self._data), descending)
            order.flags.writeable = False
            self._orders[(key, descending)] = order
        return order

    def _ordered(self, ids: np.ndarray) -> np.ndarray:
        """The shown ids in display order: the cached full order, filtered by the mask."""
        if self._sort_key is None or self._data is None:
            return ids
        full = self._full_order(self._sort_key,
                                self._sort_order == Qt.SortOrder.DescendingOrder)
        if self._mask is None:
            return full
        return full[self._mask[full]]

    def _relayout(self, change: Any, id_map: np.ndarray | None = None) -> None:
        """Apply ``change`` and rebuild the shown ids; persistent indexes follow their ids
        (through ``id_map`` when the change renumbers them)."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_ids = [int(self._ids[p.row()]) if 0 <= p.row() < self._ids.size else -1
                   for p in old]
        if id_map is not None:
            old_ids = [int(id_map[c]) if 0 <= c < id_map.size else -1 for c in old_ids]
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
        # the view asks for ~7 roles per painted cell: answer the unused ones first and fast
        if role not in _HANDLED_ROLES or self._data is None or not index.isValid():
            return None
        return self._value(self._columns[index.column()], int(self._ids[index.row()]), role)

    def multiData(self, index: _Index, roleDataSpan: Any) -> None:
        """Every role a painted cell asks for in one call (Qt 6's delegates ask this way):
        one Python call per cell instead of seven, which matters most while a load competes
        for the interpreter (see :class:`gui.jobs.GuiTurn`). A span's items are reached by
        position when its layout is known (:class:`_SpanLayouts`): asking each of the seven
        items its role was a quarter of a repaint."""
        if self._data is None or not index.isValid():
            return  # (the items come empty: roles not answered stay so)
        column = self._columns[index.column()]
        i = int(self._ids[index.row()])
        layout = self._layouts.of(roleDataSpan)
        if layout is None:
            self._fill_each(roleDataSpan, column, i)
            return
        display, alignment, foreground = layout
        display.setData(column.text(self._data, i, self._options))
        alignment.setData(_RIGHT if column.numeric else _LEFT)
        if column.key == "protocol" and foreground >= 0:
            item = roleDataSpan[foreground]
            if item.role() == _FOREGROUND:
                item.setData(protocol_color(str(self._data.protocol[i])))

    def _fill_each(self, roleDataSpan: Any, column: Column, i: int) -> None:
        for item in roleDataSpan:
            role = item.role()
            if role == _DISPLAY:
                item.setData(column.text(self._data, i, self._options))
            elif role == _ALIGNMENT:
                item.setData(_RIGHT if column.numeric else _LEFT)
            elif role in _HANDLED_ROLES:
                value = self._value(column, i, role)
                if value is not None:
                    item.setData(value)

    def _value(self, column: Column, i: int, role: int) -> Any:
        """Conversation ``i``'s value of ``column`` for one of the handled roles."""
        if role == _DISPLAY:
            return column.text(self._data, i, self._options)
        if role == _ALIGNMENT:
            return _RIGHT if column.numeric else _LEFT
        if role == _TOOLTIP:
            return column.cell_tooltip(self._data, i, self._options)
        if role == _FOREGROUND:
            if column.key != "protocol":
                return None
            return protocol_color(str(self._data.protocol[i]))
        if role == EXACT_ROLE:
            return column.exact(self._data, i)
        return i  # ID_ROLE

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


class _SpanLayouts:
    """Where the display, alignment and foreground items sit in the spans ``multiData`` gets.

    A view's delegate asks every cell for the same roles in the same order (Qt's
    ``QStyledItemDelegate`` reads a fixed list of seven), so the positions found in one span
    serve the next span of that length, once its display and alignment items are seen to be
    where they were: two ``role()`` calls instead of seven. A span asking for another role
    this model answers (a tooltip, the exact value, the id) is answered item by item; such
    spans are never a delegate's (Qt's views ask those roles through ``data()``), so a length
    learnt from a delegate's span does not meet them.
    """

    _OTHER_ROLES = _HANDLED_ROLES - {_DISPLAY, _ALIGNMENT, _FOREGROUND}

    def __init__(self) -> None:
        self._by_length: dict[int, tuple[int, int, int]] = {}

    def of(self, span: Any) -> tuple[Any, Any, int] | None:
        """(display item, alignment item, position of the foreground item or -1) of ``span``,
        or None: answer it item by item. (The foreground is for one column only: its caller
        checks that item's role.)"""
        known = self._by_length.get(len(span))
        if known is not None:
            d, a, f = known
            display, alignment = span[d], span[a]
            if display.role() == _DISPLAY and alignment.role() == _ALIGNMENT:
                return display, alignment, f
        roles = [item.role() for item in span]
        if _DISPLAY not in roles or _ALIGNMENT not in roles or self._OTHER_ROLES & set(roles):
            return None
        d, a = roles.index(_DISPLAY), roles.index(_ALIGNMENT)
        f = roles.index(_FOREGROUND) if _FOREGROUND in roles else -1
        self._by_length[len(roles)] = (d, a, f)
        return span[d], span[a], f
