"""Cutting each tuple's packets into conversations, the way Wireshark numbers its streams.

TCP (Wireshark 4.0's rule, checked against tshark 4.0.17): a SYN without ACK starts a new
``tcp.stream`` when its sender already has a base sequence number in the current stream and the
SYN's sequence number differs from it. A sender's base is the sequence number of its latest SYN
or SYN-ACK in the stream, or, before it sent one, one less than the sequence number of its first
packet there. So a SYN that repeats the ISN stays in its stream — a retransmission, or a retry of
the same connect after a RST or a close (a Windows retry after a refused connect, RFC 5961's
challenge ACK → RST → same-ISN SYN) — and a SYN with a new ISN starts a new one, closed or not.
TCP headers Wireshark rejects after finding their stream (``Reason.TCP_HEADER``) take part here
like any other packet: they set base sequence numbers and may start streams.
UDP, ICMP and other IP: one stream per tuple, optionally cut after an idle gap (``FlowConfig``).
"""

from __future__ import annotations

import numpy as np

from .cancel import every
from .key import Tuples
from .packets import ACK, SYN, Kind, PacketTable


def conversation_starts(p: PacketTable, rows: np.ndarray, t: Tuples, udp_gap_ns: int | None,
                        icmp_gap_ns: int | None, kinds: np.ndarray | None = None) -> np.ndarray:
    """Where conversations begin, as a mask over ``t.order`` (a superset of the tuple starts).

    ``rows`` are the packet indices the tuple rows stand for; ``kinds`` (one per row, default
    ``p.kind[rows]``) the family each row is grouped as.
    """
    new = t.starts.copy()
    n = new.size
    if n == 0:
        return new
    prow = rows[t.order]
    kind = p.kind[prow] if kinds is None else kinds[t.order]
    if udp_gap_ns is not None or icmp_gap_ns is not None:
        ts = p.ts_ns[prow]
        gap = np.zeros(n, dtype=np.int64)
        gap[1:] = ts[1:] - ts[:-1]
        limit = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        if udp_gap_ns is not None:
            limit[kind == Kind.UDP] = udp_gap_ns
        if icmp_gap_ns is not None:
            others = (kind != Kind.UDP) & (kind != Kind.TCP)  # ICMP, other IP, SCTP, …
            limit[others] = icmp_gap_ns
        new |= gap > limit
    tcp = kind == Kind.TCP
    if tcp.any():
        new[_tcp_splits(p, prow, t.forward, new, tcp)] = True
    return new


def _tcp_splits(p: PacketTable, prow: np.ndarray, side: np.ndarray, new: np.ndarray,
                tcp: np.ndarray) -> list[int]:
    """Positions (in tuple order) where a SYN starts a new TCP stream. Only SYNs are visited,
    in Python; everything they need is precomputed for all packets."""
    flags = p.tcp_flags[prow]
    syn_only = np.flatnonzero(((flags & (SYN | ACK)) == SYN) & ~new & tcp)
    if not syn_only.size:
        return []
    n = prow.size
    seq = p.seq[prow].astype(np.int64)
    at = np.arange(n)
    syn = (flags & SYN) != 0
    nxt = []  # the next packet of each side at or after every position
    last_syn = []  # the latest SYN (or SYN-ACK) of each side at or before every position
    for lane in (False, True):
        mine = side == lane
        nxt.append(np.minimum.accumulate(np.where(mine, at, n)[::-1])[::-1])
        last_syn.append(np.maximum.accumulate(np.where(mine & syn, at, -1)))
    tuple_start = np.flatnonzero(new)
    cut: list[int] = []
    current: dict[int, int] = {}  # tuple start -> start of its current stream
    syns = syn_only.tolist()
    for k in every(len(syns)):
        i = syns[k]
        run = int(tuple_start[np.searchsorted(tuple_start, i, side="right") - 1])
        s = current.get(run, run)
        sender = int(side[i])
        last = int(last_syn[sender][i - 1])
        if last >= s:
            base = int(seq[last])
        else:
            first = int(nxt[sender][s])
            if first >= i:
                continue  # the SYN's sender has no base sequence number yet in this stream
            base = (int(seq[first]) - 1) & 0xFFFFFFFF
        if int(seq[i]) != base:
            cut.append(i)
            current[run] = i
    return cut
