"""Row helpers for the vectorised TCP analysis: the two directions of each conversation as
compact row lists, "the last row of that side before this one", running maxima per
conversation, and raw 32-bit sequence comparisons.

Rows are a :class:`~engine.tcp.segments.TcpPackets` batch (conversations contiguous, capture
order inside). A *lane* is one direction of a conversation (0 = sent by A, 1 = by B).
"""

from __future__ import annotations

import numpy as np

from .segments import TcpPackets

M32 = np.int64(0xFFFFFFFF)
NONE = np.iinfo(np.int64).min
#: keyed running maxima need span * groups below this
_KEY_LIMIT = 1 << 62


def s32(x: np.ndarray) -> np.ndarray:
    """Values mod 2^32 read as signed 32-bit numbers (int64)."""
    return ((x + (1 << 31)) & M32) - (1 << 31)


def gt32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TCP's wrap-aware a > b on raw 32-bit sequence numbers."""
    return s32(a - b) > 0


def lt32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return s32(a - b) < 0


def le32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return s32(a - b) <= 0


class Lanes:
    """Per-lane row lists of a batch and the "previous row" indices the analysis needs."""

    def __init__(self, t: TcpPackets) -> None:
        self.t = t
        self.n = len(t)
        self.rows = (t.lane_rows(0), t.lane_rows(1))
        self.prev_same = t.prev_same()
        self.prev_other = t.prev_other()

    def last_of_lane_before(self, lane: int, rows: np.ndarray) -> np.ndarray:
        """For each of ``rows``, the last earlier row of ``lane`` in the same conversation
        (-1 if none)."""
        t = self.t
        mine = t.lane[rows] == lane
        out = np.where(mine, self.prev_same[rows], self.prev_other[rows])
        return out

    def last_in_before(self, sub: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each of ``rows``, the last row of the sorted subset ``sub`` strictly before it in
        the same conversation (-1 if none)."""
        t = self.t
        if not sub.size:
            return np.full(rows.size, -1, dtype=np.int64)
        pos = np.searchsorted(sub, rows, side="left") - 1
        out = np.where(pos >= 0, sub[np.maximum(pos, 0)], -1)
        return np.where((out >= 0) & (out >= t.row_start[rows]), out, -1)

    def first_in_after(self, sub: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each of ``rows``, the first row of the sorted subset ``sub`` strictly after it in
        the same conversation (len(t) if none)."""
        t = self.t
        if not sub.size:
            return np.full(rows.size, self.n, dtype=np.int64)
        pos = np.searchsorted(sub, rows, side="right")
        out = np.where(pos < sub.size, sub[np.minimum(pos, sub.size - 1)], self.n)
        return np.where(out < t.row_end[rows], out, self.n)


def group_ids(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, … numbering the runs of equal values in ``groups`` (contiguous groups)."""
    if not groups.size:
        return np.zeros(0, dtype=np.int64)
    change = np.empty(groups.size, dtype=np.int64)
    change[0] = 0
    np.not_equal(groups[1:], groups[:-1], out=change[1:], casting="unsafe")
    return np.cumsum(change)


class KeyedMax:
    """Running maximum of ``values`` within groups (contiguous), as sortable keys: the key of
    (group g, value v) is g * span + (v - lo + 1), so the inclusive running maximum is one
    ``maximum.accumulate`` and "first position reaching v in group g" is one searchsorted."""

    def __init__(self, groups: np.ndarray, values: np.ndarray) -> None:
        self.gid = group_ids(groups)
        ngroups = int(self.gid[-1]) + 1 if groups.size else 0
        self.lo = int(values.min()) if values.size else 0
        self.span = (int(values.max()) - self.lo + 2) if values.size else 2
        self.ok = self.span * (ngroups + 1) < _KEY_LIMIT
        if self.ok and values.size:
            self.run = np.maximum.accumulate(self.gid * self.span + (values - self.lo + 1))
        else:
            self.run = np.zeros(values.size, dtype=np.int64)

    def value_at(self, pos: np.ndarray) -> np.ndarray:
        """The running maximum up to and including position ``pos`` (its own group)."""
        return self.run[pos] - self.gid[pos] * self.span + self.lo - 1

    def first_reaching(self, gid: np.ndarray, value: np.ndarray) -> np.ndarray:
        """First position of group ``gid`` whose running maximum is >= ``value`` (or the size
        when none)."""
        v = np.clip(value - self.lo + 1, 0, self.span)
        pos = np.searchsorted(self.run, gid * self.span + v, side="left")
        inside = pos < self.run.size
        inside[inside] = self.gid[pos[inside]] == gid[inside]
        return np.where(inside, pos, self.run.size)


def exclusive_max(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The maximum of ``values`` before each position within its group (contiguous groups);
    NONE at a group's first position."""
    n = values.size
    out = np.full(n, NONE, dtype=np.int64)
    if not n:
        return out
    k = KeyedMax(groups, values)
    if not k.ok:  # astronomically wide values: one group at a time
        starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
        for a, b in zip(starts.tolist(), np.append(starts[1:], n).tolist(), strict=True):
            if b - a > 1:
                out[a + 1 : b] = np.maximum.accumulate(values[a : b - 1])
        return out
    before = np.empty(n, dtype=np.int64)
    before[0] = 0
    before[1:] = k.run[:-1]
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(k.gid[1:], k.gid[:-1], out=first[1:])
    vals = before - k.gid * k.span + k.lo - 1
    return np.where(first, NONE, vals)
