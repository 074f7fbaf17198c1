"""Cutting each tuple's packets into conversations, the way Wireshark numbers its streams.

TCP (Wireshark 4.0's rule, checked against tshark 4.0.17): a SYN without ACK starts a new
``tcp.stream`` when its sender already has a base sequence number in the current stream and the
SYN's sequence number differs from it (the base is a SYN's own sequence number, or one less than
the first sequence number seen when the stream began without a SYN). A retransmitted SYN stays.
Flowscope also starts a new stream for a SYN after the connection was closed (FIN both ways, or
RST), even with the same sequence number, as newer Wireshark releases do.
UDP, ICMP and other IP: one stream per tuple, optionally cut after an idle gap (``FlowConfig``).
"""

from __future__ import annotations

import numpy as np

from .key import Tuples
from .packets import ACK, FIN, RST, SYN, Kind, PacketTable


def conversation_starts(p: PacketTable, rows: np.ndarray, t: Tuples, udp_gap_ns: int | None,
                        icmp_gap_ns: int | None) -> np.ndarray:
    """Where conversations begin, as a mask over ``t.order`` (a superset of the tuple starts).

    ``rows`` are the packet indices the tuple rows stand for.
    """
    new = t.starts.copy()
    n = new.size
    if n == 0:
        return new
    prow = rows[t.order]
    kind = p.kind[prow]
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
    # the next packet of each side at or after every position (for base sequence numbers)
    nxt = []
    for lane in (False, True):
        idx = np.where(side == lane, np.arange(n), n)
        nxt.append(np.minimum.accumulate(idx[::-1])[::-1])
    # running counts of closing packets, to ask "was there a FIN each way or a RST since k"
    fin = [np.concatenate(([0], np.cumsum(((flags & FIN) != 0) & (side == lane))))
           for lane in (False, True)]
    rst = np.concatenate(([0], np.cumsum((flags & RST) != 0)))
    tuple_start = np.flatnonzero(new)
    cut: list[int] = []
    current: dict[int, int] = {}  # tuple start -> start of its current stream
    for i in syn_only.tolist():
        run = int(tuple_start[np.searchsorted(tuple_start, i, side="right") - 1])
        s = current.get(run, run)
        sender = int(side[i])
        first = int(nxt[sender][s])
        if first >= i:
            continue  # the SYN's sender has no base sequence number yet in this stream
        base = int(seq[first]) if flags[first] & SYN else (int(seq[first]) - 1) & 0xFFFFFFFF
        closed = (rst[i] - rst[s] > 0) or (fin[0][i] - fin[0][s] > 0 and fin[1][i] - fin[1][s] > 0)
        if int(seq[i]) != base or closed:
            cut.append(i)
            current[run] = i
    return cut
