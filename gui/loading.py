"""Loading a capture: the engine reads it on a worker while the window reports progress."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from engine import FlowConfig, extract_flows_from_file
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
