"""The datagrams of one UDP conversation as a Follow stream.

Wireshark's Follow UDP Stream shows each datagram's payload in capture order. A
:class:`~engine.follow.model.FollowStream` with one chunk per datagram (``datagrams=True``) lets
the stream views and the Follow export writers (``engine.export.follow``) serve UDP and TCP
alike. Payload bytes that are not in the capture are reported as gaps, never invented:
``truncated`` where the snap length cut the datagram, ``fragmented`` where it came in IP
fragments that were not reassembled. Datagrams reassembled from fragments are read back from
them.
"""

from __future__ import annotations

import numpy as np

from ..capture import CancelFn
from ..errors import ConversationNotFound
from ..packets import PAYLOAD_REASSEMBLED, Kind
from ..result import FlowResult
from .model import (
    GAP_FRAGMENTED,
    GAP_TRUNCATED,
    Chunks,
    DirectionCounters,
    FollowStream,
    Gap,
    StreamProgressFn,
    fill_stores,
)
from .store import SpillBudget, StreamStore


def datagram_stream(result: FlowResult, conversation: int, cancel: CancelFn | None = None,
                    progress: StreamProgressFn | None = None,
                    packets: np.ndarray | None = None) -> FollowStream:
    """The UDP conversation ``conversation`` (a table row) as a stream: ``chunks`` are its
    datagrams (empty ones left out). ``packets`` restricts it to some of the conversation's
    packets (by default: all of them, in file order)."""
    table = result.conversations
    if not 0 <= conversation < len(table) or table.kind[conversation] != Kind.UDP:
        raise ConversationNotFound(f"Conversation {conversation} is not a UDP conversation.")
    if packets is None:
        packets = result.packets_of(conversation)
    p = result.packet_view(conversation)
    packets = np.asarray(packets, dtype=np.int64)
    payload = np.maximum(p.payload_len[packets], 0).astype(np.int64)
    off = p.payload_off[packets].astype(np.int64)
    in_frame = off >= 0
    reassembled = off == PAYLOAD_REASSEMBLED  # every fragment was captured
    captured = np.where(in_frame, np.clip(p.caplen[packets].astype(np.int64) - off, 0, payload),
                        np.where(reassembled, payload, 0))
    lane = p.direction[packets].astype(np.uint8)
    budget = SpillBudget(result.config.memory_budget, result.config.spill_dir)
    stores = (StreamStore(budget), StreamStore(budget))
    try:
        offsets, sizes, owner = result.payload_ranges(packets, np.zeros_like(captured), captured,
                                                      p)
        got = fill_stores(result.source, offsets, sizes, lane[owner], stores, cancel, progress,
                          "Reading the UDP payloads")
        captured = np.bincount(owner, weights=got, minlength=packets.size).astype(np.int64)
    except BaseException:
        for store in stores:
            store.close()
        raise
    has_data = captured > 0
    keep = np.flatnonzero(has_data)
    length = captured[keep]
    direction = lane[keep]
    offset = np.zeros(keep.size, dtype=np.int64)
    counters = (DirectionCounters(), DirectionCounters())
    for d in (0, 1):
        mine = direction == d
        offset[mine] = np.cumsum(length[mine]) - length[mine]
        counters[d].bytes = len(stores[d])
    chunks = Chunks(direction=direction, offset=offset, length=length, packet=packets[keep],
                    ts_ns=p.ts_ns[packets[keep]], seq=offset.copy())
    gaps = _gaps(packets, payload - captured, captured, in_frame | reassembled, lane, counters)
    view = table[conversation]
    return FollowStream(
        conversation=conversation, stream=int(table.stream[conversation]), a=view.a, b=view.b,
        chunks=chunks, gaps=gaps, stores=stores, counters=counters, datagrams=True)


def _gaps(packets: np.ndarray, missing: np.ndarray, captured: np.ndarray, in_frame: np.ndarray,
          lane: np.ndarray, counters: tuple[DirectionCounters, DirectionCounters]) -> list[Gap]:
    """One gap per datagram whose payload is not all in the capture, after its captured part
    (a Python loop over those datagrams only)."""
    rows = np.flatnonzero(missing > 0)
    if not rows.size:
        return []
    has_data = captured > 0
    chunks_through = np.cumsum(has_data)  # chunks up to and including each datagram
    position = np.zeros(packets.size, dtype=np.int64)  # direction offset after each datagram
    for d in (0, 1):
        mine = np.flatnonzero(lane == d)
        position[mine] = np.cumsum(captured[mine])
    out = []
    for r in rows.tolist():
        d = int(lane[r])
        kind = GAP_TRUNCATED if in_frame[r] else GAP_FRAGMENTED
        size = int(missing[r])
        if kind == GAP_TRUNCATED:
            counters[d].truncated += size
        else:
            counters[d].missing += size
        out.append(Gap(direction=d, offset=int(position[r]), length=size, kind=kind,
                       packet=int(packets[r]), before_chunk=int(chunks_through[r])))
    return out
