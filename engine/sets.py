"""Set operations on integer columns without ``numpy.ma``: ``np.unique`` and ``np.isin``
minus their cost at start-up, and membership of byte columns by table.

``np.unique(a)`` (no counts or indices asked) asks ``np.ma.is_masked(a)``, and that first
question imports ``numpy.ma``: 12–15 ms, more than the work on a small capture. ``np.isin``
does the same when its values span a wide range (it sorts instead of using a table). The
engine's columns are never masked, so it calls these instead.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of ``values`` (any shape, integers), sorted, as a 1-D array."""
    a = np.sort(np.asarray(values).ravel())
    if a.size < 2:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def is_in(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``np.isin(values, members)`` for integers, with ``members`` sorted (a few constants)."""
    if not members.size:
        return np.zeros(np.shape(values), dtype=bool)
    at = np.minimum(np.searchsorted(members, values), members.size - 1)
    return members[at] == values


def byte_table(members: object) -> np.ndarray:
    """A 256-entry table of the byte values in ``members``: ``table[column]`` is
    ``np.isin(column, members)`` for a uint8 column, one gather instead of isin's passes (it
    runs on every chunk of a load)."""
    table = np.zeros(256, dtype=bool)
    table[np.asarray(members, dtype=np.int64)] = True
    return table
