"""Retransmitted and out-of-order segments, and bytes missing from the capture, per conversation.

A *segment* is a packet that occupies sequence space (payload, SYN or FIN; RSTs are left out).
Per side, in capture order, with ``H`` = the highest sequence end seen before it:

- ``seq >= H``: new data in order (``seq > H`` leaves a *hole* of bytes not seen yet);
- ``seq < H``: an *out-of-order* segment if it fills bytes of a hole, else a *retransmission*;
- keep-alives (0–1 byte at ``H - 1``), zero-window probes (1 byte at ``H`` while the peer's last
  window was 0) and the data that follows probes at the probe's position are neither.

Everything is a segmented running maximum except the hole bookkeeping: for sides that left a hole,
the bytes a ``seq < H`` segment fills are the hole bytes it is the first to cover (O(n log n)).

*Missing bytes* (Zeek's ``missed_bytes``): per side, the sequence space from the first data byte
(after the SYN, or the lowest seen) to the highest data end seen or acknowledged by the peer,
minus the bytes actually captured (so snaplen-cut payload counts as missing).

This numpy statement is the reference, and what runs without a compiler; where
``engine/tcp/_seqstats.c`` is built, :func:`sequence_stats` runs it instead (one pass per
conversation, the same numbers: :mod:`.seqstats_compiled`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cancel import checkpoint
from ..packets import ACK, FIN, RST, SYN
from ..sets import distinct
from .segments import TcpPackets, group_starts, segmented_running_max
from .seqstats_compiled import COMPILED, compiled_sequence_stats
from .seqstats_result import SeqStats

_FLOOR = -(1 << 62)
_MIN, _MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


@dataclass
class _Side:
    """What the classification of one side found, per conversation."""

    covered: np.ndarray  # data bytes seen (union of the nominal payload ranges)
    exact: np.ndarray  # bool: needs the exact union of captured ranges instead


def sequence_stats(t: TcpPackets) -> SeqStats:
    """The statistics of ``t``'s conversations: compiled where built, else numpy."""
    if COMPILED is not None:
        return compiled_sequence_stats(COMPILED, t)
    return numpy_sequence_stats(t)


def numpy_sequence_stats(t: TcpPackets) -> SeqStats:
    """The statistics of ``t``'s conversations, whole columns at a time (the reference)."""
    n = len(t)
    syn = t.has(SYN)
    fin = t.has(FIN)
    seglen = t.plen + syn + fin
    is_seg = (seglen > 0) & ~t.has(RST)
    win_zero = np.zeros(n, dtype=bool)
    other = t.prev_other()
    ok = other >= 0
    win_zero[ok] = t.win[other[ok]] == 0
    retx = np.zeros(n, dtype=bool)
    ooo = np.zeros(n, dtype=bool)
    nc = t.nconv
    missing_side = np.zeros((nc, 2), dtype=np.int64)
    for lane in (0, 1):
        checkpoint()
        rows = np.flatnonzero(is_seg & t.of_lane(lane))
        side = _classify(t, rows, seglen[rows], syn[rows], fin[rows], win_zero[rows], retx, ooo)
        checkpoint()
        missing_side[:, lane] = _missing(t, lane, side)
    return SeqStats(
        retransmissions=np.bincount(t.local[retx], minlength=nc).astype(np.int64),
        out_of_order=np.bincount(t.local[ooo], minlength=nc).astype(np.int64),
        missing=missing_side.sum(axis=1), missing_side=missing_side,
        retransmitted=retx, reordered=ooo)


def _classify(t: TcpPackets, rows: np.ndarray, seglen: np.ndarray, syn: np.ndarray,
              fin: np.ndarray, win_zero: np.ndarray, retx: np.ndarray, ooo: np.ndarray
              ) -> _Side:
    """Mark the retransmitted / out-of-order segments of one side (rows in capture order) and
    count the payload bytes its segments cover."""
    nc = t.nconv
    if not rows.size:
        return _Side(np.zeros(nc, dtype=np.int64), np.zeros(nc, dtype=bool))
    g = t.local[rows]
    s = t.rel[rows]
    e = s + seglen
    starts = group_starts(g)
    first = np.zeros(rows.size, dtype=bool)
    first[starts] = True
    high = segmented_running_max(e, starts, exclusive=True, floor=_FLOOR)
    plain = ~syn & ~fin
    # a zero-window probe (or a repeated one) is one byte at (or just below) H
    probe = plain & (seglen == 1) & win_zero & ((s == high) | (s == high - 1))
    keepalive = plain & (seglen <= 1) & (s == high - 1) & ~first
    after_probe = np.zeros(rows.size, dtype=bool)  # the data that follows, from the probe's byte
    after_probe[1:] = (~first[1:] & probe[:-1] & plain[1:] & (seglen[1:] > 1)
                       & (s[:-1] == s[1:]) & (s[1:] == high[1:] - 1))
    below = (s < high) & ~first & ~keepalive & ~after_probe
    hole = (s > high) & ~first
    new = np.where(s >= high, e - s, np.maximum(e - high, 0))
    new[first] = seglen[first]
    new[keepalive] = 0
    # sides that left a hole: from their first hole on, follow the holes exactly
    hole_at = np.full(nc, _MAX, dtype=np.int64)
    np.minimum.at(hole_at, g[hole], np.flatnonzero(hole))
    todo = (below | hole) & (np.arange(rows.size) >= hole_at[g])
    checkpoint()
    retx[rows[below & ~todo]] = True
    if todo.any():
        k = np.flatnonzero(todo)
        filled = _fill_holes(k, g, s, e, high, starts)
        ooo[rows[k[filled > 0]]] = True
        retx[rows[k[(filled == 0) & below[k]]]] = True
        new[k] += filled
    data_new = new - (syn & (s >= high)) - (fin & ((e > high) | first))
    covered = np.bincount(g, weights=np.maximum(data_new, 0), minlength=nc).astype(np.int64)
    # a segment below everything seen before it is not counted by ``new``: its conversation
    # gets the exact union (flagged conservatively: ending at or below the first segment)
    exact = np.zeros(nc, dtype=bool)
    first_start = np.repeat(s[starts], np.diff(np.append(starts, s.size)))
    exact[g[~first & (e <= first_start)]] = True
    return _Side(covered, exact)


def _fill_holes(k: np.ndarray, g: np.ndarray, s: np.ndarray, e: np.ndarray,
                high: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Bytes of open holes each visited segment ``k`` fills (0 for the hole makers themselves).

    An open hole byte is one at or above its side's first segment and below the high-water mark
    that no earlier segment covered. So a segment fills the bytes of [first start, H) in its
    range that it is the first to cover, and "first to cover" comes from one offline pass over
    the distinct sequence numbers: O(n log n), where following the open holes segment by
    segment cost O(n × holes) (20,000 shuffled segments took 47 s).
    """
    pick = np.flatnonzero(np.isin(g, distinct(g[k])))  # every segment of those sides covers
    a, b = s[pick], e[pick]
    # the distinct (side, sequence number) points in order; leaf i runs from point i to i + 1
    pg = np.concatenate([g[pick], g[pick]])
    pv = np.concatenate([a, b])
    checkpoint()
    lo, span = int(pv.min()), int(pv.max()) - int(pv.min()) + 1
    if span * (int(pg.max()) + 1) < (1 << 62):  # one integer key sorts faster than lexsort
        order = np.argsort(pg * span + (pv - lo))
    else:
        order = np.lexsort((pv, pg))
    checkpoint()
    pg, pv = pg[order], pv[order]
    new_point = np.ones(pv.size, dtype=bool)
    new_point[1:] = (pv[1:] != pv[:-1]) | (pg[1:] != pg[:-1])
    rank = np.empty(pv.size, dtype=np.int64)
    rank[order] = np.cumsum(new_point) - 1
    pg, pv = pg[new_point], pv[new_point]
    width = np.zeros(pv.size, dtype=np.int64)
    width[:-1] = np.where(pg[1:] == pg[:-1], pv[1:] - pv[:-1], 0)
    checkpoint()
    owner = _first_cover(rank[: pick.size], rank[pick.size :], pv.size)
    checkpoint()
    leaf = np.flatnonzero((owner < pick.size) & (width > 0))
    who = owner[leaf]
    seg = pick[who]
    first = starts[np.searchsorted(starts, seg, side="right") - 1]
    # leaves never straddle the first start or H: both are points themselves
    inside = (pv[leaf] >= s[first]) & (pv[leaf] < high[seg])
    got = np.bincount(who[inside], weights=width[leaf[inside]], minlength=pick.size)
    filled = np.zeros(g.size, dtype=np.int64)
    filled[pick] = got.astype(np.int64)
    return filled[k]


def _first_cover(lo: np.ndarray, hi: np.ndarray, leaves: int) -> np.ndarray:
    """For each leaf, the lowest i with ``lo[i] <= leaf < hi[i]`` (``lo.size`` where none).

    A segment tree built bottom-up for all ranges at once: each range marks the O(log n) nodes
    that tile it with its index (minimum wins), then minima are pushed down to the leaves.
    """
    size = 1 << max(leaves - 1, 0).bit_length()
    tree = np.full(2 * size, lo.size, dtype=np.int64)
    idx = np.arange(lo.size, dtype=np.int64)
    left, right = lo + size, hi + size
    while idx.size:
        checkpoint()
        live = left < right
        idx, left, right = idx[live], left[live], right[live]
        odd = (left & 1) == 1
        np.minimum.at(tree, left[odd], idx[odd])
        left += odd
        odd = (right & 1) == 1
        right -= odd
        np.minimum.at(tree, right[odd], idx[odd])
        left >>= 1
        right >>= 1
    level = 1
    while level < size:
        children = tree[2 * level : 4 * level].reshape(-1, 2)
        np.minimum(children, tree[level : 2 * level, None], out=children)
        level *= 2
    return tree[size : size + leaves]


def _missing(t: TcpPackets, lane: int, side: _Side) -> np.ndarray:
    """Bytes of one side's stream that were never captured, per conversation."""
    nc = t.nconv
    mine = t.of_lane(lane)
    syn = t.has(SYN)
    data = np.flatnonzero(mine & (t.plen > 0) & ~t.has(RST))  # a RST's payload is no stream data
    ds = t.rel[data] + syn[data]
    de = ds + t.plen[data]
    start = np.full(nc, _MAX, dtype=np.int64)
    high = np.full(nc, _MIN, dtype=np.int64)
    np.minimum.at(start, t.local[data], ds)
    np.maximum.at(high, t.local[data], de)
    syns = np.flatnonzero(mine & syn)
    if syns.size:
        convs, first = np.unique(t.local[syns], return_index=True)
        start[convs] = t.rel[syns[first]] + 1
    # what the other side acknowledged (never past this side's FIN)
    acks = np.flatnonzero(~mine & t.has(ACK) & ~t.has(RST) & t.per_row(t.base[:, lane] >= 0))
    acked = np.full(nc, _MIN, dtype=np.int64)
    np.maximum.at(acked, t.local[acks], t.ack_rel[acks])
    fins = np.flatnonzero(mine & t.has(FIN))
    fin_at = np.full(nc, _MAX, dtype=np.int64)
    np.minimum.at(fin_at, t.local[fins], t.rel[fins] + syn[fins] + t.plen[fins])
    acked = np.minimum(acked, fin_at)
    seen_high = np.where(high > _MIN, high, start)
    sane = acked - seen_high < (1 << 30)  # a wild acknowledgement is not evidence of data
    end = np.maximum(seen_high, np.where(sane, acked, seen_high))
    has_range = (start < _MAX) & (end > start)
    out = np.zeros(nc, dtype=np.int64)
    if not has_range.any():
        return out
    cut = data[t.cap[data] < t.plen[data]]
    exact = side.exact.copy()
    exact[t.local[cut]] = True
    covered = side.covered.copy()
    if exact.any():
        pick = exact[t.local[data]]
        covered[exact] = _union(t, data[pick], ds[pick], start, end)[exact]
    out[has_range] = (end - start - covered)[has_range]
    return np.maximum(out, 0)


def _union(t: TcpPackets, data: np.ndarray, ds: np.ndarray, start: np.ndarray,
           end: np.ndarray) -> np.ndarray:
    """Per conversation: bytes of [start, end) covered by the captured payload of ``data``."""
    nc = t.nconv
    covered = np.zeros(nc, dtype=np.int64)
    g = t.local[data]
    a = np.maximum(ds, start[g])
    b = np.minimum(ds + t.cap[data], end[g])
    ok = b > a
    g, a, b = g[ok], a[ok], b[ok]
    if not g.size:
        return covered
    span = int(a.max() - a.min()) + 1
    if span * (nc + 1) < (1 << 62):
        order = np.argsort(g * span + (a - a.min()), kind="stable")
    else:
        order = np.lexsort((a, g))
    g, a, b = g[order], a[order], b[order]
    prev = segmented_running_max(b, group_starts(g), exclusive=True, floor=_FLOOR)
    gain = np.maximum(b - np.maximum(a, prev), 0)
    covered += np.bincount(g, weights=gain, minlength=nc).astype(np.int64)
    return covered
