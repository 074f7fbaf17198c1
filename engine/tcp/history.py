"""Zeek's ``history`` string: what each side did, in the order it first happened.

Upper case for the originator (our client), lower case for the responder:
``S`` SYN without ACK, ``H`` SYN-ACK, ``A`` pure ACK, ``D`` payload, ``F`` FIN, ``R`` RST,
``Q`` SYN together with FIN or RST, ``I`` FIN together with RST, ``W`` zero window,
``T`` retransmitted payload, ``G`` content gap (bytes missing from the capture), ``^`` the
originator is not the sender of the first packet (Zeek's "flipped").
As in Zeek, A/D/Q/I appear once per side; S/H, F and R again when their sequence number differs
from the previous one of that kind; W and T again at the 10th, 100th, … occurrence. Unlike Zeek,
G is placed at the end, once per side: a gap is only certain once the capture is over.

Where the compiled module is built (:mod:`.states_compiled`) one walk per conversation writes
the letters; the numpy statement below stays the reference.
"""

from __future__ import annotations

import numpy as np

from ..packets import ACK, FIN, RST, SYN
from ..sets import is_in
from .segments import TcpPackets
from .states_compiled import COMPILED, GRID_WIDTH, compiled_history_letters

#: longest history kept (fixed-width column); longer ones end with "…"
MAX_HISTORY = 32


def _group_firsts(keys: np.ndarray) -> np.ndarray:
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def history_strings(t: TcpPackets, client_lane: np.ndarray, retransmitted: np.ndarray,
                    missing_side: np.ndarray) -> np.ndarray:
    """One history string per conversation of ``t`` (fixed-width unicode array): compiled
    where built, else numpy."""
    if COMPILED is not None and MAX_HISTORY <= GRID_WIDTH:
        grid, counts = compiled_history_letters(COMPILED, t, client_lane, retransmitted,
                                                missing_side)
        return _fixed_width(grid, counts)
    return numpy_history_strings(t, client_lane, retransmitted, missing_side)


def _fixed_width(grid: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The strings of the letter grid, as wide as the longest (at most MAX_HISTORY); longer
    ones end with "…"."""
    nc = counts.size
    if not nc:
        return np.full(0, "", dtype="<U1")
    width = int(min(max(int(counts.max()), 1), MAX_HISTORY))
    grid = np.ascontiguousarray(grid[:, :width])
    grid[counts > width, width - 1] = ord("…")
    return grid.view(f"<U{width}").reshape(nc)


def numpy_history_strings(t: TcpPackets, client_lane: np.ndarray, retransmitted: np.ndarray,
                          missing_side: np.ndarray) -> np.ndarray:
    """:func:`history_strings` with numpy: the reference."""
    n = len(t)
    f = t.flags
    syn, fin, rst, ack = (f & SYN) != 0, (f & FIN) != 0, (f & RST) != 0, (f & ACK) != 0
    bits = syn.astype(np.int8) + fin + rst
    letter = np.zeros(n, dtype=np.uint32)  # the once-per-side letter of each packet, if any
    multi = bits > 1
    letter[multi] = np.where(fin & rst, ord("I"), ord("Q"))[multi]
    letter[(bits == 0) & (t.plen > 0)] = ord("D")
    letter[(bits == 0) & (t.plen == 0) & ack] = ord("A")
    single = bits == 1
    ev = _Events()
    for lane in (0, 1):
        mine = t.of_lane(lane)
        for ch in (ord("A"), ord("D"), ord("Q"), ord("I")):
            rows = np.flatnonzero(mine & (letter == ch))
            if rows.size:
                ev.add(rows[_group_firsts(t.local[rows])], ch, 1, lane)
        # S/H, F, R: again when the sequence number differs from the previous one of the kind
        for mask, key in ((single & syn, t.rel), (single & fin, t.rel + t.plen),
                          (single & rst, t.rel)):
            rows = np.flatnonzero(mine & mask)
            if not rows.size:
                continue
            k = key[rows]
            new = _group_firsts(t.local[rows])
            new[1:] |= k[1:] != k[:-1]
            rows = rows[new]
            chars = np.where(syn[rows], np.where(ack[rows], ord("H"), ord("S")),
                             np.where(fin[rows], ord("F"), ord("R")))
            ev.add(rows, chars, 1, lane)
        # W and T: the 1st, 10th, 100th, … occurrence
        for mask, ch, sub in ((mine & (t.win == 0) & ~rst & ~syn, ord("W"), 2),
                              (mine & retransmitted & (t.plen > 0), ord("T"), 3)):
            rows = np.flatnonzero(mask)
            if not rows.size:
                continue
            first = np.flatnonzero(_group_firsts(t.local[rows]))
            rank = np.arange(rows.size) - np.repeat(first, np.diff(np.append(first, rows.size)))
            ev.add(rows[is_in(rank + 1, _POWERS)], ch, sub, lane)
    starts = t.bounds[:-1]
    nonempty = t.bounds[1:] > starts
    ev.add(starts[nonempty & (client_lane == 1)], ord("^"), 0, -1)
    for lane in (0, 1):
        gap = nonempty & (missing_side[:, lane] > 0)
        ev.add(t.bounds[1:][gap] - 1, ord("G"), 4 + lane, lane)
    return ev.strings(t, client_lane)


_POWERS = 10 ** np.arange(19, dtype=np.int64)


class _Events:
    """History letters as (packet row, order within the packet, letter, lane) columns."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.chars: list[np.ndarray] = []
        self.subs: list[np.ndarray] = []
        self.lanes: list[np.ndarray] = []

    def add(self, rows: np.ndarray, chars: np.ndarray | int, sub: int, lane: int) -> None:
        self.rows.append(rows.astype(np.int64))
        self.chars.append(np.broadcast_to(np.asarray(chars, dtype=np.uint32), rows.shape))
        self.subs.append(np.full(rows.size, sub, dtype=np.int64))
        self.lanes.append(np.full(rows.size, lane, dtype=np.int64))

    def strings(self, t: TcpPackets, client_lane: np.ndarray) -> np.ndarray:
        nc = t.nconv
        rows = np.concatenate(self.rows)
        if not rows.size:
            return np.full(nc, "", dtype="<U1")
        sub = np.concatenate(self.subs)
        order = np.argsort(rows * 8 + sub, kind="stable")
        rows = rows[order]
        chars = np.concatenate(self.chars)[order]
        lane = np.concatenate(self.lanes)[order]
        conv = t.local[rows]
        server = (lane >= 0) & (lane != client_lane[conv])
        chars = np.where(server, chars + 32, chars).astype(np.uint32)  # lower case
        counts = np.bincount(conv, minlength=nc)
        width = int(min(max(int(counts.max()), 1), MAX_HISTORY))
        first = np.zeros(nc + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        rank = np.arange(rows.size) - first[conv]
        grid = np.zeros((nc, width), dtype=np.uint32)
        keep = rank < width
        grid[conv[keep], rank[keep]] = chars[keep]
        long = counts > width
        grid[long, width - 1] = ord("…")
        return grid.view(f"<U{width}").reshape(nc)
