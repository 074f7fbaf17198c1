"""Background jobs: engine work runs on a QThreadPool worker, results come back as signals.

The napari pattern: a job is a QObject living in the GUI thread whose ``run`` executes on a pool
thread; it never touches a widget, only emits ``progress``/``finished``/``errored``/``cancelled``
(queued to the GUI thread because the job object lives there). Cancelling sets a flag that the
engine polls between chunks (``cancel=``), so the previous capture stays untouched until a new
one has fully loaded. Every signal carries the job, so a window can ignore a superseded one.

Panes use :class:`LatestJob`: a pane shows what it can at once and asks for the slow part (the
TCP state machine over 100k packets, a scapy dissection) as a request; a new request cancels the
previous one, and a result that arrives for a superseded request is dropped, so a fast
click-through of the table never shows a stale answer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThreadPool, Signal

from engine import FlowError, LoadCancelled

from .priority import run_in_background

log = logging.getLogger(__name__)

#: progress signals are rate-limited to this interval (seconds); the engine may call more often
PROGRESS_INTERVAL = 0.05


class GuiTurn:
    """The GUI thread's turn at the interpreter while a load works in the background.

    Under the GIL every Python call the GUI thread makes waits for the loading thread to let go
    of the interpreter, and a repaint of the conversation table makes thousands (the model's
    ``data()``, once per visible cell and role): measured on a 5M-packet capture, a repaint took
    96 ms while the capture loaded and 33 ms after. So the GUI thread asks for a turn around such
    work (:meth:`turn`), and a load parks at its next cancel check (:meth:`let_gui_run`, which
    the engine polls every step) until the turn is over: the repaint runs alone. The GUI thread
    waits at most ``wait`` seconds for a load to park, and a load never parks longer than
    :data:`MAX_PARK` seconds.
    """

    MAX_PARK = 0.5

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._wanted = 0  # turns the GUI thread is in (they nest)
        self._workers = 0  # loads that park on request
        self._parked = 0

    @contextlib.contextmanager
    def turn(self, wait: float = 0.05) -> Iterator[None]:
        """Around GUI-thread work that calls Python many times: loads pause meanwhile."""
        release = self.hold(wait)
        try:
            yield
        finally:
            release()

    def hold(self, wait: float = 0.05) -> Callable[[], None]:
        """A turn that lasts until the returned function is called (once is enough; later
        calls do nothing): for work spread over passes of the event loop."""
        with self._cond:
            self._wanted += 1
            if self._wanted == 1 and self._workers:
                self._cond.wait_for(lambda: self._parked >= self._workers, timeout=wait)
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            with self._cond:
                self._wanted -= 1
                if not self._wanted:
                    self._cond.notify_all()
        return release

    @contextlib.contextmanager
    def worker(self) -> Iterator[None]:
        """Around a load whose cancel checks call :meth:`let_gui_run`."""
        with self._cond:
            self._workers += 1
        try:
            yield
        finally:
            with self._cond:
                self._workers -= 1
                self._cond.notify_all()

    def let_gui_run(self) -> None:
        """Park while the GUI thread has its turn (called by a load between steps)."""
        if not self._wanted:  # the common case: no lock taken
            return
        with self._cond:
            if not self._wanted:
                return
            self._parked += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._wanted, timeout=self.MAX_PARK)
            self._parked -= 1


#: the one GUI thread's turns
GUI_TURN = GuiTurn()


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
            run_in_background()  # (this thread and what the work starts yield to the GUI's)
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
        self._jobs = self.active()
        self._jobs.append(job)
        job.start(self.pool)
        return job

    def active(self) -> list[Job]:
        return [j for j in self._jobs if not j.is_done]

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel every job and wait for the workers; True if they all returned. The jobs that
        returned are let go (with whatever they hold: a pane's job holds its capture)."""
        for job in self._jobs:
            job.cancel()
        done = bool(self.pool.waitForDone(timeout_ms))
        self._jobs = self.active()
        return done

# -- one request at a time, the newest wins ---------------------------------------------------
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
