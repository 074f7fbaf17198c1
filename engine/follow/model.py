"""What Follow gives for any conversation with a byte stream: the bytes of each direction, the
chunks in the order they were sent, the turns, and the gaps.

TCP (:mod:`.tcp`) and UDP (:mod:`.udp`) both build a :class:`FollowStream`; neither borrows the
other's internals. The bytes live in one :class:`~engine.follow.store.StreamStore` per direction
(memory, or spilled to disk past the budget); chunks reference them by offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..capture import ByteSource, CancelFn
from ..capture.ranges import read_pieces
from ..errors import LoadCancelled
from .store import StreamStore

#: progress(bytes done, bytes total) while the stream's bytes are read
StreamProgressFn = Callable[[int, int], None]

DIRECTIONS = ("a_to_b", "b_to_a")

# kinds of gaps (bytes that belong to the stream but are not in it)
GAP_MISSING = "missing"  # acknowledged by the peer but never captured (tshark's gap marker)
GAP_TRUNCATED = "truncated"  # in a captured packet, beyond the snap length
GAP_LIMIT = "limit"  # skipped because too many segments were held (FlowConfig.max_ooo_segments)
GAP_FRAGMENTED = "fragmented"  # a UDP datagram whose payload came in IP fragments


@dataclass
class Chunks:
    """Chunks in emission order: each is a run of bytes of one packet in one direction."""

    direction: np.ndarray  # uint8: 0 = A→B, 1 = B→A
    offset: np.ndarray  # int64: position in that direction's bytes
    length: np.ndarray  # int64
    packet: np.ndarray  # int64: packet index in the capture
    ts_ns: np.ndarray  # int64: that packet's time
    seq: np.ndarray  # int64: relative sequence number of the first byte

    def __len__(self) -> int:
        return int(self.length.size)


@dataclass
class Turns:
    """Runs of consecutive chunks of one direction with no gap inside: what Follow prints as one
    block and the stream view draws as one turn (a direction's chunks are contiguous in its
    bytes, so a run is one range of them)."""

    first_chunk: np.ndarray  # int64, the run's first chunk
    direction: np.ndarray  # uint8
    offset: np.ndarray  # int64, where the run starts in its direction's bytes
    length: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.first_chunk.size)


@dataclass
class Gap:
    direction: int  # 0 = A→B, 1 = B→A
    offset: int  # position in that direction's bytes where the missing bytes belong
    length: int  # bytes missing
    kind: str  # "missing" (never captured), "truncated" (cut by the snap length), "limit"
    packet: int  # the packet that revealed it
    before_chunk: int  # index of the chunk that follows it in emission order


@dataclass
class DirectionCounters:
    bytes: int = 0  # bytes kept
    retransmitted: int = 0  # captured bytes dropped from segments that brought nothing new
    overlapping: int = 0  # captured bytes dropped from segments that also brought new bytes
    conflicting: int = 0  # dropped bytes that differ from the kept bytes at the same position
    missing: int = 0  # bytes in "missing" gaps
    truncated: int = 0  # bytes in "truncated" gaps
    over_limit: int = 0  # bytes not kept because of FlowConfig.max_reassembly_buffer
    held_max: int = 0  # most out-of-order segments waiting at once


@dataclass
class FollowStream:
    """Both directions of one conversation's bytes. Close it (or use ``with``) to free the
    stores and remove any spill files."""

    conversation: int
    stream: int  # Wireshark's tcp.stream / udp.stream
    a: tuple[str, int | None]
    b: tuple[str, int | None]
    chunks: Chunks
    gaps: list[Gap]
    stores: tuple[StreamStore, StreamStore]
    counters: tuple[DirectionCounters, DirectionCounters]
    limits: list[str] = field(default_factory=list)
    #: True for datagram streams (UDP): each chunk is one datagram, not a run of a byte stream
    datagrams: bool = False

    def data(self, direction: int) -> bytes:
        """All bytes of one direction (0 = A→B, 1 = B→A)."""
        return self.stores[direction].tobytes()

    def chunk_bytes(self, k: int) -> bytes:
        d = int(self.chunks.direction[k])
        return self.stores[d].read(int(self.chunks.offset[k]), int(self.chunks.length[k]))

    def turns(self) -> Turns:
        """The runs of one direction between direction changes and gaps."""
        c = self.chunks
        n = len(c)
        if n == 0:
            none = np.zeros(0, dtype=np.int64)
            return Turns(none, np.zeros(0, dtype=np.uint8), none, none)
        cut = np.ones(n, dtype=bool)
        cut[1:] = c.direction[1:] != c.direction[:-1]
        cut[[g.before_chunk for g in self.gaps if g.before_chunk < n]] = True
        first = np.flatnonzero(cut)
        last = np.append(first[1:], n) - 1
        offset = c.offset[first]
        return Turns(first, c.direction[first], offset, c.offset[last] + c.length[last] - offset)

    def gaps_of(self, direction: int, kind: str | None = None) -> list[Gap]:
        return [g for g in self.gaps if g.direction == direction and (kind is None
                                                                     or g.kind == kind)]

    @property
    def spilled(self) -> bool:
        return any(s.spilled for s in self.stores)

    def close(self) -> None:
        for store in self.stores:
            store.close()

    def __enter__(self) -> FollowStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()




_BATCH = 16 << 20


def fill_stores(source: ByteSource, offsets: np.ndarray, lengths: np.ndarray, lanes: np.ndarray,
                stores: tuple[StreamStore, ...], cancel: CancelFn | None,
                progress: StreamProgressFn | None, what: str) -> np.ndarray:
    """Append each piece (offset, length in the capture) to its lane's store, reading about
    ``_BATCH`` bytes at a time; returns the lengths read (shorter only where the capture ended
    early: what is there is kept). ``what`` names the work in the cancellation message."""
    got = lengths.copy()
    total = int(lengths.sum())
    done = 0
    todo = np.flatnonzero(lengths > 0)
    edges = np.searchsorted(np.cumsum(lengths[todo]), np.arange(_BATCH, total, _BATCH),
                            side="right")
    for batch in np.split(todo, edges):
        if not batch.size:
            continue
        pieces = read_pieces(source, offsets[batch], lengths[batch])
        got[batch] = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        sides = lanes[batch]
        for d in (0, 1):
            mine = np.flatnonzero(sides == d)
            if mine.size:
                stores[d].extend([pieces[k] for k in mine.tolist()], int(got[batch[mine]].sum()))
        done += int(got[batch].sum())
        if cancel is not None and cancel():
            raise LoadCancelled(f"{what} was cancelled.")
        if progress is not None:
            progress(done, total)
    if progress is not None:
        progress(total, total)
    return got


