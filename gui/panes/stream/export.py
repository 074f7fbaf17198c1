"""Export Stream (Ctrl+E): one conversation's stream in a Follow format, or its packets as pcap.

The stream is written by ``engine.export.follow.export_follow`` — the function behind
``flowscope-cli follow`` — so a file saved here is byte-identical to the CLI's output for the
same format and direction. Packets go through ``engine.export.packets`` (the CLI's
``export-pcap``). Both run on a worker with progress and Cancel; files are written atomically,
so a failed or cancelled export leaves nothing behind; errors show the engine's sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from engine import FlowResult
from engine.export.follow import FOLLOW_FORMATS, export_follow
from engine.export.packets import export_conversation
from engine.follow.conversation import conversation_stream, has_stream, no_stream_reason
from engine.packets import Kind
from gui.jobs import PROGRESS_INTERVAL, Job, JobRunner
from gui.settings import settings

SUFFIXES = {f.name: f.suffix for f in FOLLOW_FORMATS.values()}
DIRECTIONS = (("both", "Both directions"), ("a-to-b", "A→B only"), ("b-to-a", "B→A only"))
#: progress callback: (what is happening, fraction done or None when unknown)
PhaseFn = Callable[[str, float | None], None]


def suggested_name(result: FlowResult, conversation: int, what: str, fmt: str = "raw",
                   direction: str = "both") -> str:
    """``capture-tcp3-both.txt``, ``capture-udp0.pcap``: names that say what is inside."""
    table = result.conversations
    files = result.capture.files
    stem = files[0].stem if files else "capture"
    proto = "udp" if int(table.kind[conversation]) == Kind.UDP else "tcp"
    name = f"{stem}-{proto}{int(table.stream[conversation])}"
    if what == "pcap":
        return f"{name}.pcap"
    return f"{name}-{direction}{SUFFIXES[fmt]}"


def write_stream(result: FlowResult, conversation: int, path: str | Path, fmt: str,
                 direction: str, cancel: Callable[[], bool] | None = None,
                 phase: PhaseFn | None = None) -> Path:
    """Reassemble the conversation and write it as ``flowscope-cli follow`` does."""
    def reading(done: int, total: int) -> None:
        if phase is not None:
            phase("Reading the stream", done / total if total else 1.0)

    with conversation_stream(result, conversation, cancel, reading) as stream:
        if phase is not None:
            phase("Writing the file", None)
        export_follow(stream, path, fmt, direction, cancel)
    return Path(path)


def write_pcap(result: FlowResult, conversation: int, path: str | Path,
               cancel: Callable[[], bool] | None = None, phase: PhaseFn | None = None) -> Path:
    """The conversation's packets, as ``flowscope-cli export-pcap`` writes them."""
    def written(done: int, total: int) -> None:
        if phase is not None:
            phase("Writing packets", done / total if total else 1.0)

    export_conversation(result, conversation, path, written, cancel)
    return Path(path)


class ExportJob(Job):
    """An export on the pool; progress reports are (phase, fraction or None)."""

    def __init__(self, description: str, fn: Callable[[Callable[[], bool], PhaseFn], Path]
                 ) -> None:
        super().__init__(description)
        self._fn = fn
        self._last = 0.0

    def work(self) -> Path:
        return self._fn(self._cancel.is_set, self._phase)

    def _phase(self, text: str, fraction: float | None) -> None:
        now = time.monotonic()
        if fraction is None or fraction >= 1.0 or now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            self.progress.emit(self, (text, fraction))


class StreamExportDialog(QDialog):
    """What to export (stream or packets), format, direction, file; progress and Cancel."""

    #: the file was written
    exported = Signal(object)

    def __init__(self, result: FlowResult, conversation: int, parent: QWidget | None = None,
                 direction: str = "both") -> None:
        super().__init__(parent)
        self.flow_result = result
        self.conversation = conversation
        self.runner = JobRunner(self)
        self._job: ExportJob | None = None
        self._path_edited = False
        table = result.conversations
        proto = "UDP" if int(table.kind[conversation]) == Kind.UDP else "TCP"
        self.setWindowTitle(f"Export {proto} Stream {int(table.stream[conversation])}")

        self.stream_choice = QRadioButton("The stream's bytes, as Follow Stream shows them",
                                          self)
        self.pcap_choice = QRadioButton("The conversation's packets, as a pcap file", self)
        self.what = QButtonGroup(self)
        self.what.addButton(self.stream_choice)
        self.what.addButton(self.pcap_choice)
        self.stream_choice.setChecked(True)
        self.format = QComboBox(self)
        for fmt in FOLLOW_FORMATS.values():
            self.format.addItem(f"{fmt.title} ({fmt.suffix})", fmt.name)
        saved = str(settings().value("export/streamFormat", "raw"))
        self.format.setCurrentIndex(max(0, self.format.findData(saved)))
        self.direction = QComboBox(self)
        a = f"{table[conversation].a[0]}:{table[conversation].a[1]}"
        b = f"{table[conversation].b[0]}:{table[conversation].b[1]}"
        for key, label in DIRECTIONS:
            detail = {"both": "", "a-to-b": f"  ({a} → {b})", "b-to-a": f"  ({b} → {a})"}[key]
            self.direction.addItem(label + detail, key)
        self.direction.setCurrentIndex(max(0, self.direction.findData(direction)))
        self.path = QLineEdit(self)
        self.path.textEdited.connect(self._path_typed)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self.browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.status = QLabel(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("Export")
        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Format:", self.format)
        form.addRow("Direction:", self.direction)
        form.addRow("File:", file_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stream_choice)
        layout.addWidget(self.pcap_choice)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(lambda _i: self._suggest())
        self.direction.currentIndexChanged.connect(lambda _i: self._suggest())
        self.what.buttonToggled.connect(lambda *_a: self._what_changed())
        self._suggest()
        self.resize(max(self.sizeHint().width(), 560), self.sizeHint().height())

    # -- choices -----------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """"stream" or "pcap"."""
        return "pcap" if self.pcap_choice.isChecked() else "stream"

    def _what_changed(self) -> None:
        stream = self.kind == "stream"
        self.format.setEnabled(stream)
        self.direction.setEnabled(stream)
        self._suggest()

    def _path_typed(self, _text: str) -> None:
        self._path_edited = True

    def _folder(self) -> Path:
        saved = settings().value("export/streamFolder", "")
        if saved:
            return Path(str(saved))
        files = self.flow_result.capture.files
        return files[0].parent if files else Path.home()

    def _suggest(self) -> None:
        """Keep the suggested file name in step with the choices until the user types one."""
        if self._path_edited:
            return
        name = suggested_name(self.flow_result, self.conversation, self.kind,
                              self.format.currentData(), self.direction.currentData())
        self.path.setText(str(self._folder() / name))

    def browse(self) -> None:
        fmt = self.format.currentData()
        pattern = ("pcap (*.pcap *.pcapng)" if self.kind == "pcap"
                   else f"{self.format.currentText()} (*{SUFFIXES[fmt]})")
        path, _ = QFileDialog.getSaveFileName(self, self.windowTitle(), self.path.text(),
                                              f"{pattern};;All files (*)")
        if path:
            self.path.setText(path)
            self._path_edited = True

    # -- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job is not None

    def start_export(self) -> ExportJob | None:
        """Export with the current choices (the dialog's Export button)."""
        if self._job is not None:
            return None
        text = self.path.text().strip()
        if not text:
            self.status.setText("Choose a file to write.")
            return None
        path = Path(text).expanduser()
        result, conv = self.flow_result, self.conversation
        if self.kind == "pcap":
            def run(cancel: Callable[[], bool], phase: PhaseFn) -> Path:
                return write_pcap(result, conv, path, cancel, phase)
        else:
            fmt, direction = self.format.currentData(), self.direction.currentData()
            settings().setValue("export/streamFormat", fmt)

            def run(cancel: Callable[[], bool], phase: PhaseFn) -> Path:
                return write_stream(result, conv, path, fmt, direction, cancel, phase)
        settings().setValue("export/streamFolder", str(path.parent))
        job = ExportJob(f"Exporting to {path.name}", run)
        job.progress.connect(self._job_progress)
        job.finished.connect(self._job_finished)
        job.errored.connect(self._job_failed)
        job.cancelled.connect(self._job_cancelled)
        self._job = job
        self._set_running(True)
        self.status.setText(f"Exporting to {path.name}…")
        self.runner.start(job)
        return job

    def _set_running(self, running: bool) -> None:
        for widget in (self.stream_choice, self.pcap_choice, self.format, self.direction,
                       self.path):
            widget.setEnabled(not running)
        if not running:
            self._what_changed()
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not running)
        self.progress.setVisible(running)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)

    def _job_progress(self, job: Job, payload: Any) -> None:
        if job is not self._job:
            return
        text, fraction = payload
        if fraction is None:
            self.progress.setRange(0, 0)  # busy
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        self.status.setText(f"{text}…")

    def _job_finished(self, job: Job, path: Path) -> None:
        if job is not self._job:
            return
        self._job = None
        self._set_running(False)
        self.status.setText(f"Saved {path}.")
        self.exported.emit(path)
        self.accept()

    def _job_failed(self, job: Job, message: str) -> None:
        if job is not self._job:
            return
        self._job = None
        self._set_running(False)
        self.status.setText("The export failed; nothing was written.")
        QMessageBox.critical(self, "Export failed", message)

    def _job_cancelled(self, job: Job) -> None:
        if job is not self._job:
            return
        self._job = None
        self._set_running(False)
        self.status.setText("Cancelled; nothing was written.")

    def cancel_export(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.status.setText("Cancelling…")

    def reject(self) -> None:
        """Cancel: stop a running export first (the dialog stays until it has stopped)."""
        if self._job is not None:
            self.cancel_export()
            return
        super().reject()

    def done(self, code: int) -> None:
        if self._job is not None:
            self._job.cancel()
        self.runner.shutdown()
        super().done(code)


def open_stream_export(parent: QWidget, result: FlowResult | None, conversation: int
                       ) -> StreamExportDialog | None:
    """Ctrl+E: the dialog for the selected conversation, or a sentence saying why not."""
    if result is None or conversation < 0:
        QMessageBox.information(parent, "Export Stream",
                                "Select a TCP or UDP conversation to export its stream.")
        return None
    if not has_stream(result, conversation):
        QMessageBox.information(parent, "Export Stream", no_stream_reason(result, conversation))
        return None
    dialog = StreamExportDialog(result, conversation, parent)
    dialog.open()
    return dialog
