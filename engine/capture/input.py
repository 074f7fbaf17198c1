"""Sequential byte streams for the capture readers: a plain file, or gzip decompressed on the fly.

A gzip capture is decompressed once, while it is indexed, into a temporary file next to the other
spill files, so packet bytes can later be read back by offset like any other capture.
"""

from __future__ import annotations

import io
import os
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO

from .source import ByteSource, FileSource

GZIP_MAGIC = b"\x1f\x8b"


class CaptureInput:
    """``readinto`` over the capture's (decompressed) bytes, with progress in file bytes."""

    def __init__(self, path: Path, spill_dir: Path | None = None) -> None:
        self.path = path
        self._raw: io.BufferedReader = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.total_bytes = os.fstat(self._raw.fileno()).st_size
        self.compressed = self._raw.read(2) == GZIP_MAGIC
        self._raw.seek(0)
        self._gz: _Inflater | None = None
        self._copy: BinaryIO | None = None
        self._copy_path: Path | None = None
        #: a problem that ended the stream early (a damaged gzip member), as a sentence
        self.problem: str | None = None
        if self.compressed:
            self._gz = _Inflater(self._raw)
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
            if not self._copy.closed:
                self._copy.flush()
            return FileSource(self._copy_path, delete_on_close=True)
        return FileSource(self.path)

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()
        self._raw.close()

    def discard(self) -> None:
        """Close and remove the decompressed copy (load failed or was cancelled)."""
        self.close()
        if self._copy_path is not None:
            self._copy_path.unlink(missing_ok=True)


class _Inflater:
    """gzip decompression that keeps every byte it could decompress when the data ends early or
    is damaged (``gzip.GzipFile`` drops a partly read block), handles concatenated members, and
    never inflates more than asked for at a time (a small file cannot make it allocate gigabytes).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(wbits=31)
        self._input = b""
        self._started = False
        self._done = False
        self.problem: str | None = None

    def readinto(self, view: memoryview) -> int:
        done = 0
        while done < len(view) and not self._done:
            if not self._input:
                self._input = self._raw.read(1 << 16)
                if not self._input:
                    if self._started:
                        self.problem = "the compressed data ends before the gzip end marker"
                    self._done = True
                    break
            try:
                out = self._z.decompress(self._input, len(view) - done)
            except zlib.error as exc:
                if self._started:
                    self.problem = f"the gzip data is damaged ({exc})"
                else:
                    self.problem = "bytes after the end of the gzip data were ignored"
                self._done = True
                break
            self._started = True
            self._input = self._z.unconsumed_tail
            view[done : done + len(out)] = out
            done += len(out)
            if self._z.eof:  # end of one member; another may follow
                self._input = self._z.unused_data
                self._z = zlib.decompressobj(wbits=31)
                self._started = False
        return done
