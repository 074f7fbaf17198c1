"""Row helpers for the vectorised TCP analysis: the two directions of each conversation as
compact row lists, "the last row of that side before this one", running maxima per
conversation, and raw 32-bit sequence comparisons.

Rows are a :class:`~engine.tcp.segments.TcpPackets` batch (conversations contiguous, capture
order inside). A *lane* is one direction of a conversation (0 = sent by A, 1 = by B).
"""

from __future__ import annotations

import numpy as np

from ..packets import ACK
from .segments import TcpPackets

M32 = np.int64(0xFFFFFFFF)
NONE = np.iinfo(np.int64).min
#: keyed running maxima need span * groups below this
_KEY_LIMIT = 1 << 62


def mark(flags: np.ndarray, mask: np.ndarray, bits: int) -> None:
    """``flags |= bits`` where ``mask`` holds (one pass, no gather of the masked rows)."""
    flags |= mask * np.uint16(bits)


def s32(x: np.ndarray) -> np.ndarray:
    """Values mod 2^32 read as signed 32-bit numbers (int64)."""
    return _wrapped(x).astype(np.int64)


def _wrapped(x: np.ndarray) -> np.ndarray:
    """Values mod 2^32 as int32 (the conversion to uint32 is modular, then reinterpreted)."""
    return x.astype(np.uint32).view(np.int32)


def gt32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TCP's wrap-aware a > b on raw 32-bit sequence numbers."""
    return _wrapped(a - b) > 0


def lt32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _wrapped(a - b) < 0


def le32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _wrapped(a - b) <= 0


class Lanes:
    """Per-lane row lists of a batch and the "previous row" indices the analysis needs; what
    several rules read about a lane (its rows' conversations, its ACK rows and their running
    maximum) is worked out once, on first use."""

    def __init__(self, t: TcpPackets) -> None:
        self.t = t
        self.n = len(t)
        self.rows = (t.lane_rows(0), t.lane_rows(1))
        self.prev_same = t.prev_same()
        self.prev_other = t.prev_other()
        self._groups: dict[int, np.ndarray] = {}
        self._acks: dict[int, np.ndarray] = {}
        self._ack_max: dict[int, KeyedMax] = {}
        self._position: np.ndarray | None = None

    def groups(self, lane: int) -> np.ndarray:
        """The conversation (position in the batch) of each row of ``lane``."""
        if lane not in self._groups:
            self._groups[lane] = self.t.local[self.rows[lane]]
        return self._groups[lane]

    def acks(self, lane: int) -> np.ndarray:
        """The rows of ``lane`` with the ACK flag, in order."""
        if lane not in self._acks:
            rows = self.rows[lane]
            self._acks[lane] = rows[(self.t.flags[rows] & ACK) != 0]
        return self._acks[lane]

    def ack_max(self, lane: int) -> KeyedMax:
        """Running maximum (per conversation) of the acknowledgements of ``lane``'s ACK rows."""
        if lane not in self._ack_max:
            acks = self.acks(lane)
            self._ack_max[lane] = KeyedMax(self.t.local[acks], self.t.ack_rel[acks])
        return self._ack_max[lane]

    def position(self, rows: np.ndarray) -> np.ndarray:
        """Each row's position in its lane's row list."""
        if self._position is None:
            pos = np.empty(self.n, dtype=np.int64)
            for lane in (0, 1):
                pos[self.rows[lane]] = np.arange(self.rows[lane].size)
            self._position = pos
        return self._position[rows]

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


class KeyedMax:
    """Running maximum of ``values`` within groups, as sortable keys: the key of (group g,
    value v) is g * span + (v - lo + 1), so the inclusive running maximum is one
    ``maximum.accumulate`` and "first position reaching v in group g" is one searchsorted.
    ``groups``: non-decreasing group numbers (the rows' conversations), used as they are."""

    def __init__(self, groups: np.ndarray, values: np.ndarray) -> None:
        self.gid = groups
        ngroups = int(groups[-1]) + 1 if groups.size else 0
        self.lo = int(values.min()) if values.size else 0
        self.span = (int(values.max()) - self.lo + 2) if values.size else 2
        self.ok = self.span * (ngroups + 1) < _KEY_LIMIT
        self._values: np.ndarray | None = None
        if self.ok and values.size:
            key = groups * self.span
            key += values
            key += 1 - self.lo
            self.run = np.maximum.accumulate(key, out=key)
        else:
            self.run = np.zeros(values.size, dtype=np.int64)

    @property
    def values(self) -> np.ndarray:
        """The running maximum at each position, as a value (worked out once)."""
        if self._values is None:
            v = self.gid * -self.span
            v += self.run
            v += self.lo - 1
            self._values = v
        return self._values

    def value_at(self, pos: np.ndarray) -> np.ndarray:
        """The running maximum up to and including position ``pos`` (its own group)."""
        return self.values[pos]

    def first_reaching(self, gid: np.ndarray, value: np.ndarray) -> np.ndarray:
        """First position of group ``gid`` whose running maximum is >= ``value`` (or the size
        when none)."""
        v = np.clip(value - self.lo + 1, 0, self.span)
        pos = np.searchsorted(self.run, gid * self.span + v, side="left")
        inside = np.flatnonzero(pos < self.run.size)
        pos[inside[self.gid[pos[inside]] != gid[inside]]] = self.run.size
        return pos


def exclusive_max(values: np.ndarray, groups: np.ndarray, km: KeyedMax | None = None
                  ) -> np.ndarray:
    """The maximum of ``values`` before each position within its group (non-decreasing group
    numbers); NONE at a group's first position. ``km``: their KeyedMax, when already made."""
    n = values.size
    if not n:
        return np.full(0, NONE, dtype=np.int64)
    k = km if km is not None else KeyedMax(groups, values)
    if not k.ok:  # astronomically wide values: one group at a time
        out = np.full(n, NONE, dtype=np.int64)
        starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
        for a, b in zip(starts.tolist(), np.append(starts[1:], n).tolist(), strict=True):
            if b - a > 1:
                out[a + 1 : b] = np.maximum.accumulate(values[a : b - 1])
        return out
    out = np.empty(n, dtype=np.int64)
    out[0] = NONE
    out[1:] = k.values[:-1]
    g = k.gid
    out[1:][g[1:] != g[:-1]] = NONE
    return out
