"""Reassembly buffers that move to disk when a memory budget is exceeded.

A :class:`StreamStore` is an append-only byte buffer. While the shared :class:`SpillBudget`
allows, it keeps its bytes in memory; past the budget it moves them to a temporary file in the
spill directory and appends there. Reads give the same bytes either way. Files are removed by
``close()``, and by a finaliser if a store is dropped without it (an error, a cancelled export).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

from ..errors import ExportError

SPILL_PREFIX = "flowscope-spill-"


class SpillBudget:
    """Bytes of reassembly buffers allowed in memory, shared by the stores of one reassembly."""

    def __init__(self, limit: int | None, directory: Path | None = None) -> None:
        self.limit = limit
        self.directory = directory
        self.in_memory = 0
        self.spilled_files = 0

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
        self._fd: list[int | None] = [None]
        self.path: str | None = None
        self._finalizer: weakref.finalize | None = None

    def __len__(self) -> int:
        return self._size

    @property
    def spilled(self) -> bool:
        return self.path is not None

    def append(self, data: bytes | bytearray | memoryview) -> None:
        size = len(data)
        if not size:
            return
        if self.path is None and not self._budget.allows(size):
            self._spill()
        if self.path is None:
            self._parts.append(bytes(data))
            self._budget.in_memory += size
            self._joined = None
        else:
            self._write(data)
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
        self._budget.spilled_files += 1
        parts, self._parts = self._parts, []
        self._budget.in_memory -= sum(len(p) for p in parts)
        self._joined = None
        for part in parts:
            self._write(part)

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        fd = self._fd[0]
        assert fd is not None
        view = memoryview(data)
        try:
            while view:
                done = os.write(fd, view)
                view = view[done:]
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
        return self.tobytes()[offset : offset + length]

    def tobytes(self) -> bytes:
        if self.path is not None:
            return self.read(0, self._size) if self._size else b""
        if self._joined is None:
            self._joined = b"".join(self._parts)
            self._parts = [self._joined] if self._joined else []
        return self._joined

    def blocks(self, size: int = 4 << 20) -> Iterator[bytes]:
        """The bytes in order, ``size`` at a time (without holding a spilled stream in memory)."""
        if self.path is None:
            data = self.tobytes()
            for start in range(0, len(data), size):
                yield data[start : start + size]
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
