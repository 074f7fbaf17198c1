"""Loading a capture: the engine reads it on a worker while the window reports progress."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.ma  # noqa: F401  (see below)
from PySide6.QtCore import QObject, Signal

from engine import FlowConfig, extract_flows_from_file, extract_flows_from_files
from engine.capture.files import describe_files
from engine.load import Partial
from gui.jobs import GUI_TURN, PROGRESS_INTERVAL, Job
from gui.table.data import ConversationData


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


# numpy.ma is imported here, at start-up: np.unique imports it on first use, and in the loading
# thread that import (with PySide's import hook reading numpy.ma's source) held the interpreter
# for 0.3 s, stalling the event loop as long.

#: Python's thread switch interval while a capture loads. With the default 5 ms, every Python
#: call the GUI thread makes (a repaint calls ``data()`` once per visible cell) can wait that
#: long for the interpreter lock while the loading thread works: measured on a 5M-packet
#: capture, the longest event-loop stall went from 650 ms to 220 ms with 1 ms (and the load
#: itself was no slower).
LOAD_SWITCH_INTERVAL = 0.001
_loads_running = 0
_lock = threading.Lock()
_saved_interval = sys.getswitchinterval()


@contextlib.contextmanager
def _short_switch_interval() -> Iterator[None]:
    """:data:`LOAD_SWITCH_INTERVAL` while any load runs; the interval before after the last."""
    global _loads_running, _saved_interval
    with _lock:
        if _loads_running == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, LOAD_SWITCH_INTERVAL))
        _loads_running += 1
    try:
        yield
    finally:
        with _lock:
            _loads_running -= 1
            if _loads_running == 0:
                sys.setswitchinterval(_saved_interval)


class LoadJob(Job):
    """Read one capture with the engine and prepare the table's columns: a file, a folder of
    them, or several files read as one capture merged by time. While it reads, ``partial``
    carries the conversations found so far (about twice a second)."""

    partial = Signal(object, object)  # job, ConversationData (ConversationData.partial)

    def __init__(self, path: str | Path | Sequence[str | Path], config: FlowConfig,
                 parent: QObject | None = None) -> None:
        items = [path] if isinstance(path, str | Path) else list(path)
        #: what was asked for, in order (a folder stays a folder)
        self.paths = [Path(p) for p in items]
        #: how messages name it until the engine says which files it read
        self.name = describe_files(self.paths)
        super().__init__(f"Reading {self.name}", parent)
        self.config = config
        self._started = 0.0
        self._last_report = 0.0

    @property
    def path(self) -> Path:
        """The first (usually the only) path asked for."""
        return self.paths[0]

    def work(self) -> ConversationData:
        self._started = time.monotonic()
        with _short_switch_interval(), GUI_TURN.worker():
            if len(self.paths) == 1:
                result = extract_flows_from_file(self.paths[0], self.config,
                                                 progress=self._report, cancel=self._stop_here,
                                                 on_snapshot=self._snapshot)
            else:
                result = extract_flows_from_files(self.paths, self.config,
                                                  progress=self._report, cancel=self._stop_here,
                                                  on_snapshot=self._snapshot)
            try:
                return ConversationData(result)
            except BaseException:
                result.close()
                raise

    def _stop_here(self) -> bool:
        """The engine's cancel check, between steps: also the place to let the GUI run."""
        GUI_TURN.let_gui_run()
        return self._cancel.is_set()

    def _snapshot(self, found: Partial) -> None:
        if not self._cancel.is_set():
            self.partial.emit(self, ConversationData.partial(found))

    def discard(self, result: Any) -> None:
        result.result.close()

    def _report(self, done: int, total: int, packets: int) -> None:
        now = time.monotonic()
        if now - self._last_report < PROGRESS_INTERVAL and done < total:
            return
        self._last_report = now
        self.progress.emit(self, LoadProgress(done, total, packets, now - self._started))
