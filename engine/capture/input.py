"""Sequential byte streams for the capture readers: a plain file, or gzip decompressed on the fly.

A gzip capture is decompressed once, while it is indexed, into a temporary file next to the other
spill files, so packet bytes can later be read back by offset like any other capture. The copy
never fills the disk: it stops with :class:`DiskSpaceError` while a margin is still free.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from ..errors import DiskSpaceError, InvalidCaptureError
from .inflate import GZIP_MAGIC, Inflater
from .source import ByteSource, FileSource

#: the free space of the decompressed copy's disk is checked every this many bytes written
SPACE_CHECK_BYTES = 16 << 20


class CaptureInput:
    """``readinto`` over the capture's (decompressed) bytes, with progress in file bytes."""

    def __init__(self, path: Path, spill_dir: Path | None = None,
                 free_margin: int = 1 << 30) -> None:
        self.path = path
        self._raw: io.BufferedReader = _open_regular(path)
        self.total_bytes = os.fstat(self._raw.fileno()).st_size
        self.compressed = self._raw.read(2) == GZIP_MAGIC
        self._raw.seek(0)
        self._gz: Inflater | None = None
        self._copy: BinaryIO | None = None
        self._copy_path: Path | None = None
        self._free_margin = free_margin
        self._written = 0
        self._next_check = 0
        #: a problem that ended the stream early (a damaged gzip member), as a sentence
        self.problem: str | None = None
        if self.compressed:
            self._gz = Inflater(self._raw)
            fd, name = tempfile.mkstemp(prefix="flowscope-", suffix=".pcap", dir=spill_dir)
            self._copy = os.fdopen(fd, "wb")
            self._copy_path = Path(name)

    def peek(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer at the end), returned again by the next ``readinto``."""
        view = memoryview(bytearray(n))
        got = self._read(view)
        self._pushback = bytes(view[:got]) + self._pushback
        return self._pushback[:n]

    _pushback = b""

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` as far as possible; 0 at the end (or after a damaged gzip stream)."""
        if self._pushback:
            n = min(len(self._pushback), len(view))
            view[:n] = self._pushback[:n]
            self._pushback = self._pushback[n:]
            return n
        return self._read(view)

    def _read(self, view: memoryview) -> int:
        if self._gz is None:
            return self._raw.readinto(view)
        done = self._gz.readinto(view)
        self.problem = self._gz.problem
        if done and self._copy is not None:
            if self._written + done > self._next_check:
                self._check_space()
            self._copy.write(view[:done])
            self._written += done
        return done

    def _check_space(self) -> None:
        """Stop before the copy could eat into the disk's last ``free_margin`` bytes."""
        assert self._copy_path is not None
        folder = self._copy_path.parent
        free = shutil.disk_usage(folder).free
        if free < self._free_margin + SPACE_CHECK_BYTES:
            raise DiskSpaceError(
                f"{self.path.name} decompresses to more than {folder} has room for: "
                f"{_mb(self._written)} written after {_mb(self.position)} of its "
                f"{_mb(self.total_bytes)} compressed, and only {_mb(free)} left free (Flowscope "
                f"keeps {_mb(self._free_margin)} free); decompress it where there is room, or "
                "point the spill folder elsewhere.")
        self._next_check = self._written + SPACE_CHECK_BYTES

    def fileno(self) -> int:
        """The open capture file's descriptor (of the file on disk, compressed or not)."""
        return self._raw.fileno()

    def skip_to(self, offset: int) -> None:
        """Continue reading a plain file at ``offset`` (the reader took the bytes before it
        from a memory map of the file)."""
        assert self._gz is None and not self._pushback
        self._raw.seek(offset)

    @property
    def position(self) -> int:
        """Bytes of the file on disk consumed so far (for progress: compressed bytes for gzip,
        however much they inflate to)."""
        if self._gz is not None:
            return min(self._gz.offset, self.total_bytes)
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.total_bytes

    def source(self) -> ByteSource:
        """Random access to what was read: the file itself, or the decompressed copy."""
        path, temporary = self.source_file()
        return FileSource(path, delete_on_close=temporary)

    def source_file(self) -> tuple[Path, bool]:
        """The file holding what was read, and whether it is a temporary decompressed copy
        (its reader removes it when done)."""
        if self._copy is not None and self._copy_path is not None:
            if not self._copy.closed:
                self._copy.flush()
            return self._copy_path, True
        return self.path, False

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()
        self._raw.close()

    def discard(self) -> None:
        """Close and remove the decompressed copy (load failed or was cancelled)."""
        self.close()
        if self._copy_path is not None:
            self._copy_path.unlink(missing_ok=True)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 10**6 else f"{size:,} bytes"


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _open_regular(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading only if it is a regular file.

    Opening a FIFO with no writer blocks forever, and a device never ends: the file is opened
    without blocking and checked with ``fstat`` (no window for a swap between check and open).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise InvalidCaptureError(
                f"{path} is {what}, not a capture file, so Flowscope does not read it.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
