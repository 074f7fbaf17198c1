"""The index table's model: DuckDB sorts and filters, the model fetches only visible pages.

``rowCount`` is the arrangement's row count (DuckDB's ``count(*)``); ``data`` reads a page of
:data:`PAGE` rows the first time one of its cells is painted and keeps the last
:data:`KEEP_PAGES` pages. Sorting (a header click) and filtering build a new arrangement on the
window's job pool (:class:`engine.index.browse.IndexBrowser`); the old one stays on screen
until the new one is ready, then the model resets to it. Only the columns shown are arranged:
showing another column arranges again.
"""

from __future__ import annotations

import datetime
import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from engine import FlowError
from engine.columns import COLUMNS
from engine.index.browse import KEYS, Arrangement, IndexBrowser
from gui import units
from gui.jobs import FunctionJob, Job, JobRunner

_Index = QModelIndex | QPersistentModelIndex
#: rows read from DuckDB at a time, and pages kept
PAGE = 1000
KEEP_PAGES = 32
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_NUMERIC = ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "DECIMAL")

#: titles of the contract's columns (the registry's columns carry their own)
TITLES = {
    "capture_path": "Capture", "id": "Id", "protocol": "Protocol", "stream": "Stream",
    "a_address": "Address A", "a_port": "Port A", "b_address": "Address B", "b_port": "Port B",
    "packets": "Packets", "bytes": "Bytes", "packets_a_to_b": "Packets A→B",
    "bytes_a_to_b": "Bytes A→B", "packets_b_to_a": "Packets B→A", "bytes_b_to_a": "Bytes B→A",
    "payload_bytes_a_to_b": "Payload A→B", "payload_bytes_b_to_a": "Payload B→A",
    "start_ns": "Start (ns)", "end_ns": "End (ns)", "relative_start": "Rel Start",
    "duration": "Duration", "bits_per_second_a_to_b": "Bits/s A→B",
    "bits_per_second_b_to_a": "Bits/s B→A", "tcp_flags_a_to_b": "Flags A→B",
    "tcp_flags_b_to_a": "Flags B→A", "icmp_type": "ICMP type", "icmp_code": "ICMP code",
    "icmp_id": "ICMP id", "quotes": "Quotes", "start_time": "Start", "end_time": "End",
    "capture_size": "Capture size", "capture_mtime": "Capture modified",
    "capture_sha256": "Capture SHA-256", "capture_first_ns": "Capture first packet (ns)",
}

#: shown when an index opens (the capture table's Wireshark columns, plus the capture)
DEFAULT_COLUMNS = ("capture_path", "protocol", "a_address", "a_port", "b_address", "b_port",
                   "packets", "bytes", "stream", "packets_a_to_b", "bytes_a_to_b",
                   "packets_b_to_a", "bytes_b_to_a", "start_time", "duration")


def column_title(name: str) -> str:
    if name in TITLES:
        return TITLES[name]
    for spec in COLUMNS.values():
        if spec.key.replace(".", "_") == name:
            return spec.title
    return name


def default_columns(available: list[str]) -> list[str]:
    """The default columns, plus the registry's columns that are not hidden by default."""
    declared = [spec.key.replace(".", "_") for spec in COLUMNS.values()
                if not spec.core and not spec.hidden]
    return [c for c in (*DEFAULT_COLUMNS, *declared) if c in available]


@dataclass(frozen=True)
class IndexRow:
    """Where a row's conversation is: enough to open its capture and select it."""

    capture_path: str
    id: int
    protocol: str
    stream: int | None
    start_ns: int


class IndexModel(QAbstractTableModel):
    """Rows of the current arrangement of an index (see the module docstring)."""

    #: a new arrangement is on show (after a sort, a filter or a column change)
    arranged = Signal()
    #: arranging failed: a sentence for the user (the previous arrangement stays)
    arrangeFailed = Signal(str)
    #: True while an arrangement is being built
    busyChanged = Signal(bool)

    def __init__(self, runner: JobRunner, parent: Any = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.browser: IndexBrowser | None = None
        self._arrangement: Arrangement | None = None
        self._columns: list[str] = []
        self._types: list[str] = []
        self._pages: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._job: Job | None = None
        self._wanted: tuple[list[str], str | None, bool, str] = ([], None, False, "")

    # -- state -------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    @property
    def arrangement(self) -> Arrangement | None:
        return self._arrangement

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def sort_column(self) -> str | None:
        return self._wanted[1]

    @property
    def where(self) -> str:
        return self._wanted[3]

    # -- changing what is shown ------------------------------------------------------------
    def set_browser(self, browser: IndexBrowser | None, columns: list[str] | None = None) -> None:
        """Show an index (None: nothing); the first arrangement follows asynchronously."""
        self.beginResetModel()
        old, self.browser = self.browser, browser
        self._drop_current()
        self._columns, self._types = [], []
        self.endResetModel()
        if old is not None and old is not browser:
            self._close_later(old)
        if browser is not None:
            self._wanted = (list(columns or default_columns(browser.columns)), None, False, "")
            self._rearrange()

    def set_columns(self, columns: list[str]) -> None:
        _, sort, descending, where = self._wanted
        self._wanted = (list(columns), sort, descending, where)
        self._rearrange()

    def set_where(self, where: str) -> None:
        columns, sort, descending, _ = self._wanted
        self._wanted = (columns, sort, descending, where)
        self._rearrange()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            return
        columns, _, _, where = self._wanted
        self._wanted = (columns, self._columns[column],
                        order == Qt.SortOrder.DescendingOrder, where)
        self._rearrange()

    def _rearrange(self) -> None:
        browser = self.browser
        if browser is None:
            return
        if self._job is not None:
            self._job.cancel()  # its result is dropped when it arrives
        columns, sort, descending, where = self._wanted
        job = FunctionJob("Arranging the index",
                          lambda: browser.arrange(columns, sort, descending, where), self)
        job.finished.connect(self._arranged)
        job.errored.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self._job = job
        self.busyChanged.emit(True)
        self.runner.start(job)

    def _arranged(self, job: Job, arrangement: Arrangement) -> None:
        browser = self.browser
        if job is not self._job or browser is None:
            if browser is not None:
                browser.drop(arrangement)
            return
        self._job = None
        self.beginResetModel()
        self._drop_current()
        self._arrangement = arrangement
        self._columns = list(arrangement.shown)
        self._types = [browser.types[c] for c in self._columns]
        self.endResetModel()
        self.busyChanged.emit(False)
        self.arranged.emit()

    def _failed(self, job: Job, message: str) -> None:
        if job is self._job:
            self._job = None
            self.busyChanged.emit(False)
            self.arrangeFailed.emit(message)

    def _cancelled(self, job: Job) -> None:
        # a superseded job: the newer one is running (and reports); the result is discarded
        if job is self._job:
            self._job = None
            self.busyChanged.emit(False)

    def _drop_current(self) -> None:
        if self._arrangement is not None and self.browser is not None:
            self.browser.drop(self._arrangement)
        self._arrangement = None
        self._pages.clear()

    def _close_later(self, browser: IndexBrowser) -> None:
        """Close a browser once no job of ours uses it any more."""
        if self._job is None:
            browser.close()
        else:
            self._job.finished.connect(lambda *_: browser.close())
            self._job.errored.connect(lambda *_: browser.close())
            self._job.cancelled.connect(lambda *_: browser.close())

    def close(self) -> None:
        """Release the index (the window is closing or another index opens)."""
        self.set_browser(None)

    # -- rows -----------------------------------------------------------------------------
    def _row(self, row: int) -> tuple[Any, ...]:
        page = row // PAGE
        rows = self._pages.get(page)
        if rows is None:
            assert self.browser is not None and self._arrangement is not None
            try:
                rows = self.browser.fetch(self._arrangement, page * PAGE, PAGE)
            except FlowError as exc:  # the files changed under the view: say so, show blanks
                rows = []
                self.arrangeFailed.emit(str(exc))
            self._pages[page] = rows
            while len(self._pages) > KEEP_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        k = row - page * PAGE
        # a capture re-indexed with fewer rows while the view was open: blank cells
        return rows[k] if k < len(rows) else (None,) * len(self._arrangement.columns)

    def row_of_index(self, row: int) -> IndexRow | None:
        """Where row ``row``'s conversation is (None when the files changed under it)."""
        values = self._row(row)
        capture, conv_id, protocol, stream, start_ns = values[:len(KEYS)]
        if capture is None:
            return None
        return IndexRow(capture, int(conv_id), protocol,
                        None if stream is None else int(stream), int(start_ns))

    def value(self, row: int, column: int) -> Any:
        """The raw value of a cell (as DuckDB returns it)."""
        assert self._arrangement is not None
        position = self._arrangement.columns.index(self._columns[column])
        return self._row(row)[position]

    # -- QAbstractTableModel --------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        if parent.isValid() or self._arrangement is None:
            return 0
        return self._arrangement.rows

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ROLES or not index.isValid() or self._arrangement is None:
            return None
        name, kind = self._columns[index.column()], self._types[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if kind.startswith(_NUMERIC) else _LEFT
        value = self.value(index.row(), index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return value if name == "capture_path" else None
        return cell_text(name, kind, value)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        name = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column_title(name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return name
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if self._types[section].startswith(_NUMERIC) else _LEFT
        return None


_ROLES = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole,
                    Qt.ItemDataRole.ToolTipRole})


def cell_text(name: str, kind: str, value: Any) -> str:
    """A cell's text: counts and sizes as the capture table shows them, times in UTC."""
    if value is None:
        return ""
    if name == "capture_path":
        return Path(value).name
    if kind == "JSON":  # compact, with a space after separators for legibility
        try:
            return json.dumps(json.loads(value), separators=(", ", ": "))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if name in ("duration", "relative_start"):
            return f"{value:.6f}"
        if name.startswith("bits_per_second"):
            return units.bit_rate(value)
        return units.number(value)
    if isinstance(value, int):
        if name in ("bytes", "bytes_a_to_b", "bytes_b_to_a", "capture_size") or name.startswith(
                "payload_bytes"):
            return units.size(value)
        if name in ("packets", "packets_a_to_b", "packets_b_to_a"):
            return units.count(value)
        return str(value)
    return str(value)
