"""The list half of the vectorised TCP analysis: which segment each packet acknowledges (for the
ACK RTT) and the bytes in flight after each data segment, for a batch of conversations at once.

Wireshark keeps, per direction, the segments (data, SYN or FIN) not yet acknowledged; every packet
of the other side drops those its ACK number reaches and moves the start of those it reaches into.
Here each segment gets the row that drops it: for a segment sent above everything acknowledged so
far it is found by binary search on the running maximum of the peer's ACK numbers; the rare
others (sent below it: spurious or partial retransmissions) get a short forward scan. The ACK RTT
pairs each row with the oldest segment it drops whose end equals its ACK number. Bytes in flight
at a data segment are the span from the lowest unacknowledged byte to the highest segment end,
less the peer's last SACK blocks: for segments sent at or above the acknowledged point the lowest
byte is the acknowledged point itself when such a segment covers it, else the next segment start
above it; the rare others are paired with the rows they stay listed for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packets import ACK, FIN, SYN
from .expert_rows import NONE, KeyedMax, Lanes, exclusive_max, s32
from .segments import TcpPackets

M32 = 0xFFFFFFFF
MAX_UNACKED = 10000  # Wireshark stops listing segments past this many
SCAN_STEPS = 32
PAIRS_PER_ROW = 4  # the rare segments' (segment, row) pairs allowed per row before giving up
IN_FLIGHT_LIMIT = 2_000_000_000
_HALF = 1 << 31


@dataclass
class AckAnalysis:
    acked: np.ndarray  # int64 per row: the row of the segment it acknowledges, -1 = none
    bytes_in_flight: np.ndarray  # int64 per row, 0 = not shown
    record: np.ndarray  # bool per row: the ACK matched a segment, or bytes in flight ran


@dataclass
class _Lane:
    """Lane ``d``'s segments (data, SYN or FIN) and the peer's rows with the ACK flag."""

    d: int
    seg: np.ndarray  # segment rows, in order
    s: np.ndarray  # unwrapped start of each
    e: np.ndarray  # unwrapped end (SYN/FIN count one)
    acks: np.ndarray  # the peer's ACK rows, in order
    km: KeyedMax  # running maximum of their acknowledgements per conversation
    prev_ack: np.ndarray  # per segment: position in ``acks`` of the last one before it, -1
    next_ack: np.ndarray  # per segment: position in ``acks`` of the first one after it (any)
    has_next: np.ndarray  # per segment: that one is in the segment's conversation
    acked_to: np.ndarray  # per segment: the highest acknowledgement before it (NONE: none)


def analyse_acks(t: TcpPackets, lanes: Lanes, seglen: np.ndarray, end: np.ndarray,
                 base: np.ndarray, lost: np.ndarray, sack_count: np.ndarray,
                 sack_bytes: np.ndarray, exact: np.ndarray) -> AckAnalysis:
    n = len(t)
    out = AckAnalysis(acked=np.full(n, -1, dtype=np.int64),
                      bytes_in_flight=np.zeros(n, dtype=np.int64),
                      record=np.zeros(n, dtype=bool))
    sf = t.has(SYN) | t.has(FIN)
    ackf = t.has(ACK)
    L = seglen.astype(np.int64, copy=False)
    for d in (0, 1):
        lane = _lane_of(t, lanes, d, L, sf, ackf, end, exact)
        if lane is None:
            continue
        drop = _drops(t, lane, ackf, end, exact)
        _matches(t, lane, drop, end, out)
        _too_many_listed(t, lane, drop, exact)
        _bytes_in_flight(t, lanes, lane, drop, ackf, L, sf, base, lost, sack_count, sack_bytes,
                         exact, out)
    return out


def _lane_of(t: TcpPackets, lanes: Lanes, d: int, L: np.ndarray, sf: np.ndarray,
             ackf: np.ndarray, end: np.ndarray, exact: np.ndarray) -> _Lane | None:
    rows = lanes.rows[d]
    seg = rows[(L[rows] > 0) | sf[rows]]
    if not seg.size:
        return None
    acks = lanes.acks(1 - d)
    a = t.ack_rel[acks]
    km = lanes.ack_max(1 - d)
    if acks.size and not km.ok:
        exact[t.local[seg]] = True
    is_ack = np.zeros(len(t), dtype=np.int32)
    is_ack[acks] = 1
    # acks before each segment = position of the next one
    next_ack = np.cumsum(is_ack, dtype=np.int32)[seg].astype(np.int64)
    prev_ack = next_ack - 1
    seg_conv = t.local[seg]
    if acks.size:
        ok = (prev_ack >= 0) & (km.gid[np.maximum(prev_ack, 0)] == seg_conv)
        has_next = (next_ack < acks.size) & \
            (km.gid[np.minimum(next_ack, acks.size - 1)] == seg_conv)
    else:
        ok = has_next = np.zeros(seg.size, dtype=bool)
    prev_ack = np.where(ok, prev_ack, -1)
    R = np.full(seg.size, NONE, dtype=np.int64)
    if acks.size and km.ok:
        R[ok] = km.value_at(prev_ack[ok])
        # acknowledgements far from the data they acknowledge do not compare like TCP's
        before = exclusive_max(a, km.gid, km)
        far = (before != NONE) & (np.abs(a - before) >= _HALF)
        exact[t.local[acks[far]]] = True
    e = end[seg]
    far = (R != NONE) & (np.abs(e - R) >= _HALF)
    exact[t.local[seg[far]]] = True
    return _Lane(d=d, seg=seg, s=t.rel[seg], e=e, acks=acks, km=km, prev_ack=prev_ack,
                 next_ack=next_ack, has_next=has_next, acked_to=R)


def _drops(t: TcpPackets, lane: _Lane, ackf: np.ndarray, end: np.ndarray, exact: np.ndarray
           ) -> np.ndarray:
    """For each segment, the row that drops it from the list (len(t): never)."""
    n = len(t)
    seg, acks, km = lane.seg, lane.acks, lane.km
    drop = np.full(seg.size, n, dtype=np.int64)
    if acks.size and km.ok:
        nxt = lane.next_ack  # the first peer ACK row after each segment
        has = lane.has_next
        normal = (lane.acked_to == NONE) | (lane.acked_to < lane.e)
        easy = np.flatnonzero(has & normal)
        if easy.size:
            pos = km.first_reaching(km.gid[nxt[easy]], lane.e[easy])
            hit = pos < acks.size
            drop[easy[hit]] = acks[pos[hit]]
        stale = np.flatnonzero(has & ~normal)  # sent below the ACK point: scan forward
        pos = nxt[stale]
        a = t.ack_rel[acks]
        for _ in range(SCAN_STEPS):
            if not stale.size:
                break
            p = np.minimum(pos, acks.size - 1)
            valid = (pos < acks.size) & (t.local[acks[p]] == t.local[seg[stale]])
            hit = valid & (a[p] >= lane.e[stale])
            drop[stale[hit]] = acks[p[hit]]
            keep = valid & ~hit
            stale, pos = stale[keep], pos[keep] + 1
        if stale.size:
            exact[t.local[seg[stale]]] = True
    _drops_without_ack(t, lane, ackf, end, drop, exact)
    return drop


def _drops_without_ack(t: TcpPackets, lane: _Lane, ackf: np.ndarray, end: np.ndarray,
                       drop: np.ndarray, exact: np.ndarray) -> None:
    """Rows without the ACK flag still drop the segments their raw ACK field reaches (Wireshark
    compares it anyway): pair them with the earlier segments of their conversation."""
    rows = np.flatnonzero((t.lane != lane.d) & ~ackf)
    if not rows.size:
        return
    seg = lane.seg
    upto = np.searchsorted(seg, rows)  # segments before each row
    first = np.searchsorted(seg, t.row_start[rows])
    count = upto - first
    total = int(count.sum())
    if not total:
        return
    if total > 4 * len(t) + 1000:
        exact[t.local[rows]] = True
        return
    q = np.repeat(rows, count)
    i = np.repeat(first, count) + (np.arange(total) - np.repeat(np.cumsum(count) - count, count))
    gbase = t.base[t.local[seg[i]], lane.d]
    ack_raw = t.ack[q].astype(np.int64)
    reaches = s32(ack_raw - ((gbase + lane.e[i]) & M32)) >= 0
    alive = drop[i] > q
    sooner = np.full(seg.size, len(t), dtype=np.int64)
    np.minimum.at(sooner, i[reaches & alive], q[reaches & alive])
    # a partial acknowledgement without the ACK flag moves a segment's start: not modelled
    partial = alive & ~reaches & (s32(ack_raw - ((gbase + lane.s[i]) & M32)) > 0)
    exact[t.local[q[partial]]] = True
    np.minimum(drop, sooner, out=drop)


def _matches(t: TcpPackets, lane: _Lane, drop: np.ndarray, end: np.ndarray, out: AckAnalysis
             ) -> None:
    """What each peer row acknowledges: the oldest segment it drops whose end equals its ACK
    number exactly (Wireshark's ``frame_acked``)."""
    n = len(t)
    seg = lane.seg
    gbase = t.base[t.local[seg], lane.d]
    at = np.minimum(drop, n - 1)
    hit = (drop < n) & (((gbase + lane.e) & M32) == t.ack[at])
    h = np.flatnonzero(hit)
    if not h.size:
        return
    rows, segs = drop[h], seg[h]
    if rows.size > 1 and not np.all(rows[1:] >= rows[:-1]):
        order = np.argsort(rows, kind="stable")  # segments stay in order within a row
        rows, segs = rows[order], segs[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    out.acked[rows[first]] = segs[first]
    out.record[rows[first]] = True


def _too_many_listed(t: TcpPackets, lane: _Lane, drop: np.ndarray, exact: np.ndarray) -> None:
    """Wireshark stops listing segments past MAX_UNACKED: leave such conversations exact."""
    n = len(t)
    seg = lane.seg
    conv = t.local[seg]
    if seg.size < MAX_UNACKED or np.bincount(conv).max() < MAX_UNACKED:
        return
    dropped = np.cumsum(np.bincount(drop[drop < n], minlength=n))  # drops at rows <= k
    starts = np.flatnonzero(np.concatenate(([True], conv[1:] != conv[:-1])))
    head = np.repeat(starts, np.diff(np.append(starts, conv.size)))  # conversation's first
    start = t.row_start[seg]
    before = np.where(start > 0, dropped[np.maximum(start - 1, 0)], 0)
    listed = (np.arange(seg.size) - head) - (dropped[np.maximum(seg - 1, 0)] - before)
    exact[conv[listed >= MAX_UNACKED]] = True


def _bytes_in_flight(t: TcpPackets, lanes: Lanes, lane: _Lane, drop: np.ndarray,
                     ackf: np.ndarray, L: np.ndarray, sf: np.ndarray, base: np.ndarray,
                     lost: np.ndarray, sack_count: np.ndarray, sack_bytes: np.ndarray,
                     exact: np.ndarray, out: AckAnalysis) -> None:
    n = len(t)
    d, seg = lane.d, lane.seg
    # shown after data (not bare SYN/FIN) while no capture hole waits for the peer's next ACK
    lost_rows = np.flatnonzero(lost & (t.lane == d))
    last_lost = np.full(seg.size, -1, dtype=np.int64)
    if lost_rows.size:
        pos = np.searchsorted(lost_rows, seg, side="right") - 1
        last_lost = np.where(pos >= 0, lost_rows[np.maximum(pos, 0)], -1)
        last_lost = np.where(last_lost >= t.row_start[seg], last_lost, -1)
    last_ack = np.full(seg.size, -1, dtype=np.int64)
    if lane.acks.size:
        last_ack = np.where(lane.prev_ack >= 0, lane.acks[np.maximum(lane.prev_ack, 0)], -1)
    is_query = (L[seg] > 0) & ((last_lost < 0) | (last_ack > last_lost))
    qpos = np.flatnonzero(is_query)
    if not qpos.size:
        return
    query = seg[qpos]
    out.record[query] = True
    # Wireshark's relative numbers: (value - base) mod 2^32, compared unsigned
    delta = s32(t.base[:, d] - base[:, d])[t.local[seg]]
    out_of_range = (lane.s + delta < 0) | (lane.e + delta >= (1 << 32))
    exact[t.local[seg[out_of_range]]] = True
    normal = (lane.acked_to == NONE) | (lane.acked_to < lane.e)
    by_ack = (drop >= n) | ackf[np.minimum(drop, n - 1)]
    queue = normal & ((lane.acked_to == NONE) | (lane.s >= lane.acked_to)) & by_ack
    first = np.full(qpos.size, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(qpos.size, NONE, dtype=np.int64)
    _queue_span(t, lane, queue, qpos, drop, first, last, exact)
    _other_spans(t, lane, ~queue, drop, qpos, ackf, first, last, exact)
    span = last - first
    po = lanes.prev_other[query]
    po0 = np.maximum(po, 0)
    sacked = (po >= 0) & (sack_count[po0] > 0)
    in_flight = np.where(sacked, (span - sack_bytes[po0].astype(np.int64)) & M32, span & M32)
    show = (last != NONE) & (in_flight > 0) & (in_flight < IN_FLIGHT_LIMIT)
    out.bytes_in_flight[query[show]] = in_flight[show] - sf[query[show]]


def _queue_span(t: TcpPackets, lane: _Lane, queue: np.ndarray, qpos: np.ndarray,
                drop: np.ndarray, first: np.ndarray, last: np.ndarray, exact: np.ndarray
                ) -> None:
    """Lowest unacknowledged byte and highest end over the queue segments listed at each query.
    A queue segment (sent at or above the acknowledged point R) stays listed while R is below
    its end, and its listed start is max(start, R); R only grows."""
    if not queue.any():
        return
    conv = t.local[lane.seg]
    floor = int(lane.e.min()) - 1
    top = KeyedMax(conv, np.where(queue, lane.e, floor))
    if not top.ok:
        exact[conv] = True
        return
    highest = top.value_at(qpos)
    R = lane.acked_to[qpos]
    alive = (highest != floor) & ((R == NONE) | (highest > R))
    last[alive] = np.maximum(last[alive], highest[alive])
    covered = _covered(t, lane, queue, qpos, drop, exact)
    low = np.where(covered, R, NONE)
    need = np.flatnonzero(alive & ~covered)
    if need.size:
        low[need] = _next_start_above(t, lane, queue, qpos[need], exact)
    low = np.where(R == NONE, low, np.maximum(low, R))
    ok = alive & (low != NONE)
    first[ok] = np.minimum(first[ok], low[ok])


def _covered(t: TcpPackets, lane: _Lane, queue: np.ndarray, qpos: np.ndarray,
             drop: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Per query: a queue segment sent at or before it has start <= R < end. R grows with the
    rows, so each segment covers a contiguous run of queries: mark the runs. A run ends at the
    first query after the ACK that drops the segment; it begins at the first query whose R
    reaches the segment's start, which is where the previous segment's run ended when that
    one ended exactly there (in-order data), else found by a search."""
    R = lane.acked_to[qpos]
    valid = R != NONE
    if not valid.any():
        return valid
    qs = np.flatnonzero(queue)
    s, e = lane.s[qs], lane.e[qs]
    lo = int(min(R[valid].min(), s.min())) - 1
    span = int(max(R.max(), e.max())) - lo + 2
    if span * (t.nconv + 1) >= (1 << 62):
        exact[t.local[lane.seg]] = True
        return np.zeros(qpos.size, dtype=bool)
    rows = lane.seg[qs]
    sconv = t.local[rows]
    before = np.zeros(len(t) + 1, dtype=np.int64)  # queries in rows before each row
    before[lane.seg[qpos] + 1] = 1
    np.cumsum(before, out=before)
    stop = before[np.minimum(drop[qs], t.row_end[rows] - 1) + 1]
    start = np.empty(qs.size, dtype=np.int64)
    chained = np.zeros(qs.size, dtype=bool)
    chained[1:] = (sconv[1:] == sconv[:-1]) & (s[1:] == e[:-1])
    start[chained] = stop[:-1][chained[1:]]
    alone = np.flatnonzero(~chained)
    if alone.size:
        qconv = t.local[lane.seg[qpos]]
        keys = qconv * span + (np.where(valid, R, lo) - lo)  # sorted: R grows in a conversation
        start[alone] = np.searchsorted(keys, sconv[alone] * span + (s[alone] - lo), side="left")
    own = before[rows]  # queries before the segment = the first one at or after it
    begin = np.maximum(own, start)
    good = begin < stop
    depth = np.bincount(begin[good], minlength=qpos.size + 1)[: qpos.size + 1] - \
        np.bincount(stop[good], minlength=qpos.size + 1)[: qpos.size + 1]
    return (np.cumsum(depth[:-1]) > 0) & valid


def _next_start_above(t: TcpPackets, lane: _Lane, queue: np.ndarray, qpos: np.ndarray,
                      exact: np.ndarray) -> np.ndarray:
    """Per query: the lowest start above R among the queue segments sent up to it."""
    out = np.full(qpos.size, NONE, dtype=np.int64)
    qs = np.flatnonzero(queue)
    s = lane.s[qs]
    conv = t.local[lane.seg[qs]]
    R = lane.acked_to[qpos]
    lo = int(min(s.min(), R[R != NONE].min() if (R != NONE).any() else s.min())) - 1
    span = int(max(s.max(), R.max())) - lo + 2
    if span * (t.nconv + 1) >= (1 << 62):
        exact[t.local[lane.seg[qpos]]] = True
        return out
    order = np.lexsort((qs, s, conv))
    keys = conv[order] * span + (s[order] - lo)
    spos = qs[order]
    qconv = t.local[lane.seg[qpos]]
    floor = np.where(R == NONE, 0, R - lo)
    pos = np.searchsorted(keys, qconv * span + floor, side="right")
    todo = np.arange(qpos.size)
    for _ in range(SCAN_STEPS):
        if not todo.size:
            break
        p = np.minimum(pos[todo], keys.size - 1)
        inside = (pos[todo] < keys.size) & (keys[p] // span == qconv[todo])
        sent = inside & (spos[p] <= qpos[todo])
        out[todo[sent]] = keys[p[sent]] % span + lo
        todo = todo[inside & ~sent]
        pos[todo] += 1
    if todo.size:
        exact[t.local[lane.seg[qpos[todo]]]] = True
    return out


def _other_spans(t: TcpPackets, lane: _Lane, other: np.ndarray, drop: np.ndarray,
                 qpos: np.ndarray, ackf: np.ndarray, first: np.ndarray, last: np.ndarray,
                 exact: np.ndarray) -> None:
    """The rare segments (sent below the acknowledged point, or dropped by a row without the
    ACK flag): paired with every query they stay listed for; their listed start moves up with
    the acknowledgements that arrive meanwhile."""
    k = np.flatnonzero(other)
    if not k.size:
        return
    n = len(t)
    seg = lane.seg[k]
    stop = np.minimum(drop[k], t.row_end[seg])
    length = stop - seg
    total = int(length.sum())
    if total > PAIRS_PER_ROW * n + 1000:
        exact[t.local[seg]] = True
        return
    owner = np.repeat(np.arange(k.size), length)
    row = np.repeat(seg, length) + (np.arange(total) -
                                     np.repeat(np.cumsum(length) - length, length))
    peer_ack = (t.lane[row] != lane.d) & ackf[row]
    a = np.where(peer_ack, t.ack_rel[row], NONE)
    floor = int(lane.s.min()) - 1
    moved = exclusive_max(np.where(peer_ack, a, floor), owner)
    start_now = np.maximum(lane.s[k][owner], moved)
    query = lane.seg[qpos]
    at = np.searchsorted(query, row)
    is_q = (at < query.size) & (query[np.minimum(at, query.size - 1)] == row)
    qk = at[is_q]
    np.minimum.at(first, qk, start_now[is_q])
    np.maximum.at(last, qk, lane.e[k][owner[is_q]])
