"""gzip decompression that keeps every byte zlib could inflate before damage, and says what the
damage was.

``gzip.GzipFile`` (and a plain ``decompress`` call) drops the whole call's output when zlib
raises: a bad CRC in the trailer or one corrupt byte lost everything. Here each call works on a
copy of the decompressor state; when zlib raises, the input is replayed from that copy one byte
at a time, so the output stops exactly where zlib found the damage. Concatenated members are
followed, and no call inflates more than it is asked for (a small file cannot make it allocate
gigabytes).
"""

from __future__ import annotations

import os
import zlib
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
#: compressed bytes read from the file at a time
READ_BYTES = 1 << 16

#: zlib's words for a gzip header it cannot parse (anything else is damage in the data)
_HEADER_WORDS = ("incorrect header check", "unknown compression method", "header flags",
                 "header crc mismatch", "invalid window size")


class Inflater:
    """``readinto`` of the decompressed bytes of a gzip file; ``problem`` says why it ended
    early (a sentence fragment), ``offset`` how many compressed bytes were consumed."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(wbits=31)
        self._input = b""  # compressed bytes read and not yet all consumed
        self._at = 0  # consumed bytes of ``_input``
        self._base = 0  # file offset of ``_input[0]``
        self._member = 1
        self._member_at = 0  # file offset where the current member starts
        self._started = False  # the current member has consumed input
        self._careful = False  # replaying one byte at a time towards damage zlib reported
        self._done = False
        self.problem: str | None = None

    @property
    def offset(self) -> int:
        """Compressed bytes consumed (for progress, and to say where damage is)."""
        return self._base + self._at

    def readinto(self, view: memoryview) -> int:
        done = 0
        while done < len(view) and not self._done:
            if self._at >= len(self._input) and not self._refill():
                done += self._drain(view[done:])
                if self._started:
                    self.problem = "the compressed data ends before the gzip end marker"
                self._done = True
                break
            step = 1 if self._careful else len(self._input) - self._at
            feed = memoryview(self._input)[self._at : self._at + step]
            saved = None if self._careful else self._z.copy()
            try:
                out = self._z.decompress(feed, len(view) - done)
            except zlib.error as exc:
                if saved is not None:  # replay this input byte by byte up to the damage
                    self._z, self._careful = saved, True
                    continue
                self._damaged(str(exc))
                break
            ended = self._z.eof
            left = len(self._z.unused_data) if ended else len(self._z.unconsumed_tail)
            self._at += len(feed) - left
            self._started = True
            view[done : done + len(out)] = out
            done += len(out)
            if ended:  # end of one member; another may follow
                self._z = zlib.decompressobj(wbits=31)
                self._member += 1
                self._member_at = self.offset
                self._started = self._careful = False
        return done

    def _refill(self) -> bool:
        self._base += len(self._input)
        self._input = self._raw.read(READ_BYTES)
        self._at = 0
        return bool(self._input)

    def _drain(self, view: memoryview) -> int:
        """Output zlib still holds when the input ends (a file cut inside a long match)."""
        done = 0
        while done < len(view):
            try:
                out = self._z.decompress(b"", len(view) - done)
            except zlib.error:
                break
            if not out:
                break
            view[done : done + len(out)] = out
            done += len(out)
        return done

    def _damaged(self, message: str) -> None:
        self._done = True
        reason = message.split(": ", 1)[-1]
        at = self.offset
        if "incorrect data check" in reason:
            self.problem = (f"its gzip trailer (byte {at}) has a bad CRC, so the decompressed "
                            "data may be damaged")
        elif "incorrect length check" in reason:
            self.problem = (f"its gzip trailer (byte {at}) gives the wrong length, so the "
                            "decompressed data may be damaged")
        elif any(word in reason for word in _HEADER_WORDS):
            if self._member > 1 and self._head(self._member_at) != GZIP_MAGIC:
                size = os.fstat(self._raw.fileno()).st_size - self._member_at
                self.problem = f"{size} bytes after the end of the gzip data were ignored"
            else:
                self.problem = (f"the gzip header at byte {self._member_at} is damaged "
                                f"({reason})")
        else:
            self.problem = f"the gzip data is corrupt at byte {at} ({reason})"

    def _head(self, offset: int) -> bytes:
        return os.pread(self._raw.fileno(), 2, offset)
