"""Background jobs: the engine runs on a QThreadPool worker, results come back as signals.

The napari pattern: a job is a QObject living in the GUI thread whose ``run`` executes on a pool
thread; it never touches a widget, only emits ``progress``/``finished``/``errored``/``cancelled``
(queued to the GUI thread because the job object lives there). Cancelling sets a flag that the
engine polls between chunks (``cancel=``), so the previous capture stays untouched until a new
one has fully loaded. Every signal carries the job, so a window can ignore a superseded one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThreadPool, Signal

from engine import FlowConfig, FlowError, LoadCancelled, extract_flows_from_file

from .conversation_data import ConversationData

log = logging.getLogger(__name__)

#: progress signals are rate-limited to this interval (seconds); the engine may call more often
PROGRESS_INTERVAL = 0.05


@dataclass(frozen=True)
class LoadProgress:
    """One progress report: bytes read of the file, packets so far, time since the start."""

    done_bytes: int
    total_bytes: int
    packets: int
    elapsed: float

    @property
    def fraction(self) -> float:
        return min(self.done_bytes / self.total_bytes, 1.0) if self.total_bytes > 0 else 0.0

    @property
    def reading_done(self) -> bool:
        """All bytes are read; the engine is building conversations (no finer progress)."""
        return self.total_bytes > 0 and self.done_bytes >= self.total_bytes

    @property
    def packets_per_second(self) -> float:
        return self.packets / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Time left for reading, from the byte rate so far (None before there is a rate)."""
        if self.elapsed <= 0 or self.done_bytes <= 0 or self.total_bytes <= 0:
            return None
        rate = self.done_bytes / self.elapsed
        return max(self.total_bytes - self.done_bytes, 0) / rate


class Job(QObject):
    """Work for the pool with cooperative cancelling; subclasses implement :meth:`work`."""

    progress = Signal(object, object)  # job, payload (LoadProgress for loads)
    finished = Signal(object, object)  # job, result
    errored = Signal(object, str)  # job, a sentence for the user
    cancelled = Signal(object)  # job

    _running: ClassVar[set[Job]] = set()
    _running_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, description: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.description = description
        self._cancel = threading.Event()
        self._done = threading.Event()

    # -- GUI thread side ---------------------------------------------------------------------
    def start(self, pool: QThreadPool) -> None:
        with Job._running_lock:
            Job._running.add(self)
        pool.start(self._run)

    def cancel(self) -> None:
        """Ask the job to stop at its next check; ``cancelled`` follows (or ``finished``, if the
        work was already past its last check: the receiver then discards the result)."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    @classmethod
    def running_count(cls) -> int:
        """Jobs started and not yet returned from their worker (tests assert it reaches 0)."""
        with cls._running_lock:
            return len(cls._running)

    # -- worker thread side -----------------------------------------------------------------
    def work(self) -> Any:
        raise NotImplementedError

    def discard(self, result: Any) -> None:
        """Release a result nobody will receive (the job was cancelled after computing it)."""

    def _run(self) -> None:
        try:
            result = self.work()
        except LoadCancelled:
            self.cancelled.emit(self)
        except FlowError as exc:
            self.errored.emit(self, str(exc))
        except MemoryError:
            self.errored.emit(self, f"There is not enough memory for {self.description}.")
        except OSError as exc:
            self.errored.emit(self, f"{self.description} failed: {exc.strerror or exc}.")
        except Exception as exc:  # a bug: report it in one sentence, log the details
            log.exception("%s failed", self.description)
            self.errored.emit(self, f"{self.description} failed because of an internal error "
                                    f"({type(exc).__name__}: {exc}).")
        else:
            if self._cancel.is_set():
                self.discard(result)
                self.cancelled.emit(self)
            else:
                self.finished.emit(self, result)
        finally:
            self._done.set()
            with Job._running_lock:
                Job._running.discard(self)


class LoadJob(Job):
    """Read one capture with the engine and prepare the table's columns."""

    def __init__(self, path: str | Path, config: FlowConfig,
                 parent: QObject | None = None) -> None:
        self.path = Path(path)
        super().__init__(f"Reading {self.path.name}", parent)
        self.config = config
        self._started = 0.0
        self._last_report = 0.0

    def work(self) -> ConversationData:
        self._started = time.monotonic()
        result = extract_flows_from_file(self.path, self.config, progress=self._report,
                                         cancel=self._cancel.is_set)
        try:
            return ConversationData(result)
        except BaseException:
            result.close()
            raise

    def discard(self, result: Any) -> None:
        result.result.close()

    def _report(self, done: int, total: int, packets: int) -> None:
        now = time.monotonic()
        if now - self._last_report < PROGRESS_INTERVAL and done < total:
            return
        self._last_report = now
        self.progress.emit(self, LoadProgress(done, total, packets, now - self._started))


class FunctionJob(Job):
    """Any callable on the pool (exports, large copies): ``finished`` carries its return."""

    def __init__(self, description: str, fn: Callable[[], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(description, parent)
        self._fn = fn

    def work(self) -> Any:
        return self._fn()


class JobRunner(QObject):
    """The pool the window's jobs run on; ``shutdown`` cancels and waits for all of them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._jobs: list[Job] = []

    def start(self, job: Job) -> Job:
        self._jobs = [j for j in self._jobs if not j.is_done]
        self._jobs.append(job)
        job.start(self.pool)
        return job

    def active(self) -> list[Job]:
        return [j for j in self._jobs if not j.is_done]

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel every job and wait for the workers; True if they all returned."""
        for job in self._jobs:
            job.cancel()
        return bool(self.pool.waitForDone(timeout_ms))
