"""What each TCP packet means to the state machines, computed for all packets at once.

Besides the flags, the RFC machine needs to know whether a packet acknowledges the receiver's
SYN or FIN (compared with the receiver's latest SYN / FIN before it, modulo 2^32). Only some
packets can change a state: SYN/FIN/RST packets, the first packet of a conversation, the first
packet of each side after any of those, and the first packets that newly acknowledge a SYN or a
FIN or that acknowledge anything after the sender's own SYN. :func:`rfc_events` selects exactly
those; every other packet is a no-op of :func:`.state.step`, so running the machine over the
selection gives the same states as running it over every packet (a test checks this).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packet_store import release_pages
from ..packets import ACK, FIN, RST, SYN, Kind, PacketTable
from ..table import ConversationTable
from . import state as st
from . import zeek as zk
from .segments import TcpPackets

#: packets read at once by :func:`openers`
_STEP = 1 << 22


@dataclass
class Roles:
    """Who is the client of each conversation (by local conversation position)."""

    client_lane: np.ndarray  # uint8 per conversation: 0 = A is the client, 1 = B
    partial: np.ndarray  # bool per conversation: no SYN without ACK was seen
    from_server: np.ndarray  # bool per packet


def _first_lane(t: TcpPackets, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per conversation: whether a packet in ``mask`` exists, and the lane of the first one."""
    rows = np.flatnonzero(mask)
    found = np.zeros(t.nconv, dtype=bool)
    lane = np.zeros(t.nconv, dtype=np.uint8)
    if rows.size:
        convs, first = np.unique(t.local[rows], return_index=True)
        found[convs] = True
        lane[convs] = t.lane[rows[first]]
    return found, lane


def openers(p: PacketTable, table: ConversationTable) -> np.ndarray:
    """Per conversation of ``table``: the lane (0: A, 1: B) of its first SYN without ACK, -1
    for a TCP conversation without one and for every other row. That is :func:`roles`' client
    where it is no guess (``partial`` false), read from the packet columns (``p``: the view
    whose rows are the conversations' packets, inner ones for tunnelled traffic) without
    gathering the conversations, so an analysis may know it before the TCP summary ran."""
    lane = np.full(len(table), -1, dtype=np.int64)
    is_tcp = table.kind == Kind.TCP
    for a in range(0, len(p), _STEP):  # in file order: a conversation's first SYN comes first
        flags = p.tcp_flags[a : a + _STEP]
        rows = np.flatnonzero((flags & SYN != 0) & (flags & ACK == 0))
        conv = p.conv[a : a + _STEP][rows]
        keep = conv >= 0
        rows, conv = rows[keep], conv[keep]
        keep = is_tcp[conv] & (lane[conv] < 0)  # (an earlier step may have found it)
        rows, conv = rows[keep], conv[keep]
        convs, first = np.unique(conv, return_index=True)
        lane[convs] = p.direction[a : a + _STEP][rows[first]]
        release_pages(p.tcp_flags, p.conv, p.direction)
    return lane


def roles(t: TcpPackets) -> Roles:
    syn = t.has(SYN)
    ack = t.has(ACK)
    has_syn, syn_lane = _first_lane(t, syn & ~ack)
    has_synack, synack_lane = _first_lane(t, syn & ack)
    client = np.where(has_syn, syn_lane, np.where(has_synack, 1 - synack_lane, 0))
    client = client.astype(np.uint8)
    return Roles(client_lane=client, partial=~has_syn,
                 from_server=t.lane != t.per_row(client))


def first_row_of(t: TcpPackets, mask: np.ndarray) -> np.ndarray:
    """Per conversation: the first row where ``mask`` holds (``len(t)`` when none)."""
    first = np.full(t.nconv, len(t), dtype=np.int64)
    rows = np.flatnonzero(mask)
    if rows.size:
        convs, at = np.unique(t.local[rows], return_index=True)
        first[convs] = rows[at]
    return first


def _latest(t: TcpPackets, marks: np.ndarray, targets: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """For each row: whether a marked row (``marks``, in order) lies at or before it in its
    conversation, and the target value of the latest such row.

    Nearly always every mark of a conversation has the same target (retransmitted SYNs and
    FINs), so it is one value per conversation; conversations where it varies are followed
    row by row.
    """
    nc = t.nconv
    first = np.full(nc, len(t), dtype=np.int64)
    low = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(nc, np.iinfo(np.int64).min, dtype=np.int64)
    g = t.local[marks]
    np.minimum.at(first, g, marks)
    np.minimum.at(low, g, targets)
    np.maximum.at(high, g, targets)
    seen = t.row_index >= t.per_row(first)
    target = t.per_row(low)
    varying = np.flatnonzero(t.per_row(low != high))
    if varying.size:
        mask = np.zeros(len(t), dtype=bool)
        mask[marks] = True
        by_row = np.zeros(len(t), dtype=np.int64)
        by_row[marks] = targets
        last = t.last_at_or_before(mask)[varying]
        target[varying] = by_row[np.maximum(last, 0)]
    return seen, target


def acknowledges(t: TcpPackets) -> tuple[np.ndarray, np.ndarray]:
    """Per packet: does it acknowledge the receiver's latest SYN, and its latest FIN?

    Compared in the receiver's unwrapped relative sequence numbers (so a stream longer than
    2 GB still acknowledges its SYN).
    """
    n = len(t)
    ack = t.has(ACK)
    syn = t.has(SYN)
    fin = t.has(FIN)
    acks_syn = np.zeros(n, dtype=bool)
    acks_fin = np.zeros(n, dtype=bool)
    for receiver in (0, 1):
        mine = t.of_lane(receiver)
        to_it = ack & ~mine
        if not to_it.any():
            continue
        marks = np.flatnonzero(syn & mine)
        if marks.size:
            seen, target = _latest(t, marks, t.rel[marks] + 1)
            acks_syn |= to_it & seen & (t.ack_rel >= target)
        marks = np.flatnonzero(fin & mine)
        if marks.size:
            seen, target = _latest(t, marks, t.rel[marks] + syn[marks] + t.plen[marks] + 1)
            acks_fin |= to_it & seen & (t.ack_rel >= target)
    return acks_syn, acks_fin


def rfc_codes(t: TcpPackets, r: Roles, acks_syn: np.ndarray, acks_fin: np.ndarray
              ) -> np.ndarray:
    code = (r.from_server.astype(np.int64) * st.FROM_SERVER
            + t.has(SYN) * st.E_SYN + t.has(ACK) * st.E_ACK
            + t.has(FIN) * st.E_FIN + t.has(RST) * st.E_RST
            + acks_syn * st.ACKS_SYN + acks_fin * st.ACKS_FIN)
    return code.astype(np.int64)


def zeek_codes(t: TcpPackets, r: Roles) -> np.ndarray:
    code = (r.from_server.astype(np.int64) * zk.Z_FROM_RESP
            + t.has(SYN) * zk.Z_SYN + t.has(ACK) * zk.Z_ACK
            + t.has(FIN) * zk.Z_FIN + t.has(RST) * zk.Z_RST)
    return code.astype(np.int64)


def _rising(flag: np.ndarray, prev_same: np.ndarray) -> np.ndarray:
    """Packets where ``flag`` holds and did not for the previous packet of the same side."""
    before = np.zeros(flag.size, dtype=bool)
    ok = prev_same >= 0
    before[ok] = flag[prev_same[ok]]
    return flag & ~before


def control(t: TcpPackets) -> np.ndarray:
    return t.has(SYN) | t.has(FIN) | t.has(RST)


def rfc_events(t: TcpPackets, acks_syn: np.ndarray, acks_fin: np.ndarray) -> np.ndarray:
    """Mask of the packets that can change an RFC state (see the module docstring)."""
    n = len(t)
    ctrl = control(t)
    syn = t.has(SYN)
    prev = t.prev_same()
    # "has this side sent a SYN before"
    own_syn = np.zeros(n, dtype=bool)
    for lane in (0, 1):
        mine = t.of_lane(lane)
        own_syn |= mine & (t.row_index > t.per_row(first_row_of(t, syn & mine)))
    keep = ctrl | t.first_of_conv()
    keep |= _rising(acks_syn, prev) | _rising(acks_fin, prev)
    keep |= _rising(own_syn & t.has(ACK) & ~syn, prev)
    # the first packet of each side after a control packet: a control packet lies between the
    # previous packet of the same side (itself included) and this one
    upto = np.concatenate(([0], np.cumsum(ctrl)))  # upto[i] = control packets before row i
    since = np.where(prev >= 0, prev, t.row_start)
    keep |= upto[np.arange(n)] - upto[since] > 0
    return keep


def zeek_events(t: TcpPackets) -> np.ndarray:
    """Mask of the packets that can change a Zeek endpoint state: SYN/FIN/RST packets and the
    first packet of each side (INACTIVE → PARTIAL)."""
    keep = control(t)
    for lane in (0, 1):
        rows = t.lane_rows(lane)
        if rows.size:
            g = t.local[rows]
            first = np.ones(rows.size, dtype=bool)
            first[1:] = g[1:] != g[:-1]
            keep[rows[first]] = True
    return keep
