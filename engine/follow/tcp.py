"""The reassembled byte stream of one TCP conversation, computed when a view or export asks.

:func:`reassemble` plans the stream the way Wireshark's Follow does (:mod:`.tcp_plan`), then reads
the chosen bytes back from the capture into one store per direction (in memory, or spilled to
temporary files past ``FlowConfig.memory_budget``). The result keeps the chunk list in the order
Follow emits it — direction, stream offset, length, packet, time — and the gaps separately.
"""

from __future__ import annotations

import numpy as np

from ..capture import CancelFn
from ..capture.ranges import read_pieces
from ..errors import ConversationNotFound
from ..packets import Kind, PacketTable
from ..result import FlowResult
from ..tcp.segments import TcpPackets, gather_tcp
from .model import (
    DIRECTIONS,
    GAP_MISSING,
    GAP_TRUNCATED,
    Chunks,
    DirectionCounters,
    FollowStream,
    Gap,
    StreamProgressFn,
    fill_stores,
)
from .store import SpillBudget, StreamStore
from .tcp_plan import Plan, plan_follow


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
               progress: StreamProgressFn | None = None) -> FollowStream:
    """Reassemble TCP conversation ``conversation`` (a table row) like Wireshark's Follow."""
    table = result.conversations
    if not 0 <= conversation < len(table) or table.kind[conversation] != Kind.TCP:
        raise ConversationNotFound(f"Conversation {conversation} is not a TCP conversation.")
    config = result.config
    view = result.packet_view(conversation)
    t = gather_tcp(view, table, np.array([conversation]))
    plan = plan_follow(t, config, cancel)
    budget = SpillBudget(config.memory_budget, config.spill_dir)
    stores = (StreamStore(budget), StreamStore(budget))
    try:
        chunks, counters, limits, keep = _read(result, view, t, plan, stores, cancel, progress)
        gaps = _gaps(plan, chunks, keep, t)
        for g in gaps:
            c = counters[g.direction]
            if g.kind == GAP_MISSING:
                c.missing += g.length
            elif g.kind == GAP_TRUNCATED:
                c.truncated += g.length
        _count_drops(result, view, t, plan, chunks, stores, counters)
    except BaseException:
        for store in stores:
            store.close()
        raise
    for lane in (0, 1):
        counters[lane].held_max = plan.held_max[lane]
    row = table[conversation]
    return FollowStream(
        conversation=conversation, stream=int(table.stream[conversation]), a=row.a, b=row.b,
        chunks=chunks, gaps=gaps, stores=stores, counters=counters,
        limits=limits + sorted(set(plan.limit_hits)))


def _read(result: FlowResult, view: PacketTable, t: TcpPackets, plan: Plan,
          stores: tuple[StreamStore, ...],
          cancel: CancelFn | None, progress: StreamProgressFn | None
          ) -> tuple[Chunks, tuple[DirectionCounters, DirectionCounters], list[str], np.ndarray]:
    """Read the planned bytes into the stores, a few MB at a time."""
    cols = plan.chunks.arrays()
    rows, length = cols["row"], cols["length"].copy()
    lane = cols["lane"].astype(np.uint8)
    packet = t.index[rows]
    counters = (DirectionCounters(), DirectionCounters())
    limits = _apply_limit(lane, length, result.config.max_reassembly_buffer, counters)
    keep = length > 0
    offsets, sizes, owner = result.payload_ranges(packet, cols["data_off"], length, view)
    got = fill_stores(result.source, offsets, sizes, lane[owner], stores, cancel, progress,
                      "Reassembly")
    if owner.size != length.size or got.size != length.size:  # a payload in several pieces
        length = np.bincount(owner, weights=got, minlength=length.size).astype(np.int64)
    else:
        length = got
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


def _count_drops(result: FlowResult, view: PacketTable, t: TcpPackets, plan: Plan,
                 chunks: Chunks,
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
            result, view, t, chunks, stores[d], d, drops["row"][mine], drops["data_off"][mine],
            length, drops["seq"][mine])


def _conflicts(result: FlowResult, view: PacketTable, t: TcpPackets, chunks: Chunks,
               store: StreamStore,
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
    packet = t.index[rows[ok]]
    size = (hi - lo)[ok]
    src, pieces, _ = result.payload_ranges(packet, data_off[ok] + (lo - seq)[ok], size, view)
    theirs = np.frombuffer(b"".join(read_pieces(result.source, src, pieces)), np.uint8)
    kept_off = run_off[k[ok]] + (lo - run_seq[k])[ok]
    kept = np.frombuffer(b"".join(store.read(int(a), int(n)) for a, n in
                                  zip(kept_off.tolist(), size.tolist(), strict=True)), np.uint8)
    m = min(theirs.size, kept.size)
    return int(np.count_nonzero(theirs[:m] != kept[:m]))
