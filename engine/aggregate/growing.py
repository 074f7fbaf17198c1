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
        self._store = {name: np.full(capacity, fill, dtype=dtype)
                       for name, (dtype, fill) in spec.items()}
        self.size = 0
        self.cols: dict[str, np.ndarray] = {name: a[:0] for name, a in self._store.items()}

    def __len__(self) -> int:
        return self.size

    def extend(self, n: int) -> slice:
        """Add ``n`` rows (at their fill values); returns their slice."""
        start = self.size
        need = start + n
        capacity = next(iter(self._store.values())).size
        if need > capacity:
            new_cap = max(need, 2 * capacity)
            for name, (dtype, fill) in self._spec.items():
                grown = np.full(new_cap, fill, dtype=dtype)
                grown[:start] = self._store[name][:start]
                self._store[name] = grown
        self.size = need
        self.cols = {name: a[:need] for name, a in self._store.items()}
        return slice(start, need)
