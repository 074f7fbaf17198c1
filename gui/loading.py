"""Loading a capture: the engine reads it on a worker while the window reports progress."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from engine import FlowConfig, extract_flows_from_file, extract_flows_from_files
from engine.capture.files import describe_files
from gui.jobs import PROGRESS_INTERVAL, Job
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


class LoadJob(Job):
    """Read one capture with the engine and prepare the table's columns: a file, a folder of
    them, or several files read as one capture merged by time."""

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
        if len(self.paths) == 1:
            result = extract_flows_from_file(self.paths[0], self.config, progress=self._report,
                                             cancel=self._cancel.is_set)
        else:
            result = extract_flows_from_files(self.paths, self.config, progress=self._report,
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
