"""Using both cores from numpy: most numpy kernels release the GIL, so a couple of threads
working on disjoint parts of the data run in parallel."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")

#: below this many elements a second thread costs more than it saves
MIN_PARALLEL = 200_000


def workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def argsort_unique_u64(keys: np.ndarray) -> np.ndarray:
    """``np.argsort`` of distinct uint64 keys, split by their top bits into independently sorted
    parts (sorted parts of disjoint key ranges concatenate into the full order)."""
    n = keys.size
    parts = workers()
    if n < MIN_PARALLEL or parts == 1:
        return np.argsort(keys)
    bits = max(1, (parts - 1).bit_length())
    bucket = keys >> np.uint64(64 - bits)
    groups = [np.flatnonzero(bucket == b) for b in range(1 << bits)]
    with ThreadPoolExecutor(max_workers=parts) as pool:
        orders = list(pool.map(lambda g: g[np.argsort(keys[g])], groups))
    return np.concatenate(orders)


def split_map(fn: Callable[[slice], T], n: int, piece: int = 1 << 17) -> list[T]:
    """``fn`` over contiguous slices of ``range(n)`` of at most ``piece`` items, a few at a
    time in parallel, results in order (small slices keep the temporaries small too)."""
    count = max(1, -(-n // piece))
    bounds = np.linspace(0, n, count + 1).astype(np.int64)
    pieces = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist())]
    if n < MIN_PARALLEL or workers() == 1:
        return [fn(p) for p in pieces]
    with ThreadPoolExecutor(max_workers=workers()) as pool:
        return list(pool.map(fn, pieces))
