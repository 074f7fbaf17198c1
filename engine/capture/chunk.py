"""Packet records of one chunk of a capture, as columns, and the buffer they point into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .accel import walker

#: zero bytes kept after the data in every chunk buffer, so decoders can gather fixed-width header
#: windows at any record offset without bounds checks (they mask by captured length instead)
PAD = 512


@dataclass
class RecordChunk:
    """Records whose bytes are all inside ``buf`` (valid until the reader moves on).

    ``data_off`` is relative to ``buf``; ``base`` is the stream offset of ``buf[0]``, so the
    file offset of a packet is ``base + data_off``.
    """

    buf: np.ndarray  # uint8, padded with at least PAD readable bytes after the last record
    base: int
    data_off: np.ndarray  # int64
    caplen: np.ndarray  # uint32
    origlen: np.ndarray  # uint32
    ts_ns: np.ndarray  # int64
    iface: np.ndarray  # uint16, index into the reader's interface list
    #: hands the buffer back to the reader for reuse (see :meth:`done`)
    recycle: Callable[[], None] | None = None

    def __len__(self) -> int:
        return int(self.data_off.size)

    def done(self) -> None:
        """Say the chunk's bytes are no longer needed: the reader may refill its buffer (reused
        buffers are already mapped in memory, so reading into them costs no page faults)."""
        if self.recycle is not None:
            recycle, self.recycle = self.recycle, None
            recycle()


def gather(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """``width`` bytes from each start in ``pos``, as an (n, width) uint8 array.

    The compiled walker module copies the windows when it is built (a third of the decoder's
    time went to numpy's per-window copy calls); otherwise, and for any position it will not
    take, one fancy index over a sliding-window view copies every row in a single pass, several
    times faster than indexing byte by byte. Positions must leave ``width`` readable bytes (the
    chunk padding guarantees it for header-sized windows).
    """
    compiled = walker()
    if compiled is not None and buf.flags.c_contiguous and buf.dtype == np.uint8:
        out = np.empty((pos.size, width), dtype=np.uint8)
        if compiled.gather(buf, np.ascontiguousarray(pos, dtype=np.int64), width, out):
            return out
    windows = np.ndarray(shape=(buf.size - width + 1,), dtype=np.dtype((np.void, width)),
                         buffer=buf, strides=(1,))
    return windows[pos].view(np.uint8).reshape(-1, width)


def u32_at(buf: np.ndarray, pos: np.ndarray, big_endian: bool) -> np.ndarray:
    """The 32-bit integers starting at byte positions ``pos`` of ``buf`` (unaligned gather)."""
    rows = gather(buf, pos, 4)
    return rows.view(">u4" if big_endian else "<u4")[:, 0].astype(np.uint32)



def u32_fields(buf: np.ndarray, pos: np.ndarray, count: int, big_endian: bool) -> np.ndarray:
    """``count`` consecutive 32-bit integers at each position, as an (n, count) uint32 array."""
    rows = gather(buf, pos, 4 * count)
    return rows.view(">u4" if big_endian else "<u4").astype(np.uint32)
