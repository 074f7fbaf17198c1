"""What the TCP analysis reads about each packet, gathered for a batch of conversations.

The fixed header comes from the packet columns (:func:`segments.gather_tcp`); the two options the
analysis needs (window scale, SACK) are scanned from the capture bytes of the packets that carry
options; the segment length is Wireshark's (the IP length, never past the frame's on-wire
length). A conversation that reopens a closed 4-tuple with a new initial sequence number gets
Wireshark's "reused ports" mark on its first packet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packets import ACK, SYN, Kind
from ..result import FlowResult
from .expert_exact import ConversationInput
from .optscan import scan_options
from .segments import TcpPackets, gather_tcp


@dataclass
class ExpertInput:
    """The packets of a batch of TCP conversations (``t``) with the per-row extras."""

    t: TcpPackets
    seglen: np.ndarray  # int64, Wireshark's segment length
    wscale: np.ndarray  # int8, -1 = no window-scale option
    sack_count: np.ndarray  # uint8
    sack_bytes: np.ndarray  # uint32
    reused: np.ndarray  # bool per conversation of the batch

    def conversation(self, k: int) -> ConversationInput:
        """Conversation ``k`` of the batch, for the packet-by-packet analysis."""
        t = self.t
        s = slice(int(t.bounds[k]), int(t.bounds[k + 1]))
        return ConversationInput(
            ts=t.ts[s], lane=t.lane[s], seq=t.seq[s], ack=t.ack[s], flags=t.flags[s],
            win=t.win[s], seglen=self.seglen[s], wscale=self.wscale[s], sack=self.sack_bytes[s],
            sack_count=self.sack_count[s], reused=bool(self.reused[k]))


class EarlierOnTuple:
    """For each conversation, the latest earlier TCP conversation on the same address and port
    pair (-1 if none): a sort of the whole table, made once for all the batches of a load."""

    def __init__(self, result: FlowResult) -> None:
        self.result = result
        self._found: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self._found is None:
            self._found = _previous_on_tuple(self.result)
        return self._found


def gather_input(result: FlowResult, convs: np.ndarray, t: TcpPackets | None = None,
                 earlier: EarlierOnTuple | None = None) -> ExpertInput:
    """Everything the analysis reads for the TCP conversations ``convs`` (table rows); ``t``:
    their packets when already gathered; ``earlier``: the table's earlier conversations on
    each tuple, shared by the batches."""
    p = result.inner_view()  # a TCP connection inside a UDP tunnel is read from the inside
    if t is None:
        t = gather_tcp(p, result.conversations, convs)
    n = len(t)
    wscale = np.full(n, -1, dtype=np.int8)
    sack_count = np.zeros(n, dtype=np.uint8)
    sack_bytes = np.zeros(n, dtype=np.uint32)
    has = np.flatnonzero(p.tcp_hlen[t.index] > 20)
    if has.size:
        o = scan_options(p, result.source, t.index[has])
        wscale[has] = o.wscale
        sack_count[has] = o.sack_count
        sack_bytes[has] = o.sack_bytes
    return ExpertInput(t=t, seglen=t.wire, wscale=wscale, sack_count=sack_count,
                       sack_bytes=sack_bytes,
                       reused=reused_ports(result, t, earlier or EarlierOnTuple(result)))


def reused_ports(result: FlowResult, t: TcpPackets, earlier: EarlierOnTuple) -> np.ndarray:
    """Per conversation of ``t``: its first packet is a SYN on a 4-tuple an earlier conversation
    used, with a sequence number other than the one the sender had there (Wireshark then starts
    a new conversation and marks the SYN "TCP Port numbers reused")."""
    out = np.zeros(t.nconv, dtype=bool)
    first = t.bounds[:-1]
    nonempty = first < t.bounds[1:]
    syn = np.zeros(t.nconv, dtype=bool)
    syn[nonempty] = (t.flags[first[nonempty]] & (SYN | ACK)) == SYN
    if not syn.any():
        return out
    before_of = earlier()
    p = result.inner_view()
    for k in np.flatnonzero(syn).tolist():
        before = int(before_of[int(t.convs[k])])
        if before < 0:
            continue
        i = int(t.index[first[k]])
        base = _base_of(result, before, int(p.src_hi[i]), int(p.src_lo[i]), int(p.sport[i]))
        out[k] = base is not None and base != int(p.seq[i])
    return out


def _previous_on_tuple(result: FlowResult) -> np.ndarray:
    """For each conversation, the latest earlier TCP conversation on the same address and port
    pair (-1 if none)."""
    table = result.conversations
    out = np.full(len(table), -1, dtype=np.int64)
    rows = np.flatnonzero(table.kind == Kind.TCP)
    if rows.size < 2:
        return out
    a = (table.a_hi[rows], table.a_lo[rows], table.a_port[rows])
    b = (table.b_hi[rows], table.b_lo[rows], table.b_port[rows])
    a_first = (a[0] < b[0]) | ((a[0] == b[0]) & ((a[1] < b[1]) | ((a[1] == b[1]) & (a[2] < b[2]))))
    keys = [np.where(a_first, x, y) for x, y in zip(a, b, strict=True)]
    keys += [np.where(a_first, y, x) for x, y in zip(a, b, strict=True)]
    order = np.lexsort((table.first_packet[rows], *keys[::-1]))
    same = np.ones(rows.size - 1, dtype=bool)
    for key in keys:
        k = key[order]
        same &= k[1:] == k[:-1]
    r = rows[order]
    out[r[1:][same]] = r[:-1][same]
    return out


def _base_of(result: FlowResult, conv: int, hi: int, lo: int, port: int) -> int | None:
    """The base sequence number Wireshark holds for endpoint (hi, lo, port) at the end of
    conversation ``conv``: from its first packet, or from the peer's first ACK, whichever came
    first (None when neither exists)."""
    p = result.inner_view()
    idx = result.packets_of(conv)
    mine = (p.src_hi[idx] == hi) & (p.src_lo[idx] == lo) & (p.sport[idx] == port)
    acks = ~mine & ((p.tcp_flags[idx] & ACK) != 0)
    first_mine = int(np.argmax(mine)) if mine.any() else idx.size
    first_ack = int(np.argmax(acks)) if acks.any() else idx.size
    if first_mine == idx.size and first_ack == idx.size:
        return None
    if first_mine < first_ack:
        i = int(idx[first_mine])
        seq = int(p.seq[i])
        return seq if p.tcp_flags[i] & SYN else (seq - 1) & 0xFFFFFFFF
    return (int(p.ack[int(idx[first_ack])]) - 1) & 0xFFFFFFFF
