"""Where packet bytes live after the index is built, so views can read them back by offset.

The packet index keeps only offsets; a :class:`ByteSource` turns (offset, length) back into bytes
for reassembly, dissection and export without holding the capture in memory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np


class ByteSource(Protocol):
    """Random access to the (decompressed) capture bytes."""

    def read(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None: ...


def source_array(source: ByteSource) -> np.ndarray | None:
    """The source's bytes as a read-only uint8 array without copying them (a memory map of a
    file), so many packets' bytes can be gathered with one numpy index; None when the source
    cannot offer that (its bytes are then read one ``read`` at a time)."""
    array = getattr(source, "array", None)
    return array() if callable(array) else None


class FileSource:
    """Reads from a file with ``os.pread`` (thread-safe, no shared file position)."""

    def __init__(self, path: str | Path, delete_on_close: bool = False) -> None:
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._delete = delete_on_close
        self._lock = threading.Lock()
        self._map: np.ndarray | None = None

    def read(self, offset: int, length: int) -> bytes:
        fd = self._fd
        if fd is None:
            raise ValueError(f"{self.path} is closed")
        if length <= 0:
            return b""
        if hasattr(os, "pread"):
            return os.pread(fd, length, offset)
        with self._lock:  # pragma: no cover - Windows has no pread
            os.lseek(fd, offset, os.SEEK_SET)
            return os.read(fd, length)

    def array(self) -> np.ndarray | None:
        """The file memory-mapped read-only (None when empty or closed)."""
        if self._map is None and self._fd is not None:
            size = os.fstat(self._fd).st_size
            if size:
                self._map = np.memmap(self.path, dtype=np.uint8, mode="r", shape=(size,))
        return self._map

    def close(self) -> None:
        self._map = None  # views handed out keep the mapping alive until they go
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self._delete:
                self.path.unlink(missing_ok=True)

    def __del__(self) -> None:
        self.close()


class MemorySource:
    """Packet bytes handed to the API in memory (scapy packets, raw records)."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = data

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self._data[offset : offset + max(length, 0)])

    def array(self) -> np.ndarray:
        return np.frombuffer(self._data, dtype=np.uint8)

    def close(self) -> None:
        pass
