"""The main window: menus, the filter bar, the conversation table, and the status bar.

Opening a capture starts a :class:`~gui.loader.LoadJob`; the table keeps showing the previous
capture until the new one has loaded completely (a cancelled or failed load changes nothing).
A second file replaces the first in the same window. Several files opened together (picked in the
Open dialog, dropped, named on the command line, or a folder) are one capture merged by time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from engine import WIRESHARK, FlowConfig
from engine.capture.files import describe_files
from engine.export.conversations import csv_text
from gui import units
from gui.banner import WarningBanner
from gui.index.mode import IndexMode
from gui.jobs import GUI_TURN, FunctionJob, Job, JobRunner
from gui.loading import LoadJob, LoadProgress
from gui.panes.details import DetailsPanel
from gui.recent import add_recent, clear_recent, recent_captures, start_writer
from gui.resource_files import ICON, resource
from gui.settings import read_bool, read_list, settings
from gui.status import CountsLabel, LoadProgressWidget
from gui.table.columns import DisplayOptions
from gui.table.data import ConversationData
from gui.table.export import (
    ExportConversationsDialog,
    ExportRequest,
    ask_export_path,
    write_conversations,
)
from gui.table.filter_bar import FilterBar
from gui.table.filter_help import FilterHelpDialog
from gui.table.model import ConversationModel
from gui.table.view import ConversationView

OPEN_FILTERS = ("Packet captures (*.pcap *.pcapng *.cap *.ntar *.dmp *.gz);;"
                "pcap (*.pcap *.cap *.dmp);;pcapng (*.pcapng *.ntar);;"
                "gzip-compressed (*.gz);;All files (*)")
#: copies of more rows than this run on the pool (the engine's CSV writer is a Python loop)
COPY_IN_BACKGROUND = 20_000

EMPTY_NO_CAPTURE = ("Open a capture with File ▸ Open (Ctrl+O),\n"
                    "or drop pcap or pcapng files here (several are read as one).")


def app_icon() -> QIcon:
    try:
        return QIcon(str(resource(ICON)))
    except FileNotFoundError:
        return QIcon()


class MainWindow(QMainWindow):
    """One capture at a time; publishes the selected conversation for the detail panes."""

    #: the selected conversation's id (-1: none) — the detail panes listen to this
    conversationSelected = Signal(int)
    #: a conversation was double-clicked (the stream pane will open it; nothing yet)
    conversationActivated = Signal(int)
    #: a capture finished loading and is shown
    captureLoaded = Signal(object)
    #: a load failed: the message shown to the user
    loadFailed = Signal(str)
    #: a load was cancelled: the file's path
    loadCancelled = Signal(object)
    #: an export or copy finished: the text of the status message
    taskFinished = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.runner = JobRunner(self)
        start_writer()  # (the recent list's: a thread started as a load ends made it wait)
        self._data: ConversationData | None = None
        #: what the capture shown was opened from: a file, a folder, or several files
        self._paths: list[Path] = []
        self._is_sample = False
        self._job: LoadJob | None = None
        self._job_is_sample = False
        self._started = 0.0
        #: the conversations found so far by the load in progress, while the table shows them
        self._partial: ConversationData | None = None

        self.model = ConversationModel(self)
        self.view = ConversationView(self.model, self)
        self.view.set_column_choices(read_list("table/hiddenColumns"),
                                     read_list("table/shownColumns"))
        self.view.columnChoicesChanged.connect(self._save_column_choices)
        self.view.conversationSelected.connect(self._selected)
        self.view.conversationActivated.connect(self.conversationActivated)
        self.filter_help: FilterHelpDialog | None = None
        self.filter_bar = FilterBar(self)
        self.filter_bar.maskChanged.connect(self.model.set_mask)
        self.filter_bar.errorChanged.connect(self._filter_error)
        self.banner = WarningBanner(self)
        self.model.rowsShownChanged.connect(self._update_counts)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.setSpacing(6)
        layout.addWidget(self.banner)
        layout.addWidget(self.filter_bar)
        self.details = DetailsPanel(self.runner, self)  # detail panes below the table
        layout.addWidget(self.details.below(self.view), 1)
        self.captureLoaded.connect(self.details.set_capture)
        self.conversationSelected.connect(self.details.show_conversation)
        self.conversationActivated.connect(self.details.show_stream)
        self.details.watch_close(self)
        for pane in self.details.panes.values():  # a conversation a pane points at
            pane.conversationRequested.connect(self.select_conversation)
        self.setCentralWidget(central)
        self.index_mode = IndexMode(self)  # File ▸ Open Index…: shares the table's place

        self.progress = LoadProgressWidget(self)
        self.progress.cancelRequested.connect(self.cancel_load)
        self.progress.hide()
        self.counts = CountsLabel(self)
        self.statusBar().addWidget(self.progress)
        self.statusBar().addPermanentWidget(self.counts)
        self._cancel_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self._cancel_shortcut.activated.connect(self.cancel_load)
        self._cancel_shortcut.setEnabled(False)

        self._build_menus()
        self.model.set_display_options(self._display_options())
        self._update_title()
        self._update_empty_text()
        geometry = settings().value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1320, 780)

    # -- state -------------------------------------------------------------------------------
    @property
    def conversations(self) -> ConversationData | None:
        """The capture shown now (None before the first load)."""
        return self._data

    @property
    def current_path(self) -> Path | None:
        """The file (or folder) shown, when it was opened alone."""
        return self._paths[0] if len(self._paths) == 1 else None

    @property
    def current_paths(self) -> list[Path]:
        """Everything the capture shown was opened from (several files read as one)."""
        return list(self._paths)

    @property
    def capture_name(self) -> str:
        """The capture shown, as titles and messages name it: its file, or "3 files: …"."""
        if self._data is not None and len(self._data.result.capture.files) > 1:
            return describe_files(self._data.result.capture.files)
        return describe_files(self._paths) if self._paths else ""

    @property
    def loading(self) -> bool:
        return self._job is not None

    @property
    def load_job(self) -> LoadJob | None:
        return self._job

    def flow_config(self) -> FlowConfig:
        """Wireshark's semantics (UDP/ICMP never split) unless View ▸ Split Idle is on."""
        if self.split_idle_action.isChecked():
            return FlowConfig()
        return WIRESHARK

    # -- menus -------------------------------------------------------------------------------
    def _action(self, text: str, slot: Any,
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action(
            "&Open…", self.open_dialog, QKeySequence.StandardKey.Open,
            "Open a pcap or pcapng capture; pick several files to read them as one capture, "
            "merged by time")
        self.open_action.setIcon(self.style().standardIcon(
            self.style().StandardPixmap.SP_DialogOpenButton))
        file_menu.addAction(self.open_action)
        self.open_folder_action = self._action(
            "Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O",
            "Open every capture in a folder (a ring buffer) as one capture, merged by time")
        file_menu.addAction(self.open_folder_action)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.index_mode.open_action)
        file_menu.addSeparator()
        self.export_action = self._action("&Export Conversations…", self.export_conversations,
                                          "Ctrl+Shift+E", "Save the conversations as CSV or JSON")
        file_menu.addAction(self.export_action)
        self.export_stream_action = self._action(
            "Export &Stream…", self.export_stream, "Ctrl+E",
            "Save the selected conversation's stream (raw, hex dump, ASCII, C arrays, YAML) or "
            "its packets as pcap")
        file_menu.addAction(self.export_stream_action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        edit = bar.addMenu("&Edit")
        self.copy_action = self._action("&Copy as CSV", self.copy_selection,
                                        QKeySequence.StandardKey.Copy,
                                        "Copy the selected conversations as CSV")
        edit.addAction(self.copy_action)
        edit.addAction(self._action("Select &All", self.view.selectAll,
                                    QKeySequence.StandardKey.SelectAll))
        edit.addSeparator()
        edit.addAction(self._action("&Filter…", self._focus_filter, QKeySequence.StandardKey.Find,
                                    "Type a filter: port 80 or port 443, bytes>30k, …"))

        view = bar.addMenu("&View")
        self.columns_menu = QMenu("&Columns", self)
        self.columns_menu.aboutToShow.connect(
            lambda: self.view.fill_column_menu(self.columns_menu))
        view.addMenu(self.columns_menu)
        view.addAction(self._action("&Resize Columns", self.view.fit_columns))
        view.addAction(self.index_mode.show_action)
        view.addSeparator()
        self.absolute_time_action = QAction("&Absolute Start Time", self)
        self.absolute_time_action.setCheckable(True)
        self.absolute_time_action.setChecked(read_bool("view/absoluteTime", False))
        self.absolute_time_action.setStatusTip("Show the start as the time of day instead of "
                                               "seconds since the first packet")
        self.absolute_time_action.toggled.connect(self._set_absolute_time)
        view.addAction(self.absolute_time_action)
        self.show_names_action = QAction("Show &Names", self)
        self.show_names_action.setCheckable(True)
        self.show_names_action.setChecked(read_bool("view/showNames", False))
        self.show_names_action.setStatusTip(
            "Show each endpoint by the name the capture's own DNS answers gave its address (no "
            "lookups outside the capture); the tooltip keeps the address")
        self.show_names_action.toggled.connect(self._set_show_names)
        view.addAction(self.show_names_action)
        self.split_idle_action = QAction("&Split Idle UDP/ICMP Conversations (120 s)", self)
        self.split_idle_action.setCheckable(True)
        self.split_idle_action.setChecked(read_bool("engine/splitIdle", False))
        self.split_idle_action.setStatusTip(
            "Off: Wireshark's conversations (a UDP pair is one conversation however long it "
            "idles). On: a gap of 120 s starts a new conversation. Reloads the capture.")
        self.split_idle_action.toggled.connect(self._set_split_idle)
        view.addAction(self.split_idle_action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&Filter Syntax", self._show_filter_help))
        help_menu.addAction(self._action("&About Flowscope", self._show_about))

        for action in (self.copy_action, self.export_action, self.export_stream_action):
            action.setEnabled(False)

    def select_conversation(self, conversation: int) -> None:
        """Select a conversation a pane pointed at (an FTP data connection's control
        connection); say so when the filter hides it."""
        if not self.view.select_conversation(conversation):
            self.statusBar().showMessage(
                "That conversation is hidden by the filter; clear the filter to see it.", 6000)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        entries = recent_captures()
        for k, paths in enumerate(entries, 1):
            action = self.recent_menu.addAction(f"&{k % 10}  {describe_files(paths)}")
            where = "\n".join(str(p) for p in paths)
            action.setToolTip(where)
            action.setStatusTip(where.replace("\n", ", "))
            action.setEnabled(all(p.exists() for p in paths))
            action.triggered.connect(lambda _c=False, p=list(paths): self.open_file(p))
        if not entries:
            none = self.recent_menu.addAction("No recent captures")
            none.setEnabled(False)
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear Menu")
        clear.setEnabled(bool(entries))
        clear.triggered.connect(clear_recent)

    # -- opening -----------------------------------------------------------------------------
    def _start_folder(self) -> str:
        return str(self._paths[0].parent) if self._paths and not self._is_sample else ""

    def open_dialog(self) -> None:
        """File ▸ Open: ask for one or more files, then :meth:`open_file`."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open Capture", self._start_folder(),
                                                OPEN_FILTERS)
        if paths:
            self.open_file(paths[0] if len(paths) == 1 else paths)

    def open_folder_dialog(self) -> None:
        """File ▸ Open Folder: every capture in a folder, as one capture."""
        folder = QFileDialog.getExistingDirectory(self, "Open Folder of Captures",
                                                  self._start_folder())
        if folder:
            self.open_file(folder)

    def open_file(self, path: str | Path | Sequence[str | Path], sample: bool = False,
                  config: FlowConfig | None = None) -> LoadJob:
        """Start loading ``path`` — a file, a folder, or several files read as one capture —
        (replacing any load in progress) with ``config`` (default: the View menu's choice);
        returns the job."""
        if self._job is not None:
            self._job.cancel()
        job = LoadJob(path, config or self.flow_config(), self)
        job.progress.connect(self._load_progress)
        job.partial.connect(self._load_partial)
        job.finished.connect(self._load_finished)
        job.errored.connect(self._load_failed)
        job.cancelled.connect(self._load_cancelled)
        self._job = job
        self._job_is_sample = sample
        self._started = time.monotonic()
        self.statusBar().clearMessage()  # a temporary message would cover the progress
        self.progress.begin(job.name)
        self._cancel_shortcut.setEnabled(True)
        self._update_title()
        self._update_empty_text()
        self.runner.start(job)
        return job

    def cancel_load(self) -> None:
        """Esc / Cancel: stop the load at the engine's next check; nothing shown changes."""
        if self._job is not None:
            self._job.cancel()
            self.progress.cancelling()

    def _end_load(self) -> None:
        self._job = None
        self.progress.hide()
        self._cancel_shortcut.setEnabled(False)
        self._update_title()
        self._update_empty_text()

    def _load_progress(self, job: Job, progress: LoadProgress) -> None:
        if job is self._job and not job.is_cancelled:
            self.progress.update_progress(progress)

    def _selected(self, conversation: int) -> None:
        """The view's selection, for the panes: none while the table shows a load in progress
        (its ids are not the final ones yet)."""
        self.conversationSelected.emit(-1 if self._partial is not None else conversation)

    def _load_partial(self, job: Job, data: ConversationData) -> None:
        """The conversations found so far: the table shows them, keeping sort, filter and
        selection; the panes and exports wait for the end."""
        if job is not self._job or job.is_cancelled:
            return
        # many Python calls: the load waits meanwhile, until the table has painted. It paints
        # in a later pass of the event loop: updating and painting it in one pass held the
        # loop for 100-160 ms at the first rows of a big capture.
        with self._table_paints_later(GUI_TURN.hold()):
            self._show_partial(data)

    @contextlib.contextmanager
    def _table_paints_later(self, release: Callable[[], None] = lambda: None
                            ) -> Iterator[None]:
        """Around a change of the table: its updates are off meanwhile, and it paints in a
        later pass of the event loop, then ``release`` runs. (A timer: a zero delay would
        queue a call that runs in this same pass. It has no receiver, so ``release`` runs even
        when the window has gone meanwhile.)"""
        def paint() -> None:
            try:
                if shiboken6.isValid(self.view):
                    self.view.setUpdatesEnabled(True)  # (which asks for a paint)
                    self.view.repaint()
            finally:
                release()

        self.view.setUpdatesEnabled(False)
        try:
            yield
        finally:
            QTimer.singleShot(1, paint)

    def _show_partial(self, data: ConversationData) -> None:
        if self._partial is None:
            for action in (self.copy_action, self.export_action, self.export_stream_action):
                action.setEnabled(False)
            self.details.set_capture(None)
        self._partial = data
        self.model.update_conversations(data)
        self.filter_bar.set_conversations(data)

    def _restore_after_load(self) -> None:
        """A load that showed partial rows failed or was cancelled: back to the capture before."""
        if self._partial is None:
            return
        self._partial = None
        self.model.set_conversations(self._data)
        self.filter_bar.set_conversations(self._data)
        self.details.set_capture(self._data)
        has = self._data is not None
        for action in (self.copy_action, self.export_action, self.export_stream_action):
            action.setEnabled(has)

    def _load_finished(self, job: Job, data: ConversationData) -> None:
        if job is not self._job:  # superseded by a newer open: nobody wants this result
            data.result.close()
            return
        assert isinstance(job, LoadJob)
        with self._table_paints_later():  # (the final rows paint in the next pass)
            self._show_loaded(job, data)

    def _show_loaded(self, job: LoadJob, data: ConversationData) -> None:
        previous, previous_name = self._data, self.capture_name
        self._data, self._paths = data, list(job.paths)
        self._is_sample = self._job_is_sample
        partial, self._partial = self._partial, None
        if partial is not None:  # the rows shown while loading become the final ones
            self.model.update_conversations(data, partial.running_to_final(data))
        else:
            self.model.set_conversations(data)
        self.filter_bar.set_conversations(data)
        self.banner.show_warnings(list(data.result.capture.warnings))
        self.copy_action.setEnabled(True)
        self.export_action.setEnabled(True)
        self.export_stream_action.setEnabled(True)
        if previous is not None:
            previous.result.close()
        if not self._is_sample:
            add_recent(job.paths)
        seconds = time.monotonic() - self._started
        message = (f"Opened {self.capture_name} — {units.count(len(data))} conversations, "
                   f"{units.count(data.total_packets)} packets in {seconds:.1f} s")
        if self._is_sample:
            message = ("Showing the sample capture that ships with Flowscope. Open your own "
                       "with File ▸ Open or drop it on the window.")
        elif previous is not None:
            message += f" (replaces {previous_name})"
        self._end_load()
        self.statusBar().showMessage(message, 15_000)
        self.captureLoaded.emit(data)
        if partial is not None and self.view.selected_id >= 0:
            self.conversationSelected.emit(self.view.selected_id)

    def _load_failed(self, job: Job, message: str) -> None:
        if job is not self._job:
            return
        self._restore_after_load()
        self._end_load()
        self.loadFailed.emit(message)
        QMessageBox.critical(self, "Cannot open capture", message)

    def _load_cancelled(self, job: Job) -> None:
        if job is not self._job:
            return
        assert isinstance(job, LoadJob)
        self._restore_after_load()
        self._end_load()
        still = f"; still showing {self.capture_name}" if self._paths else ""
        self.statusBar().showMessage(f"Loading {job.name} was cancelled{still}.", 10_000)
        self.loadCancelled.emit(job.path if len(job.paths) == 1 else job.paths)

    # -- drag and drop, and the window ---------------------------------------------------------
    @staticmethod
    def _dropped_files(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        if self._dropped_files(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = self._dropped_files(event)
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_file(files[0] if len(files) == 1 else files)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings().setValue("window/geometry", self.saveGeometry())
        if self._job is not None:
            self._job.cancel()
        self.runner.shutdown()
        self.index_mode.close()
        if self._data is not None:
            # (the panes let go of the capture too: a closed window holds none of its memory)
            self.model.set_conversations(None)
            self.filter_bar.set_conversations(None)
            self.details.release()
            self._data.result.close()
            self._data = None
        super().closeEvent(event)

    # -- copy and export ---------------------------------------------------------------------
    def copy_selection(self) -> None:
        """Edit ▸ Copy: the selected conversations as the engine's CSV, in table order."""
        data = self._data
        ids = self.view.selected_ids()
        if data is None or not ids.size:
            self.statusBar().showMessage("Select conversations to copy them.", 5000)
            return
        message = f"Copied {units.count(ids.size)} conversations as CSV."
        if ids.size <= COPY_IN_BACKGROUND:
            QGuiApplication.clipboard().setText(csv_text(data.result, ids))
            self.statusBar().showMessage(message, 5000)
            self.taskFinished.emit(message)
            return

        def copied(_job: Job, text: str) -> None:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage(message, 5000)
            self.taskFinished.emit(message)
        self._run_task(FunctionJob(f"Copying {units.count(ids.size)} conversations",
                                   lambda: csv_text(data.result, ids)), copied)

    def export_conversations(self) -> None:
        """File ▸ Export Conversations: rows and format, then a file name."""
        data = self._data
        if data is None:
            return
        selected = self.view.selected_ids().size
        dialog = ExportConversationsDialog(len(data), self.model.rowCount(), selected, self)
        if dialog.exec() != ExportConversationsDialog.DialogCode.Accepted:
            return
        first = self._paths[0] if self._paths else Path("capture")
        suggested = first.with_name(f"{first.stem}-conversations")
        path = ask_export_path(self, dialog.format, suggested)
        if path is not None:
            self.export_to(path, dialog.format, dialog.scope)

    def export_stream(self) -> None:
        """File ▸ Export Stream (Ctrl+E): the selected conversation's stream or packets."""
        from gui.panes.stream.export import open_stream_export

        data = self._data
        open_stream_export(self, data.result if data is not None else None,
                           self.view.selected_id)

    def export_rows(self, scope: str) -> np.ndarray:
        """Conversation ids for an export: "all", "shown" (table order) or "selected"."""
        if scope == "all":
            return np.arange(len(self._data or ()), dtype=np.int64)
        if scope == "selected":
            return self.view.selected_ids()
        return self.model.ids.copy()

    def export_to(self, path: str | Path, fmt: str, scope: str = "shown") -> FunctionJob:
        """Write the conversations in the background; the status bar reports the outcome."""
        data = self._data
        if data is None:
            raise RuntimeError("no capture is loaded")
        request = ExportRequest(Path(path), fmt, self.export_rows(scope))
        count = units.count(request.rows.size)

        def done(_job: Job, written: Path) -> None:
            message = f"Exported {count} conversations to {written}."
            self.statusBar().showMessage(message, 10_000)
            self.taskFinished.emit(message)
        return self._run_task(FunctionJob(f"Exporting to {request.path.name}",
                                          lambda: write_conversations(data, request)), done)

    def _run_task(self, job: FunctionJob, done: Any) -> FunctionJob:
        job.setParent(self)
        job.finished.connect(done)
        job.errored.connect(lambda _job, message: QMessageBox.critical(
            self, job.description, message))
        self.statusBar().showMessage(f"{job.description}…")
        self.runner.start(job)
        return job

    # -- view options ----------------------------------------------------------------------------
    @staticmethod
    def _save_column_choices(hidden: list[str], shown: list[str]) -> None:
        settings().setValue("table/hiddenColumns", hidden)
        settings().setValue("table/shownColumns", shown)

    def _display_options(self) -> DisplayOptions:
        return DisplayOptions(absolute_time=self.absolute_time_action.isChecked(),
                              show_names=self.show_names_action.isChecked())

    def _set_absolute_time(self, on: bool) -> None:
        settings().setValue("view/absoluteTime", on)
        self.model.set_display_options(self._display_options())

    def _set_show_names(self, on: bool) -> None:
        settings().setValue("view/showNames", on)
        self.model.set_display_options(self._display_options())
        self.view.fit_columns()  # names are wider than addresses

    def _set_split_idle(self, on: bool) -> None:
        settings().setValue("engine/splitIdle", on)
        if self._paths and not self.loading:
            self.open_file(self._paths, sample=self._is_sample)

    def _focus_filter(self) -> None:
        self.filter_bar.edit.setFocus()
        self.filter_bar.edit.selectAll()

    def _filter_error(self, message: str) -> None:
        if message:  # the filter box's tooltip shows where, with a caret
            self.statusBar().showMessage(f"Filter not applied: {message}")
        else:
            self.statusBar().clearMessage()

    def _update_counts(self) -> None:
        data = self.model.conversations  # what the table shows: loaded, or found so far
        if data is None:
            self.counts.show_counts(0, 0, 0, 0, 0)
        else:
            self.counts.show_counts(self.model.rowCount(), len(data), self.model.shown_packets(),
                                    data.total_packets, data.unassigned)
        self._update_empty_text()

    def _update_empty_text(self) -> None:
        data = self.model.conversations
        if data is None or (data.loading and len(data) == 0):
            text = (f"Reading {self._job.name}…" if self._job is not None
                    else EMPTY_NO_CAPTURE)
        elif len(data) == 0:
            packets = units.count(data.total_packets)
            plural = "" if data.total_packets == 1 else "s"
            text = (f"{self.capture_name or 'This capture'} has no TCP, UDP, ICMP "
                    f"or Z-Wave conversations ({packets} packet{plural}, none in a "
                    "conversation).")
        else:
            text = "No conversation matches the filter."
        self.view.empty_text = text
        self.view.viewport().update()

    def _update_title(self) -> None:
        parts = []
        if self._paths:
            parts.append("Sample capture" if self._is_sample else self.capture_name)
        if self._job is not None:
            parts.append(f"loading {self._job.name}…")
        parts.append("Flowscope")
        self.setWindowTitle(" — ".join(parts))

    def _show_filter_help(self) -> None:
        if self.filter_help is None:
            self.filter_help = FilterHelpDialog(self)
        self.filter_help.show()
        self.filter_help.raise_()

    def _show_about(self) -> None:
        QMessageBox.about(self, "About Flowscope",
                          "<b>Flowscope</b> — a conversation browser for packet captures.<br>"
                          "Wireshark's numbers, columnar speed.")
