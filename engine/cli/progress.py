"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class ProgressBar:
    """``[#####     ] 37/100 captures  1 failed  812k packets/s`` redrawn in place."""

    def __init__(self, total: int, what: str = "captures", stream: TextIO | None = None
                 ) -> None:
        self.total = total
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = total > 0 and self.stream.isatty()
        self.done = 0
        self.failed = 0
        self.packets = 0
        self.start = time.monotonic()
        self._last = 0.0

    def advance(self, failed: bool = False, packets: int = 0) -> None:
        self.done += 1
        self.failed += failed
        self.packets += packets
        now = time.monotonic()
        if self.enabled and (now - self._last >= 0.1 or self.done == self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        tail = f" {self.done}/{self.total} {self.what}"
        if self.failed:
            tail += f"  {self.failed} failed"
        if self.packets:
            tail += f"  {self.packets / elapsed / 1000:,.0f}k packets/s"
        width = max(min(shutil.get_terminal_size((80, 20)).columns - len(tail) - 3, 40), 10)
        filled = int(width * self.done / self.total)
        self.stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}]{tail}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (so what is printed next starts on a line of its own)."""
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()
