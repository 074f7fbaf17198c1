"""Packet bytes of a capture made of several files, read back by offset.

The packet offsets of a merged capture live in one virtual byte space: each chunk the merged
reader hands out occupies a fresh stretch of it, made of *segments* — (virtual start, file, file
offset, length) — so a packet's offset names its file and its place there. A chunk passed
through from one file is one segment; a chunk merged from several files has one segment per
file it took records from. The table grows with the chunks (a few entries per 16 MB), not with
the packets.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .source import FileSource

#: files kept open at once (a ring buffer can hold more files than a process may open)
OPEN_FILES = 64


@dataclass
class SegmentTable:
    """Where each stretch of the virtual space comes from, in order of virtual start."""

    starts: list[int] = field(default_factory=list)
    files: list[int] = field(default_factory=list)
    file_offsets: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    #: first virtual offset not yet used
    end: int = 0

    def add(self, file: int, file_offset: int, length: int) -> int:
        """Give ``length`` bytes of ``file`` from ``file_offset`` the next virtual stretch;
        returns its virtual start."""
        start = self.end
        self.starts.append(start)
        self.files.append(file)
        self.file_offsets.append(file_offset)
        self.lengths.append(length)
        self.end = start + length
        return start

    def frozen(self) -> FrozenSegments:
        return FrozenSegments(np.array(self.starts, dtype=np.int64),
                              np.array(self.files, dtype=np.int64),
                              np.array(self.file_offsets, dtype=np.int64),
                              np.array(self.lengths, dtype=np.int64))


@dataclass(frozen=True)
class FrozenSegments:
    starts: np.ndarray
    files: np.ndarray
    file_offsets: np.ndarray
    lengths: np.ndarray

    def locate(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(file index, offset in that file) of each virtual offset."""
        offsets = np.asarray(offsets, dtype=np.int64)
        k = np.maximum(np.searchsorted(self.starts, offsets, side="right") - 1, 0)
        return self.files[k], self.file_offsets[k] + (offsets - self.starts[k])


@dataclass(frozen=True)
class MemberFile:
    """One file of the set as the byte source reads it: the file itself, or the decompressed
    copy of a gzip file (removed when the source closes)."""

    path: Path
    temporary: bool = False


class MultiSource:
    """A :class:`~engine.capture.source.ByteSource` over the files of a merged capture."""

    def __init__(self, files: list[MemberFile], segments: FrozenSegments) -> None:
        self.files = files
        self.segments = segments
        #: the same table as Python lists (one read looks up one offset: bisect is quicker)
        self._lists = (segments.starts.tolist(), segments.lengths.tolist(),
                       segments.files.tolist(), segments.file_offsets.tolist())
        self._open: OrderedDict[int, FileSource] = OrderedDict()
        self._users: dict[int, int] = {}
        self._retired: dict[int, FileSource] = {}  # evicted while a reader still used them
        self._lock = threading.Lock()
        self._closed = False

    def locate(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(file index, offset in the file) of each packet offset."""
        return self.segments.locate(offsets)

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from virtual ``offset`` (fewer at the end of the space); a read
        that crosses segments joins their bytes, as in one file."""
        if length <= 0:
            return b""
        starts, lengths, files, file_offsets = self._lists
        k = bisect.bisect_right(starts, offset) - 1
        pieces: list[bytes] = []
        while length > 0 and 0 <= k < len(starts):
            within = offset - starts[k]
            take = min(length, lengths[k] - within)
            if take <= 0:
                break
            data = self._read_file(files[k], file_offsets[k] + within, take)
            pieces.append(data)
            if len(data) < take:
                break
            offset += take
            length -= take
            k += 1
        return b"".join(pieces)

    def _read_file(self, index: int, offset: int, length: int) -> bytes:
        source = self._acquire(index)
        try:
            return source.read(offset, length)
        finally:
            self._release(source)

    def _acquire(self, index: int) -> FileSource:
        """The open file (opened now if need be); an older file is closed to make room, or
        as soon as the read still using it ends."""
        with self._lock:
            if self._closed:
                raise ValueError("the capture's files are closed")
            source = self._open.get(index)
            if source is None:
                source = FileSource(self.files[index].path)
                self._open[index] = source
                while len(self._open) > OPEN_FILES:
                    _, evicted = self._open.popitem(last=False)
                    if self._users.get(id(evicted)):
                        self._retired[id(evicted)] = evicted
                    else:
                        evicted.close()
            else:
                self._open.move_to_end(index)
            self._users[id(source)] = self._users.get(id(source), 0) + 1
            return source

    def _release(self, source: FileSource) -> None:
        with self._lock:
            key = id(source)
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                if self._retired.pop(key, None) is not None:
                    source.close()

    def close(self) -> None:
        """Close every file and remove the decompressed copies."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for source in [*self._open.values(), *self._retired.values()]:
                source.close()
            self._open.clear()
            self._retired.clear()
        for member in self.files:
            if member.temporary:
                member.path.unlink(missing_ok=True)

    def __del__(self) -> None:
        self.close()
