"""Reading many byte ranges of a capture (payloads, whole packets) with few large reads.

Ranges that lie close together in the file are read as one block; a range far from the previous
one starts a new block, so a conversation spread thinly over a large file costs one small read
per packet instead of a large block per packet.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..capture import ByteSource

#: ranges closer than this are read together
NEAR = 64 << 10
#: a block never spans more than this (plus one range)
BLOCK = 8 << 20


def read_ranges(source: ByteSource, offsets: np.ndarray, lengths: np.ndarray
                ) -> Iterator[memoryview]:
    """The bytes of each (offset, length) in order (shorter at the end of the source)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 0)
    n = offsets.size
    if not n:
        return
    ends = offsets + lengths
    new = np.ones(n, dtype=bool)
    new[1:] = (offsets[1:] < offsets[:-1]) | (offsets[1:] - ends[:-1] > NEAR)
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    span = offsets - offsets[first][group]
    # split long groups into blocks of about BLOCK bytes
    key = group * (1 << 40) + span // BLOCK
    new[1:] |= key[1:] != key[:-1]
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], n)
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        lo = int(offsets[a])
        hi = int(ends[a:b].max())
        block = memoryview(source.read(lo, hi - lo))
        for off, size in zip(offsets[a:b].tolist(), lengths[a:b].tolist(), strict=True):
            yield block[off - lo : off - lo + size]
