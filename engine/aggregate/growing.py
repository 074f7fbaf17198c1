"""Columns that grow by doubling, so appending a chunk's new rows costs amortised O(rows)."""

from __future__ import annotations

from typing import Any

import numpy as np


class Growing:
    """Named numpy columns of equal length; ``cols[name]`` is the live view of the filled rows.

    New rows start at each column's fill value. Views handed out earlier stay valid only until
    the next :meth:`extend` (the storage may move).
    """

    def __init__(self, spec: dict[str, tuple[Any, Any]], capacity: int = 1024) -> None:
        self._spec = spec
        self._store = {name: np.empty(capacity, dtype=dtype) for name, (dtype, _) in spec.items()}
        self.size = 0
        self.cols: dict[str, np.ndarray] = {name: a[:0] for name, a in self._store.items()}

    def __len__(self) -> int:
        return self.size

    def extend(self, n: int) -> slice:
        """Add ``n`` rows (at their fill values); returns their slice.

        Spare capacity is left untouched until rows are handed out: filling it at each
        doubling touched twice the memory in use, and on a big capture's columns (hundreds of
        thousands of conversations) that was the load's longest hold of the interpreter."""
        start = self.size
        need = start + n
        capacity = next(iter(self._store.values())).size
        if need > capacity:
            new_cap = max(need, 2 * capacity)
            for name, (dtype, _) in self._spec.items():
                grown = np.empty(new_cap, dtype=dtype)
                grown[:start] = self._store[name][:start]
                self._store[name] = grown
        for name, (_, fill) in self._spec.items():
            self._store[name][start:need] = fill
        self.size = need
        self.cols = {name: a[:need] for name, a in self._store.items()}
        return slice(start, need)
