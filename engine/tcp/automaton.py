"""Run a small state machine over many conversations at once.

Events are packets already grouped by conversation in order. Step k applies the k-th event of
every conversation that has one with a single table lookup, so a million conversations with a
handful of control packets each cost a handful of numpy operations. The few conversations with
very many events finish in a plain loop.
"""

from __future__ import annotations

import numpy as np

from ..cancel import checkpoint, every

#: below this many conversations still running, finish them in Python
_SMALL = 48


def run_automaton(table: np.ndarray, initial: int, local: np.ndarray, codes: np.ndarray,
                  nconv: int) -> np.ndarray:
    """Final state per conversation. ``local`` (non-decreasing) and ``codes`` describe the
    events in order; conversations without events keep ``initial``."""
    state = np.full(nconv, initial, dtype=np.int64)
    n = local.size
    if not n:
        return state
    counts = np.bincount(local, minlength=nconv)
    first = np.zeros(nconv + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    rank = np.arange(n, dtype=np.int64) - first[local]
    by_rank = np.argsort(rank, kind="stable")
    level = np.bincount(rank)
    edges = np.zeros(level.size + 1, dtype=np.int64)
    np.cumsum(level, out=edges[1:])
    codes = codes.astype(np.int64)
    for r in range(level.size):
        if not r & 0xFFF:
            checkpoint()
        if level[r] < _SMALL and level.size - r > _SMALL:
            _finish_in_python(table, state, local, codes, rank, r)
            break
        ev = by_rank[edges[r] : edges[r + 1]]
        conv = local[ev]
        state[conv] = table[state[conv], codes[ev]]
    return state


def _finish_in_python(table: np.ndarray, state: np.ndarray, local: np.ndarray,
                      codes: np.ndarray, rank: np.ndarray, from_rank: int) -> None:
    rest = np.flatnonzero(rank >= from_rank)  # still grouped by conversation, in order
    rows = table.tolist()
    current: dict[int, int] = {}
    convs, events = local[rest].tolist(), codes[rest].tolist()
    for k in every(len(convs), 1 << 16):
        conv, code = convs[k], events[k]
        s = current.get(conv)
        if s is None:
            s = int(state[conv])
        current[conv] = rows[s][code]
    for conv, s in current.items():
        state[conv] = s
