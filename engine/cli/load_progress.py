"""A progress line on stderr while a capture is read, for a person watching a terminal.

``bytes read / total · packets · packets/s · time left``, redrawn at most ten times a second
and erased at the end; nothing at all when stderr is not a terminal (a pipe, a file, CI) or
with ``--quiet``, so scripted output never carries it.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..capture import ProgressFn

REDRAW = 0.1


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class ProgressLine:
    """A :data:`~engine.capture.ProgressFn` that draws the line; :meth:`close` erases it."""

    def __init__(self, name: str, out: TextIO) -> None:
        self.name = name
        self.out = out
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def __call__(self, done: int, total: int, packets: int) -> None:
        now = time.monotonic()
        if now - self._drawn < REDRAW and done < total:
            return
        self._drawn = now
        elapsed = max(now - self.started, 1e-9)
        parts = [f"{self.name}: {_size(done)} of {_size(total)}", f"{packets:,} packets"]
        if elapsed > 0.3 and packets:
            parts.append(f"{packets / elapsed:,.0f} packets/s")
            if 0 < done < total:
                parts.append(f"{(total - done) * elapsed / done:.0f} s left")
        if done >= total:
            parts.append("building conversations")
        text = " · ".join(parts)
        self.out.write("\r" + text.ljust(self._width))
        self.out.flush()
        self._width = len(text)

    def close(self) -> None:
        if self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self.out.flush()
            self._width = 0


def progress_line(name: str, quiet: bool, out: TextIO | None = None) -> ProgressLine | None:
    """The line for ``name`` when ``out`` (stderr) is a terminal and not ``quiet``."""
    out = sys.stderr if out is None else out
    if quiet or not out.isatty():
        return None
    return ProgressLine(name, out)


__all__ = ["ProgressFn", "ProgressLine", "progress_line"]
