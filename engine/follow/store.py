"""Reassembly buffers that move to disk when a memory budget is exceeded.

A :class:`StreamStore` is an append-only byte buffer. While the shared :class:`SpillBudget`
allows, it keeps its bytes in memory; past the budget it moves them to a temporary file in the
spill directory and appends there. Reads give the same bytes either way. Files are removed by
``close()``, and by a finaliser if a store is dropped without it (an error, a cancelled export).
"""

from __future__ import annotations

import bisect
import itertools
import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import ExportError

SPILL_PREFIX = "flowscope-spill-"


class SpillBudget:
    """Bytes of reassembly buffers allowed in memory, shared by the stores of one reassembly."""

    def __init__(self, limit: int | None, directory: Path | None = None) -> None:
        self.limit = limit
        self.directory = directory
        self.in_memory = 0

    def allows(self, more: int) -> bool:
        return self.limit is None or self.in_memory + more <= self.limit


def _remove(fd: list[int | None], path: str) -> None:
    if fd[0] is not None:
        os.close(fd[0])
        fd[0] = None
    Path(path).unlink(missing_ok=True)


class StreamStore:
    """Append-only bytes, in memory or in a temporary file."""

    def __init__(self, budget: SpillBudget | None = None) -> None:
        self._budget = budget or SpillBudget(None)
        self._parts: list[bytes] = []
        self._size = 0
        self._joined: bytes | None = None
        self._starts: list[int] | None = None
        self._fd: list[int | None] = [None]
        self.path: str | None = None
        self._finalizer: weakref.finalize | None = None

    def __len__(self) -> int:
        return self._size

    @property
    def spilled(self) -> bool:
        return self.path is not None

    def append(self, data: bytes | bytearray | memoryview) -> None:
        self.extend([data])

    def extend(self, pieces: list[bytes | bytearray | memoryview], size: int | None = None
               ) -> None:
        """Append several pieces (joined once in memory, or written with one system call per
        few hundred pieces once spilled); ``size`` is their total length when known."""
        if size is None:
            size = sum(len(p) for p in pieces)
        if not size:
            return
        if self.path is None and not self._budget.allows(size):
            self._spill()
        if self.path is None:
            self._parts.append(b"".join(pieces))
            self._budget.in_memory += size
            self._starts = None
            self._joined = None
        else:
            for k in range(0, len(pieces), 512):
                self._write(pieces[k : k + 512])
        self._size += size

    def _spill(self) -> None:
        directory = self._budget.directory
        try:
            fd, path = tempfile.mkstemp(prefix=SPILL_PREFIX, suffix=".bin",
                                        dir=None if directory is None else str(directory))
        except OSError as exc:
            raise ExportError(f"Cannot create a spill file in {directory or 'the temp folder'}: "
                              f"{exc.strerror or exc}.") from None
        self._fd[0] = fd
        self.path = path
        self._finalizer = weakref.finalize(self, _remove, self._fd, path)
        parts, self._parts = self._parts, []
        self._budget.in_memory -= sum(len(p) for p in parts)
        self._joined = None
        self._starts = None
        if parts:
            self._write(parts)

    def _write(self, pieces: Sequence[bytes | bytearray | memoryview]) -> None:
        fd = self._fd[0]
        assert fd is not None
        views = [memoryview(p).cast("B") for p in pieces if len(p)]
        try:
            while views:
                done = os.writev(fd, views)
                while views and done >= len(views[0]):
                    done -= len(views[0])
                    views.pop(0)
                if views and done:
                    views[0] = views[0][done:]
        except OSError as exc:
            raise ExportError(f"Cannot write the spill file {self.path}: "
                              f"{exc.strerror or exc}.") from None

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at the end)."""
        length = max(0, min(length, self._size - offset))
        if length <= 0:
            return b""
        fd = self._fd[0]
        if self.path is not None and fd is not None:
            return os.pread(fd, length, offset)
        if self._joined is not None or len(self._parts) == 1:
            return self.tobytes()[offset : offset + length]
        if self._starts is None:
            self._starts = list(itertools.accumulate((len(p) for p in self._parts), initial=0))
        k = bisect.bisect_right(self._starts, offset) - 1
        out = []
        while length > 0:
            part = self._parts[k]
            piece = part[offset - self._starts[k] : offset - self._starts[k] + length]
            out.append(piece)
            length -= len(piece)
            offset += len(piece)
            k += 1
        return b"".join(out)

    def tobytes(self) -> bytes:
        """All the bytes (joined once and kept, for a stream in memory)."""
        if self.path is not None:
            return self.read(0, self._size) if self._size else b""
        if self._joined is None:
            self._joined = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
            self._parts = [self._joined] if self._joined else []
            self._starts = None
        return self._joined

    def blocks(self, size: int = 4 << 20) -> Iterator[bytes | memoryview]:
        """The bytes in order, at most ``size`` at a time, without joining or copying them."""
        if self.path is None:
            for part in self._parts:
                view = memoryview(part)
                for start in range(0, len(part), size):
                    yield view[start : start + size]
            return
        for start in range(0, self._size, size):
            yield self.read(start, size)

    def close(self) -> None:
        """Release the memory and remove the spill file."""
        if self._parts:
            self._budget.in_memory -= sum(len(p) for p in self._parts)
        self._parts = []
        self._joined = None
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
