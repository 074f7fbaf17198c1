"""What a packet list and a TCP timeline say about each packet of one conversation.

The columns of one conversation's packets, in file order, with the TCP facts a reader wants next
to each packet: sequence and acknowledgement numbers relative to each side's base (as Wireshark
shows them), and notes — *retransmission* and *out-of-order* from the same classification that
counts them for the conversation table (:mod:`engine.tcp.seqstats`), and *gap*: a segment that
starts above everything its sender had sent before, so the bytes in between were never captured.
Each packet also gets one *mark* kind (SYN, SYN-ACK, data, pure ACK, FIN, RST, retransmission)
for drawing it on a timeline.

All of it is whole-column numpy over the conversation's packets; nothing here reads packet bytes.
Views ask :func:`conversation_packets`, which keeps the last few answers per result.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .packets import ACK, FIN, RST, SYN, Kind
from .result import FlowResult
from .tcp.segments import TcpPackets, gather_tcp
from .tcp.segments import conversation_packets as packet_rows
from .tcp.seqstats import sequence_stats

NOTE_RETRANSMISSION, NOTE_OUT_OF_ORDER, NOTE_GAP = 1, 2, 4
NOTE_NAMES = ((NOTE_RETRANSMISSION, "retransmission"), (NOTE_OUT_OF_ORDER, "out-of-order"),
              (NOTE_GAP, "gap"))


class Mark(IntEnum):
    """How a packet is drawn on a timeline (the first that applies, in this order of priority:
    RST, retransmission, SYN-ACK, SYN, FIN, data, pure ACK, other)."""

    SYN = 0
    SYN_ACK = 1
    DATA = 2
    ACK = 3
    FIN = 4
    RST = 5
    RETRANSMISSION = 6
    OTHER = 7


MARK_NAMES = {Mark.SYN: "SYN", Mark.SYN_ACK: "SYN-ACK", Mark.DATA: "data", Mark.ACK: "pure ACK",
              Mark.FIN: "FIN", Mark.RST: "RST", Mark.RETRANSMISSION: "retransmission",
              Mark.OTHER: "other"}

#: Wireshark's order in its Info column: ``[SYN, ACK]``, ``[FIN, PSH, ACK]``
_FLAG_NAMES = ((FIN, "FIN"), (SYN, "SYN"), (RST, "RST"), (0x08, "PSH"), (ACK, "ACK"),
               (0x20, "URG"), (0x40, "ECE"), (0x80, "CWR"), (0x100, "NS"))


@dataclass(frozen=True)
class ConversationPackets:
    """One row per packet of conversation ``conversation``, file order."""

    conversation: int
    kind: int  # packets.Kind of the conversation
    client_lane: int  # 0 when endpoint A opened the connection, 1 when B did (TCP; else 0)
    index: np.ndarray  # int64, packet index in the capture (Wireshark's number - 1)
    ts_ns: np.ndarray  # int64
    direction: np.ndarray  # uint8, 0 = A→B, 1 = B→A
    length: np.ndarray  # int64, frame length on the wire
    payload: np.ndarray  # int64, transport payload bytes (from the IP/UDP length)
    flags: np.ndarray  # uint16, TCP flags (0 for other protocols)
    rel_seq: np.ndarray  # int64, sequence number relative to the sender's base (TCP)
    rel_ack: np.ndarray  # int64, acknowledgement relative to the receiver's base (TCP)
    seg_len: np.ndarray  # int64, sequence space used: payload + SYN + FIN (TCP)
    notes: np.ndarray  # uint8, NOTE_* bits
    mark: np.ndarray  # uint8, Mark

    def __len__(self) -> int:
        return int(self.index.size)

    @property
    def is_tcp(self) -> bool:
        return self.kind == Kind.TCP

    @property
    def has_ack(self) -> np.ndarray:
        return (self.flags & ACK) != 0

    def row_of(self, packet: int) -> int:
        """Row of capture packet ``packet`` (-1 if it is not in this conversation)."""
        row = int(np.searchsorted(self.index, packet))
        return row if row < len(self) and int(self.index[row]) == packet else -1


def flag_text(flags: int) -> str:
    """``SYN, ACK`` (Wireshark's order); empty for no flags."""
    return ", ".join(name for bit, name in _FLAG_NAMES if flags & bit)


def note_text(notes: int) -> str:
    return ", ".join(name for bit, name in NOTE_NAMES if notes & bit)


def build_conversation_packets(result: FlowResult, conversation: int) -> ConversationPackets:
    """The packet columns of one conversation (a table row); see the module docstring."""
    table = result.conversations
    kind = int(table.kind[conversation])
    if kind == Kind.TCP:
        return _tcp_packets(result, conversation)
    p = result.packet_view(conversation)
    index, _ = packet_rows(p, table, np.array([conversation]))  # with or without stored lists
    n = index.size
    zeros = np.zeros(n, dtype=np.int64)
    return ConversationPackets(
        conversation=conversation, kind=kind, client_lane=0, index=index,
        ts_ns=p.ts_ns[index], direction=p.direction[index],
        length=p.origlen[index].astype(np.int64),
        payload=np.maximum(p.payload_len[index], 0).astype(np.int64),
        flags=np.zeros(n, dtype=np.uint16), rel_seq=zeros, rel_ack=zeros, seg_len=zeros,
        notes=np.zeros(n, dtype=np.uint8), mark=np.full(n, Mark.OTHER, dtype=np.uint8))


def _tcp_packets(result: FlowResult, conversation: int) -> ConversationPackets:
    t = gather_tcp(result.packet_view(conversation), result.conversations,
                   np.array([conversation]))
    stats = sequence_stats(t)
    syn, fin, rst, ack = t.has(SYN), t.has(FIN), t.has(RST), t.has(ACK)
    seg_len = t.plen + syn + fin
    notes = np.zeros(len(t), dtype=np.uint8)
    notes[stats.retransmitted] |= NOTE_RETRANSMISSION
    notes[stats.reordered] |= NOTE_OUT_OF_ORDER
    notes[_gaps(t, np.where(rst, 0, seg_len))] |= NOTE_GAP
    mark = np.full(len(t), Mark.OTHER, dtype=np.uint8)
    # lowest priority first: later assignments win
    mark[ack] = Mark.ACK
    mark[t.plen > 0] = Mark.DATA
    mark[fin] = Mark.FIN
    mark[syn] = Mark.SYN
    mark[syn & ack] = Mark.SYN_ACK
    mark[stats.retransmitted] = Mark.RETRANSMISSION
    mark[rst] = Mark.RST
    client = result.conversations.extra.get("client")
    client_lane = int(client is not None and str(client[conversation]) == "B")
    return ConversationPackets(
        conversation=conversation, kind=Kind.TCP, client_lane=client_lane, index=t.index,
        ts_ns=t.ts, direction=t.lane, length=result.packets.origlen[t.index].astype(np.int64),
        payload=t.plen, flags=t.flags, rel_seq=t.rel, rel_ack=t.ack_rel, seg_len=seg_len,
        notes=notes, mark=mark)


def _gaps(t: TcpPackets, seg_len: np.ndarray) -> np.ndarray:
    """Rows of segments that start above the highest sequence end their sender used before
    (bytes between were never captured); a side's first segment never counts."""
    out = np.zeros(len(t), dtype=bool)
    for lane in (0, 1):
        rows = np.flatnonzero((t.lane == lane) & (seg_len > 0))
        if rows.size < 2:
            continue
        start = t.rel[rows]
        high = np.maximum.accumulate(start + seg_len[rows])
        out[rows[1:][start[1:] > high[:-1]]] = True
    return out


# -- a small cache: the timeline and the packet list ask for the same conversation -----------
_KEEP = 4
_cache: weakref.WeakKeyDictionary[FlowResult, OrderedDict[int, ConversationPackets]] = (
    weakref.WeakKeyDictionary())
_lock = threading.Lock()


def conversation_packets(result: FlowResult, conversation: int) -> ConversationPackets:
    """:func:`build_conversation_packets`, remembered for the last few conversations asked."""
    with _lock:
        mine = _cache.get(result)
        if mine is not None and conversation in mine:
            mine.move_to_end(conversation)
            return mine[conversation]
    value = build_conversation_packets(result, conversation)
    with _lock:
        mine = _cache.setdefault(result, OrderedDict())
        mine[conversation] = value
        while len(mine) > _KEEP:
            mine.popitem(last=False)
    return value
