"""The reassembled byte stream of one TCP conversation, computed when a view or export asks.

:func:`reassemble` plans the stream the way Wireshark's Follow does (``reassembly``), then reads
the chosen bytes back from the capture into one store per direction (in memory, or spilled to
temporary files past ``FlowConfig.memory_budget``). The result keeps the chunk list in the order
Follow emits it — direction, stream offset, length, packet, time — and the gaps separately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..capture import ByteSource, CancelFn
from ..errors import ConversationNotFound, LoadCancelled
from ..packets import Kind
from ..result import FlowResult
from .ranges import read_pieces
from .reassembly import GAP_MISSING, GAP_TRUNCATED, Plan, plan_follow
from .segments import TcpPackets, gather_tcp
from .spill import SpillBudget, StreamStore

#: progress(bytes done, bytes total) while the stream's bytes are read
StreamProgressFn = Callable[[int, int], None]

DIRECTIONS = ("a_to_b", "b_to_a")


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
class TcpStream:
    """Both directions of one TCP conversation. Close it (or use ``with``) to free the stores
    and remove any spill files."""

    conversation: int
    stream: int  # Wireshark's tcp.stream
    a: tuple[str, int]
    b: tuple[str, int]
    chunks: Chunks
    gaps: list[Gap]
    stores: tuple[StreamStore, StreamStore]
    counters: tuple[DirectionCounters, DirectionCounters]
    limits: list[str] = field(default_factory=list)

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

    def __enter__(self) -> TcpStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_tcp_stream(result: FlowResult, stream: int) -> int:
    """The conversation (table row) with Wireshark's ``tcp.stream == stream``."""
    rows = result.conversations.rows_with_stream(Kind.TCP, stream)
    if not rows.size:
        count = int((result.conversations.kind == Kind.TCP).sum())
        raise ConversationNotFound(
            f"There is no TCP stream {stream} in this capture (it has {count} TCP "
            f"stream{'s' if count != 1 else ''}, numbered from 0).")
    return int(rows[0])


def reassemble(result: FlowResult, conversation: int, cancel: CancelFn | None = None,
               progress: StreamProgressFn | None = None) -> TcpStream:
    """Reassemble TCP conversation ``conversation`` (a table row) like Wireshark's Follow."""
    table = result.conversations
    if not 0 <= conversation < len(table) or table.kind[conversation] != Kind.TCP:
        raise ConversationNotFound(f"Conversation {conversation} is not a TCP conversation.")
    config = result.config
    t = gather_tcp(result.packets, table, np.array([conversation]))
    plan = plan_follow(t, config, cancel)
    budget = SpillBudget(config.memory_budget, config.spill_dir)
    stores = (StreamStore(budget), StreamStore(budget))
    try:
        chunks, counters, limits, keep = _read(result, t, plan, stores, cancel, progress)
        gaps = _gaps(plan, chunks, keep, t)
        for g in gaps:
            c = counters[g.direction]
            if g.kind == GAP_MISSING:
                c.missing += g.length
            elif g.kind == GAP_TRUNCATED:
                c.truncated += g.length
        _count_drops(result, t, plan, chunks, stores, counters)
    except BaseException:
        for store in stores:
            store.close()
        raise
    for lane in (0, 1):
        counters[lane].held_max = plan.held_max[lane]
    view = table[conversation]
    return TcpStream(
        conversation=conversation, stream=int(table.stream[conversation]), a=view.a, b=view.b,
        chunks=chunks, gaps=gaps, stores=stores, counters=counters,
        limits=limits + sorted(set(plan.limit_hits)))


def _read(result: FlowResult, t: TcpPackets, plan: Plan, stores: tuple[StreamStore, ...],
          cancel: CancelFn | None, progress: StreamProgressFn | None
          ) -> tuple[Chunks, tuple[DirectionCounters, DirectionCounters], list[str], np.ndarray]:
    """Read the planned bytes into the stores, a few MB at a time."""
    p = result.packets
    cols = plan.chunks.arrays()
    rows, length = cols["row"], cols["length"].copy()
    lane = cols["lane"].astype(np.uint8)
    packet = t.index[rows]
    source_off = (p.offset[packet] + p.payload_off[packet].astype(np.int64) + cols["data_off"])
    counters = (DirectionCounters(), DirectionCounters())
    limits = _apply_limit(lane, length, result.config.max_reassembly_buffer, counters)
    keep = length > 0
    length = fill_stores(result.source, source_off, length, lane, stores, cancel, progress,
                         "Reassembly")
    keep &= length > 0
    lane, length, rows = lane[keep], length[keep], rows[keep]
    offset = np.zeros(lane.size, dtype=np.int64)
    for d in (0, 1):
        mine = lane == d
        sizes = length[mine]
        offset[mine] = np.cumsum(sizes) - sizes
        counters[d].bytes = len(stores[d])
    chunks = Chunks(direction=lane, offset=offset, length=length, packet=t.index[rows],
                    ts_ns=t.ts[rows], seq=cols["seq"][keep])
    return chunks, counters, limits, keep


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


def _apply_limit(lane: np.ndarray, length: np.ndarray, limit: int,
                 counters: tuple[DirectionCounters, DirectionCounters]) -> list[str]:
    """Cut each direction at ``limit`` bytes (FlowConfig.max_reassembly_buffer), in place."""
    limits = []
    for d in (0, 1):
        mine = np.flatnonzero(lane == d)
        before = np.cumsum(length[mine]) - length[mine]
        room = np.clip(limit - before, 0, None)
        cut = np.minimum(length[mine], room)
        if (cut < length[mine]).any():
            counters[d].over_limit = int((length[mine] - cut).sum())
            length[mine] = cut
            limits.append(f"the {DIRECTIONS[d].replace('_', ' ')} stream was cut at {limit} "
                          "bytes (FlowConfig.max_reassembly_buffer)")
    return limits


def _gaps(plan: Plan, chunks: Chunks, keep: np.ndarray, t: TcpPackets) -> list[Gap]:
    """Gaps with their stream offsets (positions refer to the chunks that were kept)."""
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    before = [np.concatenate(([0], np.cumsum(np.where(chunks.direction == d, chunks.length, 0))))
              for d in (0, 1)]
    out = []
    for lane, position, missing, kind, row in plan.gaps:
        k = int(kept_before[position])
        out.append(Gap(direction=lane, offset=int(before[lane][k]), length=missing, kind=kind,
                       packet=int(t.index[row]), before_chunk=k))
    return out


def _count_drops(result: FlowResult, t: TcpPackets, plan: Plan, chunks: Chunks,
                 stores: tuple[StreamStore, ...],
                 counters: tuple[DirectionCounters, DirectionCounters]) -> None:
    """Add up dropped bytes, and compare them with the kept bytes at the same positions."""
    drops = plan.drops.arrays()
    if not drops["row"].size:
        return
    for d in (0, 1):
        mine = drops["lane"] == d
        if not mine.any():
            continue
        whole = drops["whole"][mine] != 0
        length = drops["length"][mine]
        counters[d].retransmitted += int(length[whole].sum())
        counters[d].overlapping += int(length[~whole].sum())
        counters[d].conflicting += _conflicts(
            result, t, chunks, stores[d], d, drops["row"][mine], drops["data_off"][mine],
            length, drops["seq"][mine])


def _conflicts(result: FlowResult, t: TcpPackets, chunks: Chunks, store: StreamStore,
               lane: int, rows: np.ndarray, data_off: np.ndarray, length: np.ndarray,
               seq: np.ndarray) -> int:
    """Dropped bytes that differ from the kept bytes at the same sequence numbers."""
    mine = np.flatnonzero(chunks.direction == lane)
    if not mine.size:
        return 0
    cseq, coff, clen = chunks.seq[mine], chunks.offset[mine], chunks.length[mine]
    # runs of chunks contiguous in sequence space map sequence numbers to stream offsets
    new = np.ones(cseq.size, dtype=bool)
    new[1:] = cseq[1:] != cseq[:-1] + clen[:-1]
    first = np.flatnonzero(new)
    run_seq, run_off = cseq[first], coff[first]
    run_end = np.append(cseq[first[1:] - 1] + clen[first[1:] - 1], cseq[-1] + clen[-1])
    k = np.searchsorted(run_seq, seq, side="right") - 1
    ok = k >= 0
    k = np.maximum(k, 0)
    lo = np.maximum(seq, run_seq[k])
    hi = np.minimum(seq + length, run_end[k])
    ok &= hi > lo
    if not ok.any():
        return 0
    p = result.packets
    packet = t.index[rows[ok]]
    src = (p.offset[packet] + p.payload_off[packet].astype(np.int64) + data_off[ok]
           + (lo - seq)[ok])
    size = (hi - lo)[ok]
    theirs = np.frombuffer(b"".join(read_pieces(result.source, src, size)), np.uint8)
    kept_off = run_off[k[ok]] + (lo - run_seq[k])[ok]
    kept = np.frombuffer(b"".join(store.read(int(a), int(n)) for a, n in
                                  zip(kept_off.tolist(), size.tolist(), strict=True)), np.uint8)
    m = min(theirs.size, kept.size)
    return int(np.count_nonzero(theirs[:m] != kept[:m]))
