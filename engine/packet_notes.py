"""What a packet list and a TCP timeline say about each packet of one conversation.

The columns of one conversation's packets, in file order, with the TCP facts a reader wants next
to each packet: sequence and acknowledgement numbers relative to each side's base (as Wireshark
shows them) and Wireshark's TCP analysis of it — the flags (retransmission, duplicate ACK, zero
window, previous segment not captured, …), the duplicate-ACK number, the segment an ACK
acknowledges and its RTT, the bytes in flight — read from the analysis computed at load
(:mod:`engine.tcp.expert`; one source of truth for the table, the panes and the CLI). Each packet
also gets one *mark* kind (SYN, SYN-ACK, data, pure ACK, FIN, RST, retransmission) for drawing
it on a timeline.

Nothing here reads packet bytes. Views ask :func:`conversation_packets`, which keeps the last
few answers per result; a list that shows a few rows at a time asks :class:`PacketRows`, which
builds the rows in blocks as they are asked for (on a big spilled capture out of the page cache,
all 466,665 packets of one conversation took 0.7 s to gather, most of it disk reads).
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
from .tcp import expert_flags
from .tcp.expert_store import KEY, TcpExpert
from .tcp.segments import conversation_packets as packet_rows


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
    notes: np.ndarray  # uint16, Wireshark's TCP analysis flags (engine.tcp.expert_flags)
    dup_num: np.ndarray  # int64, duplicate-ACK number (0: not one)
    dup_of: np.ndarray  # int64, packet index of the ACK it repeats (-1: none)
    acked: np.ndarray  # int64, packet index of the segment this ACK acknowledges (-1: none)
    ack_rtt_ns: np.ndarray  # int64, the RTT to that ACK (-1: not shown)
    bytes_in_flight: np.ndarray  # int64 (0: not shown)
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
        return _row_in(self.index, packet)


def _row_in(index: np.ndarray, packet: int) -> int:
    """Where ``packet`` is in the sorted packet list ``index`` (-1 if it is not there)."""
    row = int(np.searchsorted(index, packet))
    return row if row < index.size and int(index[row]) == packet else -1


def flag_text(flags: int) -> str:
    """``SYN, ACK`` (Wireshark's order); empty for no flags."""
    return ", ".join(name for bit, name in _FLAG_NAMES if flags & bit)


def note_text(p: ConversationPackets, row: int) -> str:
    """Wireshark's notes for one row: ``[TCP Dup ACK 12#1]``, ``[TCP Retransmission]``, …"""
    of = int(p.dup_of[row])
    return expert_flags.notes(int(p.notes[row]), of + 1 if of >= 0 else 0, int(p.dup_num[row]))


def expert_of(result: FlowResult) -> TcpExpert:
    """The TCP analysis of ``result`` (computed at load; here if an analysis list left it out)."""
    e = result.plugin_data.get(KEY)
    if e is None:
        from .tcp.expert import analyse

        e = result.plugin_data[KEY] = analyse(result)
    return e


def build_conversation_packets(result: FlowResult, conversation: int) -> ConversationPackets:
    """The packet columns of one conversation (a table row); see the module docstring."""
    return _build(result, conversation, packet_list(result, conversation))


def packet_list(result: FlowResult, conversation: int) -> np.ndarray:
    """The packet indices of one conversation, file order."""
    p = result.packet_view(conversation)  # the inside of a UDP tunnel for a tunnelled one
    index, _ = packet_rows(p, result.conversations, np.array([conversation]))
    return index


def _build(result: FlowResult, conversation: int, index: np.ndarray) -> ConversationPackets:
    """The columns of the conversation's packets ``index`` (all of them, or a block of rows)."""
    table = result.conversations
    kind = int(table.kind[conversation])
    if kind == Kind.TCP:
        return _tcp_packets(result, conversation, index)
    p = result.packet_view(conversation)
    n = index.size
    zeros = np.zeros(n, dtype=np.int64)
    none = np.full(n, -1, dtype=np.int64)
    return ConversationPackets(
        conversation=conversation, kind=kind, client_lane=0, index=index,
        ts_ns=p.ts_ns[index], direction=p.direction[index],
        length=p.origlen[index].astype(np.int64),
        payload=np.maximum(p.payload_len[index], 0).astype(np.int64),
        flags=np.zeros(n, dtype=np.uint16), rel_seq=zeros, rel_ack=zeros, seg_len=zeros,
        notes=np.zeros(n, dtype=np.uint16), dup_num=zeros, dup_of=none, acked=none,
        ack_rtt_ns=none, bytes_in_flight=zeros, mark=np.full(n, Mark.OTHER, dtype=np.uint8))


def _tcp_packets(result: FlowResult, conversation: int, index: np.ndarray
                 ) -> ConversationPackets:
    p = result.packet_view(conversation)  # the inside of a UDP tunnel for a tunnelled one
    e = expert_of(result)
    n = index.size
    flags = p.tcp_flags[index]
    syn, fin = (flags & SYN) != 0, (flags & FIN) != 0
    rst, ack = (flags & RST) != 0, (flags & ACK) != 0
    payload = np.maximum(p.payload_len[index], 0).astype(np.int64)
    lane = p.direction[index].astype(np.int64)
    conv = np.full(n, conversation, dtype=np.int64)
    own, peer = e.bases(conv, lane, index), e.bases(conv, 1 - lane, index)
    seq = p.seq[index].astype(np.int64)
    rel_seq = np.where(own >= 0, (seq - own) & 0xFFFFFFFF, seq)
    rel_ack = np.where(ack & (peer >= 0), (p.ack[index].astype(np.int64) - peer) & 0xFFFFFFFF,
                       p.ack[index].astype(np.int64))
    bits = e.flags[index]
    retransmitted = (bits & expert_flags.RETRANSMISSION_KINDS) != 0
    mark = np.full(n, Mark.OTHER, dtype=np.uint8)
    # lowest priority first: later assignments win
    mark[ack] = Mark.ACK
    mark[payload > 0] = Mark.DATA
    mark[fin] = Mark.FIN
    mark[syn] = Mark.SYN
    mark[syn & ack] = Mark.SYN_ACK
    mark[retransmitted] = Mark.RETRANSMISSION
    mark[rst] = Mark.RST
    dup_num, dup_of = e.duplicate_acks(index)
    client = result.conversations.extra.get("client")
    client_lane = int(client is not None and str(client[conversation]) == "B")
    return ConversationPackets(
        conversation=conversation, kind=Kind.TCP, client_lane=client_lane, index=index,
        ts_ns=p.ts_ns[index], direction=p.direction[index],
        length=result.packets.origlen[index].astype(np.int64), payload=payload, flags=flags,
        rel_seq=rel_seq, rel_ack=rel_ack, seg_len=payload + syn + fin, notes=bits,
        dup_num=dup_num, dup_of=dup_of, acked=e.acked(index),
        ack_rtt_ns=e.ack_rtt_ns(p.ts_ns, index),
        bytes_in_flight=e.bytes_in_flight[index].astype(np.int64), mark=mark)


class PacketRows:
    """One conversation's packet rows for a list that shows a few at a time: the packet
    indices at once, the other columns in blocks of :data:`BLOCK` rows when a row of the block
    is first asked for (or all at once, when :func:`conversation_packets` has them already)."""

    BLOCK = 1 << 13

    def __init__(self, result: FlowResult, conversation: int) -> None:
        self.result = result
        self.conversation = conversation
        self.kind = int(result.conversations.kind[conversation])
        self._whole = _remembered(result, conversation)
        self.index = (self._whole.index if self._whole is not None
                      else packet_list(result, conversation))
        self._blocks: dict[int, ConversationPackets] = {}

    def __len__(self) -> int:
        return int(self.index.size)

    @property
    def is_tcp(self) -> bool:
        return self.kind == Kind.TCP

    def at(self, row: int) -> tuple[ConversationPackets, int]:
        """The block holding ``row``, and the row's place in it."""
        if self._whole is not None:
            return self._whole, row
        k, local = divmod(row, self.BLOCK)
        block = self._blocks.get(k)
        if block is None:
            start = k * self.BLOCK
            block = self._blocks[k] = _build(self.result, self.conversation,
                                             self.index[start : start + self.BLOCK])
        return block, local

    def row_of(self, packet: int) -> int:
        """Row of capture packet ``packet`` (-1 if it is not in this conversation)."""
        return _row_in(self.index, packet)

    @property
    def built(self) -> int:
        """Rows built so far (tests: a list that shows its first rows builds few)."""
        if self._whole is not None:
            return len(self._whole)
        return sum(len(b) for b in self._blocks.values())


# -- a small cache: the timeline and the packet list ask for the same conversation -----------
_KEEP = 4
_cache: weakref.WeakKeyDictionary[FlowResult, OrderedDict[int, ConversationPackets]] = (
    weakref.WeakKeyDictionary())
_lock = threading.Lock()


def conversation_packets(result: FlowResult, conversation: int) -> ConversationPackets:
    """:func:`build_conversation_packets`, remembered for the last few conversations asked."""
    found = _remembered(result, conversation)
    if found is not None:
        return found
    value = build_conversation_packets(result, conversation)
    with _lock:
        mine = _cache.setdefault(result, OrderedDict())
        mine[conversation] = value
        while len(mine) > _KEEP:
            mine.popitem(last=False)
    return value


def _remembered(result: FlowResult, conversation: int) -> ConversationPackets | None:
    """The conversation's packets if they are remembered (now the most recently used)."""
    with _lock:
        mine = _cache.get(result)
        if mine is None or conversation not in mine:
            return None
        mine.move_to_end(conversation)
        return mine[conversation]
