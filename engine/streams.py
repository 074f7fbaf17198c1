"""Cutting each 4-tuple's packets into conversations, the way Wireshark numbers its streams.

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

from .packets import ACK, FIN, RST, SYN, Kind, PacketTable


def split_conversations(p: PacketTable, rows: np.ndarray, tuple_id: np.ndarray,
                        from_hi: np.ndarray, udp_gap_ns: int | None,
                        icmp_gap_ns: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Conversation number per row (dense, in order of first appearance) and the row index at
    which each conversation starts.

    ``rows`` are packet indices in file order, ``tuple_id`` their tuple group, ``from_hi`` whether
    each was sent by the tuple's canonically larger endpoint (its direction within the tuple).
    """
    n = rows.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(tuple_id, kind="stable")  # grouped by tuple, file order inside
    g = tuple_id[order]
    new = np.ones(n, dtype=bool)
    new[1:] = g[1:] != g[:-1]
    kind = p.kind[rows[order]]

    if udp_gap_ns is not None or icmp_gap_ns is not None:
        ts = p.ts_ns[rows[order]]
        gap = np.zeros(n, dtype=np.int64)
        gap[1:] = ts[1:] - ts[:-1]
        limit = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        if udp_gap_ns is not None:
            limit[kind == Kind.UDP] = udp_gap_ns
        if icmp_gap_ns is not None:
            others = (kind == Kind.ICMP) | (kind == Kind.ICMPV6) | (kind == Kind.IP)
            limit[others] = icmp_gap_ns
        new |= gap > limit

    tcp = np.flatnonzero(kind == Kind.TCP)
    if tcp.size:
        new[_tcp_splits(p, rows[order], from_hi[order], new, tcp)] = True

    seg = np.cumsum(new) - 1
    starts = order[np.flatnonzero(new)]  # first row of each conversation
    rank = np.empty(starts.size, dtype=np.int64)
    rank[np.argsort(starts, kind="stable")] = np.arange(starts.size)
    conv = np.empty(n, dtype=np.int64)
    conv[order] = rank[seg]
    return conv, np.sort(starts)


def _tcp_splits(p: PacketTable, prow: np.ndarray, hi: np.ndarray, new: np.ndarray,
                tcp: np.ndarray) -> list[int]:
    """Positions (in tuple order) where a SYN starts a new TCP stream."""
    flags = p.tcp_flags[prow]
    syn_only = np.flatnonzero(((flags & (SYN | ACK)) == SYN) & ~new)
    syn_only = syn_only[np.isin(syn_only, tcp)]
    if not syn_only.size:
        return []
    n = prow.size
    seq = p.seq[prow].astype(np.int64)
    # the next packet of each direction at or after every position (for base sequence numbers)
    nxt = []
    for side in (False, True):
        idx = np.where(hi == side, np.arange(n), n)
        nxt.append(np.minimum.accumulate(idx[::-1])[::-1])
    # running counts of closing packets, to ask "was there a FIN each way or a RST since k"
    fin = [np.concatenate(([0], np.cumsum((flags & FIN != 0) & (hi == side)))) for side in
           (False, True)]
    rst = np.concatenate(([0], np.cumsum(flags & RST != 0)))
    seg_start = np.flatnonzero(new)
    cut: list[int] = []
    start_of = {}  # segment start for the tuple run each candidate is in
    for i in syn_only.tolist():
        run = int(seg_start[np.searchsorted(seg_start, i, side="right") - 1])
        s = start_of.get(run, run)
        side = int(hi[i])
        first = int(nxt[side][s])
        if first >= i:
            continue  # the SYN's sender has no base sequence number yet in this stream
        base = int(seq[first]) if flags[first] & SYN else (int(seq[first]) - 1) & 0xFFFFFFFF
        closed = (rst[i] - rst[s] > 0) or (fin[0][i] - fin[0][s] > 0 and fin[1][i] - fin[1][s] > 0)
        if int(seq[i]) != base or closed:
            cut.append(i)
            start_of[run] = i
    return cut
