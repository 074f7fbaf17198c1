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
byte is the acknowledged point itself when a segment covers it, else the next segment start above
it; the rare others are paired with the rows they stay listed for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packets import ACK, FIN, SYN
from .expert_rows import NONE, Lanes, exclusive_max, s32
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


def analyse_acks(t: TcpPackets, lanes: Lanes, seglen: np.ndarray, end: np.ndarray,
                 base: np.ndarray, lost: np.ndarray, sack_count: np.ndarray,
                 sack_bytes: np.ndarray, exact: np.ndarray) -> AckAnalysis:
    n = len(t)
    acked = np.full(n, -1, dtype=np.int64)
    bif = np.zeros(n, dtype=np.int64)
    record = np.zeros(n, dtype=bool)
    for d in (0, 1):
        _lane(t, lanes, d, seglen, end, base, lost, sack_count, sack_bytes, exact, acked, bif,
              record)
    return AckAnalysis(acked=acked, bytes_in_flight=bif, record=record)


def _lane(t: TcpPackets, lanes: Lanes, d: int, seglen: np.ndarray, end: np.ndarray,
          base: np.ndarray, lost: np.ndarray, sack_count: np.ndarray, sack_bytes: np.ndarray,
          exact: np.ndarray, acked: np.ndarray, bif: np.ndarray, record: np.ndarray) -> None:
    """Segments sent by lane ``d``, dropped by the rows of the other lane."""
    n = len(t)
    fl = t.flags.astype(np.int64)
    sf = (fl & (SYN | FIN)) != 0
    L = seglen.astype(np.int64)
    lane = t.lane
    mine = lane == d
    seg = np.flatnonzero(mine & ((L > 0) | sf))
    if not seg.size:
        return
    s = t.rel
    a = t.ack_rel  # acknowledgements of the other lane's rows, in lane d's numbers
    peer = ~mine
    with_ack = peer & ((fl & ACK) != 0)
    without_ack = peer & ((fl & ACK) == 0)
    gbase = t.base[t.local, d]  # the base gather_tcp unwrapped lane d against (raw)
    seq_raw = t.seq.astype(np.int64)
    ack_raw = t.ack.astype(np.int64)
    nxt_raw = (gbase + end) & M32

    # R: the running maximum of the peer's acknowledgements before each row
    starts = np.flatnonzero(np.concatenate(([True], t.local[1:] != t.local[:-1]))) if n else \
        np.zeros(0, dtype=np.int64)
    R, _ = exclusive_max(a, with_ack, starts)
    has_R = R != NONE
    # acknowledgements far from the data they acknowledge do not compare like TCP's
    far = with_ack & has_R & (np.abs(a - R) >= _HALF)
    exact[np.unique(t.local[far])] = True
    far_seg = has_R[seg] & (np.abs(end[seg] - R[seg]) >= _HALF)
    exact[np.unique(t.local[seg[far_seg]])] = True

    # -- the row that drops each segment -----------------------------------------------------
    e = end[seg]
    normal = ~has_R[seg] | (R[seg] < e)
    drop = np.full(seg.size, n, dtype=np.int64)
    ack_rows = np.flatnonzero(with_ack)
    if ack_rows.size:
        conv_a = t.local[ack_rows]
        R_incl = np.maximum.accumulate(_keyed(conv_a, a[ack_rows]))
        if normal.any():
            k = seg[normal]
            want = _key_of(conv_a, a[ack_rows], t.local[k], e[normal])
            pos = np.searchsorted(R_incl, want, side="left")
            ok = pos < ack_rows.size
            ok[ok] = conv_a[pos[ok]] == t.local[k[ok]]
            idx = np.flatnonzero(normal)
            drop[idx[ok]] = ack_rows[pos[ok]]
        stale = np.flatnonzero(~normal)
        pos = np.searchsorted(ack_rows, seg[stale], side="right")
        for _ in range(SCAN_STEPS):
            if not stale.size:
                break
            valid = pos < ack_rows.size
            p = np.minimum(pos, ack_rows.size - 1)
            valid &= conv_a[p] == t.local[seg[stale]]
            hit = valid & (a[ack_rows[p]] >= e[stale])
            drop[stale[hit]] = ack_rows[p[hit]]
            keep = valid & ~hit
            stale, pos = stale[keep], pos[keep] + 1
        if stale.size:
            exact[np.unique(t.local[seg[stale]])] = True
    _drops_without_ack(t, seg, without_ack, ack_raw, seq_raw, nxt_raw, gbase, s, drop, exact)

    # -- what each row of the peer acknowledges (the oldest exact match it drops) -------------
    hit = (drop < n) & (nxt_raw[seg] == ack_raw[np.minimum(drop, n - 1)])
    if hit.any():
        rows, segs = drop[hit], seg[hit]
        order = np.lexsort((segs, rows))
        rows, segs = rows[order], segs[order]
        first = np.concatenate(([True], rows[1:] != rows[:-1]))
        acked[rows[first]] = segs[first]
        record[rows[first]] = True

    # -- Wireshark stops listing segments past MAX_UNACKED ------------------------------------
    added = np.zeros(n + 1, dtype=np.int64)
    added[seg + 1] = 1
    dropped = np.zeros(n + 1, dtype=np.int64)
    np.add.at(dropped, np.minimum(drop, n - 1)[drop < n] + 1, 1)
    added, dropped = np.cumsum(added), np.cumsum(dropped)
    start = t.row_start[seg]
    listed = (added[seg] - added[start]) - (dropped[seg] - dropped[start])
    exact[np.unique(t.local[seg[listed >= MAX_UNACKED]])] = True

    # -- bytes in flight ------------------------------------------------------------------
    _bytes_in_flight(t, lanes, d, seg, drop, normal, R, has_R, with_ack, end, base,
                     gbase, lost, sack_count, sack_bytes, L, sf, exact, bif, record)


def _keyed(conv: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sortable (conversation, value) keys: value order inside each conversation."""
    lo = int(values.min())
    span = int(values.max()) - lo + 2
    return conv.astype(np.int64) * span + (values - lo + 1)


def _key_of(conv_ref: np.ndarray, values_ref: np.ndarray, conv: np.ndarray,
            values: np.ndarray) -> np.ndarray:
    """Keys comparable with ``_keyed(conv_ref, values_ref)`` (values clipped to its range)."""
    lo = int(values_ref.min())
    span = int(values_ref.max()) - lo + 2
    return conv.astype(np.int64) * span + np.clip(values - lo + 1, 0, span)


def _drops_without_ack(t: TcpPackets, seg: np.ndarray, without_ack: np.ndarray,
                       ack_raw: np.ndarray, seq_raw: np.ndarray, nxt_raw: np.ndarray,
                       gbase: np.ndarray, s: np.ndarray, drop: np.ndarray,
                       exact: np.ndarray) -> None:
    """Rows without the ACK flag still drop segments their raw ACK field reaches (Wireshark
    compares it anyway): pair them with the earlier segments of their conversation."""
    rows = np.flatnonzero(without_ack)
    if not rows.size:
        return
    pos_seg = np.searchsorted(seg, rows)  # segments before each row (same conversation)
    conv_first = np.searchsorted(seg, t.row_start[rows])
    count = pos_seg - conv_first
    total = int(count.sum())
    if total > 4 * len(t) + 1000:
        exact[np.unique(t.local[rows])] = True
        return
    q = np.repeat(rows, count)
    i = np.repeat(conv_first, count) + (np.arange(total) - np.repeat(np.cumsum(count) - count,
                                                                      count))
    si = seg[i]
    ge = s32(ack_raw[q] - nxt_raw[si]) >= 0
    alive = drop[i] > q
    first = np.full(seg.size, len(t), dtype=np.int64)
    np.minimum.at(first, i[ge & alive], q[ge & alive])
    # a partial acknowledgement without the ACK flag moves a segment's start: not modelled
    seg_seq_raw = (gbase[si] + s[si]) & M32
    partial = alive & ~ge & (s32(ack_raw[q] - seg_seq_raw) > 0)
    exact[np.unique(t.local[q[partial]])] = True
    np.minimum(drop, first, out=drop)


def _bytes_in_flight(t: TcpPackets, lanes: Lanes, d: int, seg: np.ndarray, drop: np.ndarray,
                     normal: np.ndarray, R: np.ndarray, has_R: np.ndarray,
                     with_ack: np.ndarray, end: np.ndarray, base: np.ndarray,
                     gbase: np.ndarray, lost: np.ndarray, sack_count: np.ndarray,
                     sack_bytes: np.ndarray, L: np.ndarray, sf: np.ndarray,
                     exact: np.ndarray, bif: np.ndarray, record: np.ndarray) -> None:
    n = len(t)
    s = t.rel
    mine = t.lane == d
    # bytes in flight are shown after data (not bare SYN/FIN) while no capture hole is pending
    last_lost = lanes.last_before(lost & mine)
    last_lost = np.where(lost & mine, np.arange(n), last_lost)
    last_ack = lanes.last_before(with_ack)
    valid = (last_lost < 0) | (last_ack > last_lost)
    query = np.flatnonzero(mine & (L > 0) & valid)
    record[query] = True
    if not query.size:
        return
    e = end[seg]
    sg = s[seg]
    # segments sent at or above the acknowledged point ("queue" segments) vs the rest
    queue = normal & (~has_R[seg] | (sg >= R[seg])) & (drop_by_ack(drop, seg, with_ack))
    # Wireshark's relative numbers: (value - base) mod 2^32, compared unsigned
    delta = s32(gbase[seg] - base[t.local[seg], d])
    out_of_range = (sg + delta < 0) | (e + delta >= (1 << 32))
    exact[np.unique(t.local[seg[out_of_range]])] = True
    first = np.full(query.size, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(query.size, NONE, dtype=np.int64)
    _queue_span(t, seg[queue], sg[queue], e[queue], drop[queue], query, R, has_R, first, last,
                exact)
    _other_spans(t, seg[~queue], sg[~queue], e[~queue], drop[~queue], query, with_ack, first,
                 last, exact)
    span = last - first
    po = lanes.prev_other[query]
    sacked = (po >= 0) & (sack_count[np.maximum(po, 0)] > 0)
    in_flight = np.where(sacked, (span - sack_bytes[np.maximum(po, 0)].astype(np.int64)) & M32,
                         span & M32)
    show = (in_flight > 0) & (in_flight < IN_FLIGHT_LIMIT) & (last != NONE)
    bif[query[show]] = in_flight[show] - sf[query[show]]


def drop_by_ack(drop: np.ndarray, seg: np.ndarray, with_ack: np.ndarray) -> np.ndarray:
    """Segments dropped by a row with the ACK flag (or never dropped)."""
    n = with_ack.size
    return (drop >= n) | with_ack[np.minimum(drop, n - 1)]


def _queue_span(t: TcpPackets, seg: np.ndarray, s: np.ndarray, e: np.ndarray,
                drop: np.ndarray, query: np.ndarray, R: np.ndarray, has_R: np.ndarray,
                first: np.ndarray, last: np.ndarray, exact: np.ndarray) -> None:
    """Lowest unacknowledged byte and highest end over the queue segments listed at each
    query row. A queue segment (sent at or above the acknowledged point) stays listed while
    the acknowledged point R is below its end, and its listed start is max(start, R)."""
    if not seg.size:
        return
    n = len(t)
    Rq = np.where(has_R[query], R[query], NONE)
    # highest end: the prefix maximum of ends over queue segments sent up to the query
    ends_by_row = np.full(n, NONE, dtype=np.int64)
    ends_by_row[seg] = e
    starts = np.flatnonzero(np.concatenate(([True], t.local[1:] != t.local[:-1])))
    pmax, _ = exclusive_max(ends_by_row, ends_by_row != NONE, starts)
    incl = np.maximum(pmax, ends_by_row)  # up to and including the row itself
    top = incl[query]
    alive = (top != NONE) & ((Rq == NONE) | (top > Rq))
    last[alive] = np.maximum(last[alive], top[alive])
    # lowest byte: R when a listed queue segment covers it, else the next segment start above
    covered = _covered(t, seg, s, e, query, Rq)
    low = np.where(covered, Rq, NONE)
    need = np.flatnonzero(alive & ~covered)
    if need.size:
        low[need] = _next_start_above(t, seg, s, query[need], Rq[need], exact)
    low = np.where(Rq == NONE, low, np.maximum(low, Rq))
    ok = alive & (low != NONE)
    first[ok] = np.minimum(first[ok], low[ok])


def _covered(t: TcpPackets, seg: np.ndarray, s: np.ndarray, e: np.ndarray, query: np.ndarray,
             Rq: np.ndarray) -> np.ndarray:
    """Per query: some queue segment sent at or before it has start <= R < end. R grows with
    the rows, so each segment covers a contiguous run of queries."""
    qn = query.size
    qc = t.local[query]
    if not qn:
        return np.zeros(0, dtype=bool)
    valid = Rq != NONE
    floor = int(min(Rq[valid].min(), s.min())) - 1 if valid.any() else int(s.min()) - 1
    vals = np.where(valid, Rq, floor)
    lo = floor
    span = int(max(vals.max(), e.max())) - lo + 2
    if span * (t.nconv + 1) >= (1 << 62):
        return np.zeros(qn, dtype=bool)
    key = qc.astype(np.int64) * span + (vals - lo)  # sorted: R grows within a conversation
    sc = t.local[seg].astype(np.int64)
    lo_i = np.searchsorted(key, sc * span + (s - lo), side="left")
    hi_i = np.searchsorted(key, sc * span + (e - lo), side="left")
    own = np.searchsorted(query, seg, side="left")  # first query at or after the segment
    begin = np.maximum(own, lo_i)
    good = begin < hi_i
    depth = np.zeros(qn + 1, dtype=np.int64)
    np.add.at(depth, begin[good], 1)
    np.add.at(depth, hi_i[good], -1)
    return (np.cumsum(depth[:-1]) > 0) & valid


def _next_start_above(t: TcpPackets, seg: np.ndarray, s: np.ndarray, rows: np.ndarray,
                      Rq: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Per query row: the lowest start above R among queue segments sent up to the row."""
    out = np.full(rows.size, NONE, dtype=np.int64)
    conv = t.local[seg].astype(np.int64)
    lo = int(min(s.min(), Rq[Rq != NONE].min())) if (Rq != NONE).any() else int(s.min())
    span = int(max(s.max(), Rq.max())) - lo + 2
    order = np.lexsort((seg, s, conv))
    keys = conv[order] * span + (s[order] - lo)
    srow = seg[order]
    qc = t.local[rows].astype(np.int64)
    floor = np.where(Rq == NONE, -1, Rq - lo)
    pos = np.searchsorted(keys, qc * span + floor, side="right")
    todo = np.arange(rows.size)
    for _ in range(SCAN_STEPS):
        if not todo.size:
            break
        p = pos[todo]
        inside = p < keys.size
        inside[inside] = keys[p[inside]] // span == qc[todo[inside]]
        sent = np.zeros(todo.size, dtype=bool)
        sent[inside] = srow[p[inside]] <= rows[todo[inside]]
        found = inside & sent
        out[todo[found]] = keys[p[found]] % span + lo
        todo = todo[inside & ~sent]
        pos[todo] += 1
    if todo.size:
        exact[np.unique(t.local[rows[todo]])] = True
    return out


def _other_spans(t: TcpPackets, seg: np.ndarray, s: np.ndarray, e: np.ndarray,
                 drop: np.ndarray, query: np.ndarray, with_ack: np.ndarray,
                 first: np.ndarray, last: np.ndarray, exact: np.ndarray) -> None:
    """The rare segments (sent below the acknowledged point, or dropped by a row without the
    ACK flag): paired with every query row they stay listed for; their listed start is moved
    up by the acknowledgements that arrive while they are listed."""
    if not seg.size:
        return
    n = len(t)
    stop = np.minimum(drop, t.row_end[seg])
    length = stop - seg
    total = int(length.sum())
    if total > PAIRS_PER_ROW * n + 1000:
        exact[np.unique(t.local[seg])] = True
        return
    owner = np.repeat(np.arange(seg.size), length)
    row = np.repeat(seg, length) + (np.arange(total) - np.repeat(np.cumsum(length) - length,
                                                                length))
    a = np.where(with_ack[row], t.ack_rel[row], NONE)
    starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
    moved, _ = exclusive_max(a, a != NONE, starts)
    start_now = np.maximum(s[owner], moved)
    qpos = np.searchsorted(query, row)
    is_q = (qpos < query.size) & (query[np.minimum(qpos, query.size - 1)] == row)
    qk = qpos[is_q]
    np.minimum.at(first, qk, start_now[is_q])
    np.maximum.at(last, qk, e[owner[is_q]])
