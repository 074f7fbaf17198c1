"""Reading many byte ranges of a capture (payloads, whole packets) with few large reads.

Ranges that lie close together in the file are read as one block; a range far from the previous
one starts a new block, so a conversation spread thinly over a large file costs one small read
per packet instead of a large block per packet.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .source import ByteSource

#: ranges closer than this are read together
NEAR = 64 << 10
#: a block never spans more than this (plus one range)
BLOCK = 8 << 20


def read_ranges(source: ByteSource, offsets: np.ndarray, lengths: np.ndarray
                ) -> Iterator[memoryview]:
    """The bytes of each (offset, length) in order (shorter at the end of the source)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 0)
    for lo, a, b, block in _blocks(source, offsets, lengths):
        for off, size in zip(offsets[a:b].tolist(), lengths[a:b].tolist(), strict=True):
            yield block[off - lo : off - lo + size]


def read_pieces(source: ByteSource, offsets: np.ndarray, lengths: np.ndarray
                ) -> list[memoryview]:
    """All ranges at once, in the given order (views into a few large blocks, read in file
    order so that ranges given out of order are still read once)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 0)
    order = None
    if offsets.size > 1 and (offsets[1:] < offsets[:-1]).any():
        order = np.argsort(offsets, kind="stable")
        offsets, lengths = offsets[order], lengths[order]
    pieces: list[memoryview] = []
    for lo, a, b, block in _blocks(source, offsets, lengths):
        starts = (offsets[a:b] - lo).tolist()
        stops = (offsets[a:b] + lengths[a:b] - lo).tolist()
        pieces += [block[x:y] for x, y in zip(starts, stops, strict=True)]
    if order is None:
        return pieces
    inverse = np.empty(order.size, dtype=np.int64)
    inverse[order] = np.arange(order.size)
    return [pieces[i] for i in inverse.tolist()]


def _blocks(source: ByteSource, offsets: np.ndarray, lengths: np.ndarray
            ) -> Iterator[tuple[int, int, int, memoryview]]:
    """(block start, first range, end range, block bytes) for groups of nearby ranges."""
    n = offsets.size
    if not n:
        return
    ends = offsets + lengths
    new = np.ones(n, dtype=bool)
    new[1:] = (offsets[1:] < offsets[:-1]) | (offsets[1:] - ends[:-1] > NEAR)
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    span = offsets - offsets[first][group]
    key = group * (1 << 40) + span // BLOCK
    new[1:] |= key[1:] != key[:-1]
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], n)
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        lo = int(offsets[a])
        hi = int(ends[a:b].max())
        yield lo, a, b, memoryview(source.read(lo, hi - lo))
