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
from ..table import format_address
from .ranges import read_ranges
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
        _count_drops(result.source, result, t, plan, chunks, stores, counters)
    except BaseException:
        for store in stores:
            store.close()
        raise
    for lane in (0, 1):
        counters[lane].held_max = plan.held_max[lane]
    i = conversation
    return TcpStream(
        conversation=i, stream=int(table.stream[i]),
        a=(format_address(int(table.family[i]), int(table.a_hi[i]), int(table.a_lo[i])),
           int(table.a_port[i])),
        b=(format_address(int(table.family[i]), int(table.b_hi[i]), int(table.b_lo[i])),
           int(table.b_port[i])),
        chunks=chunks, gaps=gaps, stores=stores, counters=counters,
        limits=limits + sorted(set(plan.limit_hits)))


def _read(result: FlowResult, t: TcpPackets, plan: Plan, stores: tuple[StreamStore, ...],
          cancel: CancelFn | None, progress: StreamProgressFn | None
          ) -> tuple[Chunks, tuple[DirectionCounters, DirectionCounters], list[str], np.ndarray]:
    p = result.packets
    rows = np.asarray(plan.row, dtype=np.int64)
    packet = t.index[rows]
    lane = np.asarray(plan.lane, dtype=np.uint8)
    length = np.asarray(plan.length, dtype=np.int64)
    source_off = (p.offset[packet] + p.payload_off[packet].astype(np.int64)
                  + np.asarray(plan.data_off, dtype=np.int64))
    limit = result.config.max_reassembly_buffer
    counters = (DirectionCounters(), DirectionCounters())
    limits: list[str] = []
    keep = np.ones(rows.size, dtype=bool)
    total = int(length.sum())
    done = 0
    datas = read_ranges(result.source, source_off, length)
    for k, (d, n, data) in enumerate(zip(lane.tolist(), length.tolist(), datas, strict=True)):
        store = stores[d]
        if len(store) + n > limit:
            room = max(limit - len(store), 0)
            counters[d].over_limit += n - room
            if room == 0:
                keep[k] = False
                continue
            length[k] = n = room
            limits.append(f"the {DIRECTIONS[d].replace('_', ' ')} stream was cut at "
                          f"{limit} bytes (FlowConfig.max_reassembly_buffer)")
        if len(data) > n:
            data = data[:n]
        if len(data) < n:  # the capture ended early: keep what is there
            length[k] = n = len(data)
        store.append(data)
        done += n
        if not k & 0x3FF:
            if cancel is not None and cancel():
                raise LoadCancelled("Reassembly was cancelled.")
            if progress is not None:
                progress(done, total)
    if progress is not None:
        progress(total, total)
    lane, length, rows = lane[keep], length[keep], rows[keep]
    offset = np.zeros(lane.size, dtype=np.int64)
    for d in (0, 1):
        mine = lane == d
        sizes = length[mine]
        offset[mine] = np.cumsum(sizes) - sizes
        counters[d].bytes = len(stores[d])
    chunks = Chunks(direction=lane, offset=offset, length=length, packet=t.index[rows],
                    ts_ns=t.ts[rows], seq=np.asarray(plan.seq, dtype=np.int64)[keep])
    return chunks, counters, sorted(set(limits)), keep


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


def _count_drops(source: ByteSource, result: FlowResult, t: TcpPackets, plan: Plan,
                 chunks: Chunks, stores: tuple[StreamStore, ...],
                 counters: tuple[DirectionCounters, DirectionCounters]) -> None:
    """Add up dropped bytes, and compare them with the kept bytes at the same positions."""
    if not plan.drops:
        return
    p = result.packets
    by_lane = []
    for d in (0, 1):
        mine = np.flatnonzero(chunks.direction == d)
        by_lane.append((chunks.seq[mine], chunks.offset[mine], chunks.length[mine]))
    for lane, row, off, length, seq, whole in plan.drops:
        c = counters[lane]
        if whole:
            c.retransmitted += length
        else:
            c.overlapping += length
        seqs, offs, lens = by_lane[lane]
        if not seqs.size:
            continue
        k = max(int(np.searchsorted(seqs, seq, side="right")) - 1, 0)
        dropped = None
        while k < seqs.size and seqs[k] < seq + length:
            lo, hi = max(seq, int(seqs[k])), min(seq + length, int(seqs[k] + lens[k]))
            if lo < hi:
                if dropped is None:
                    i = int(t.index[row])
                    dropped = np.frombuffer(source.read(
                        int(p.offset[i]) + int(p.payload_off[i]) + off, length), np.uint8)
                kept = np.frombuffer(stores[lane].read(int(offs[k]) + lo - int(seqs[k]),
                                                       hi - lo), np.uint8)
                theirs = dropped[lo - seq : hi - seq]
                m = min(kept.size, theirs.size)
                c.conflicting += int(np.count_nonzero(kept[:m] != theirs[:m]))
            k += 1
