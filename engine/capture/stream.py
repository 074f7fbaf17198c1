"""Sequential byte streams for the capture readers: a plain file, or gzip decompressed on the fly.

A gzip capture is decompressed once, while it is indexed, into a temporary file next to the other
spill files, so packet bytes can later be read back by offset like any other capture.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO

from .source import ByteSource, FileSource

GZIP_MAGIC = b"\x1f\x8b"


class CaptureStream:
    """``readinto`` over the capture's (decompressed) bytes, with progress in file bytes."""

    def __init__(self, path: Path, spill_dir: Path | None = None) -> None:
        self.path = path
        self._raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.total_bytes = os.fstat(self._raw.fileno()).st_size
        self.compressed = self._raw.read(2) == GZIP_MAGIC
        self._raw.seek(0)
        self._gz: gzip.GzipFile | None = None
        self._copy: BinaryIO | None = None
        self._copy_path: Path | None = None
        #: a problem that ended the stream early (a damaged gzip member), as a sentence
        self.problem: str | None = None
        if self.compressed:
            self._gz = gzip.GzipFile(fileobj=self._raw, mode="rb")
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
        if self.problem is not None:
            return 0
        done = 0
        while done < len(view):
            try:
                n = self._gz.readinto(view[done:])
            except EOFError:
                self.problem = "the compressed data ends before the gzip end marker"
                n = 0
            except (OSError, zlib.error) as exc:
                self.problem = f"the gzip data is damaged ({exc})"
                n = 0
            if not n:
                break
            done += n
        if done and self._copy is not None:
            self._copy.write(view[:done])
        return done

    @property
    def position(self) -> int:
        """Bytes of the file on disk consumed so far (for progress)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.total_bytes

    def source(self) -> ByteSource:
        """Random access to what was read: the file itself, or the decompressed copy."""
        if self._copy is not None and self._copy_path is not None:
            self._copy.flush()
            return FileSource(self._copy_path, delete_on_close=True)
        return FileSource(self.path)

    def close(self) -> None:
        if self._gz is not None:
            self._gz.close()
        if self._copy is not None:
            self._copy.close()
        self._raw.close()

    def discard(self) -> None:
        """Close and remove the decompressed copy (load failed or was cancelled)."""
        self.close()
        if self._copy_path is not None:
            self._copy_path.unlink(missing_ok=True)
