"""Row helpers for the vectorised TCP analysis: per-direction running maxima, "the last row of
this side before me", raw 32-bit sequence comparisons.

Rows are a :class:`~engine.tcp.segments.TcpPackets` batch (conversations contiguous, capture
order inside). A *lane* is one direction of a conversation (0 = sent by A, 1 = by B).
"""

from __future__ import annotations

import itertools

import numpy as np

from .segments import TcpPackets, group_starts

M32 = np.int64(0xFFFFFFFF)
NONE = np.iinfo(np.int64).min


def s32(x: np.ndarray) -> np.ndarray:
    """Values mod 2^32 read as signed 32-bit numbers (int64)."""
    return ((x + (1 << 31)) & M32) - (1 << 31)


def gt32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TCP's wrap-aware a > b on raw 32-bit sequence numbers."""
    return s32(a.astype(np.int64) - b) > 0


def lt32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return s32(a.astype(np.int64) - b) < 0


def le32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return s32(a.astype(np.int64) - b) <= 0


class Lanes:
    """Per-lane row lists of a batch and the "previous row" indices the analysis needs."""

    def __init__(self, t: TcpPackets) -> None:
        self.t = t
        self.n = len(t)
        self.rows = (t.lane_rows(0), t.lane_rows(1))
        #: group starts (positions in rows[d]) where a new conversation begins
        self.starts = tuple(group_starts(t.local[r]) if r.size else r for r in self.rows)
        self.prev_same = t.prev_same()
        self.prev_other = t.prev_other()
        self.arange = np.arange(self.n, dtype=np.int64)

    def last_before(self, mask: np.ndarray, lane_of_mask: int | None = None) -> np.ndarray:
        """For each row, the last earlier row (same conversation) where ``mask`` holds; with
        ``lane_of_mask`` only rows of that lane count. -1 where there is none."""
        t = self.t
        m = mask if lane_of_mask is None else mask & (t.lane == lane_of_mask)
        idx = np.where(m, self.arange, -1)
        out = np.full(self.n, -1, dtype=np.int64)
        if self.n:
            out[1:] = np.maximum.accumulate(idx)[:-1]
        return np.where(out >= t.row_start, out, -1)

    def lane_running_max(self, values: np.ndarray, include: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """For each row, the maximum of ``values`` over the earlier rows of its own lane (same
        conversation) where ``include`` holds: (maximum, index of the row that first reached
        it); NONE / -1 where no such row exists."""
        best = np.full(self.n, NONE, dtype=np.int64)
        who = np.full(self.n, -1, dtype=np.int64)
        for lane in (0, 1):
            rows = self.rows[lane]
            if not rows.size:
                continue
            v, w = exclusive_max(values[rows], include[rows], self.starts[lane])
            best[rows] = v
            who[rows] = np.where(w >= 0, rows[np.maximum(w, 0)], -1)
        return best, who


def exclusive_max(values: np.ndarray, include: np.ndarray, starts: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Segmented running maximum of the included values before each position (groups begin at
    ``starts``), and the position that first reached it; NONE / -1 before any."""
    n = values.size
    pos = np.arange(n, dtype=np.int64)
    gid = np.zeros(n, dtype=np.int64)
    if n:
        gid[starts] = 1
        gid = np.cumsum(gid) - 1
    lo = int(values[include].min()) if include.any() else 0
    hi = int(values[include].max()) if include.any() else 0
    span = hi - lo + 2
    best = np.full(n, NONE, dtype=np.int64)
    who = np.full(n, -1, dtype=np.int64)
    if not n or not include.any():
        return best, who
    if span * (int(gid[-1]) + 1) < (1 << 62):
        key = gid * span + np.where(include, values - lo + 1, 0)
        run = np.maximum.accumulate(key)
        raised = include & (key > np.concatenate(([-1], run[:-1])))
        run_v = run - gid * span
        first = np.maximum.accumulate(np.where(raised, pos, -1))
        prev_v = np.concatenate(([0], run_v[:-1]))
        prev_w = np.concatenate(([-1], first[:-1]))
        fresh = np.zeros(n, dtype=bool)
        fresh[starts] = True
        has = ~fresh & (prev_v > 0)
        best[has] = prev_v[has] + lo - 1
        who[has] = prev_w[has]
        return best, who
    bounds = np.append(starts, n)  # astronomically wide values: one group at a time
    for a, b in itertools.pairwise(bounds.tolist()):
        cur, at = NONE, -1
        for k in range(a, b):
            best[k], who[k] = cur, at
            if include[k] and values[k] > cur:
                cur, at = int(values[k]), k
    return best, who


def first_at_or_after_sorted(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Positions of the first ``keys`` >= each query (keys sorted ascending)."""
    return np.searchsorted(keys, query, side="left")
