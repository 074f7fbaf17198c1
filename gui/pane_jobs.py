"""Background work for a detail pane: one request at a time, the newest wins.

A pane shows what it can at once and asks for the slow part (the TCP state machine over 100k
packets, a scapy dissection) through :class:`LatestJob`. A new request cancels the previous one;
a result that arrives for a superseded request is dropped, so a fast click-through of the table
never shows a stale answer. The work runs on the window's :class:`~gui.loader.JobRunner` (its
shutdown on close waits for it) or on a private runner for a pane used on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from .loader import FunctionJob, Job, JobRunner


class LatestJob(QObject):
    """Runs ``fn`` on a pool thread and calls ``done(result)`` in the GUI thread, unless a newer
    request came first. ``failed(message)`` gets the error sentence of a current request."""

    #: the current request finished (after ``done`` ran) or failed
    settled = Signal()

    def __init__(self, runner: JobRunner | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner if runner is not None else JobRunner(self)
        self._own_runner = runner is None
        self._job: Job | None = None
        self._done: Callable[[Any], None] | None = None
        self._failed: Callable[[str], None] | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None

    def run(self, description: str, fn: Callable[[], Any], done: Callable[[Any], None],
            failed: Callable[[str], None] | None = None) -> None:
        self.cancel()
        job = FunctionJob(description, fn)
        job.finished.connect(self._finished)
        job.errored.connect(self._errored)
        job.cancelled.connect(self._cancelled)
        self._job, self._done, self._failed = job, done, failed
        self.runner.start(job)

    def cancel(self) -> None:
        """Forget the current request (its worker finishes in the background)."""
        if self._job is not None:
            self._job.cancel()
        self._job = self._done = self._failed = None

    def shutdown(self) -> None:
        """Cancel, and wait for the workers if the runner is this object's own."""
        self.cancel()
        if self._own_runner:
            self.runner.shutdown()

    def _finished(self, job: Job, result: Any) -> None:
        if job is not self._job:
            return
        done = self._done
        self._job = self._done = self._failed = None
        if done is not None:
            done(result)
        self.settled.emit()

    def _errored(self, job: Job, message: str) -> None:
        if job is not self._job:
            return
        failed = self._failed
        self._job = self._done = self._failed = None
        if failed is not None:
            failed(message)
        self.settled.emit()

    def _cancelled(self, job: Job) -> None:
        if job is self._job:
            self._job = self._done = self._failed = None
