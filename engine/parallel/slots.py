"""Fixed-size slots in one anonymous shared mapping.

``mmap.mmap(-1, n)`` is MAP_SHARED | MAP_ANONYMOUS: a process forked after it was made sees the
same pages, so a chunk read into a slot by this process is decoded in place by the worker, and
the worker's decoded columns are read in place here. Pages are only resident once touched.
"""

from __future__ import annotations

import contextlib
import mmap
from dataclasses import fields
from typing import Any

import numpy as np

from ..aggregate.tuples import ChunkGroups
from ..packets import COLUMN_LAYOUT, ROW_BYTES, PacketTable, lay_out


class SharedSlots:
    """``count`` slots of ``size`` bytes; :meth:`take` and :meth:`give` track which are free."""

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = (size + 4095) // 4096 * 4096
        self._map = mmap.mmap(-1, self.count * self.size)
        self._bytes = np.frombuffer(self._map, dtype=np.uint8)
        self._address = int(self._bytes.ctypes.data)
        self._free = list(range(count - 1, -1, -1))

    def take(self) -> int | None:
        return self._free.pop() if self._free else None

    def close(self) -> None:
        """Unmap the slots (a load's analyses would otherwise keep them resident: 106 MB);
        views still held elsewhere keep their pages until they go. No slot is handed out
        or recognised after this."""
        self._free = []
        self.count = 0
        self._bytes = np.empty(0, dtype=np.uint8)
        with contextlib.suppress(BufferError):  # (views still out: freed when they go)
            self._map.close()

    def give(self, slot: int) -> None:
        self._free.append(slot)

    @property
    def free(self) -> int:
        return len(self._free)

    def array(self, slot: int, size: int | None = None) -> np.ndarray:
        """The slot's bytes (its first ``size`` bytes) as a writable uint8 array."""
        start = slot * self.size
        return self._bytes[start : start + (self.size if size is None else size)]

    def buffer(self, slot: int, size: int) -> memoryview:
        return memoryview(self._map)[slot * self.size : slot * self.size + size]

    def slot_of(self, arr: np.ndarray) -> int | None:
        """The slot an array's data starts in, or None when it is not in this mapping."""
        offset = int(arr.ctypes.data) - self._address
        if 0 <= offset < self.count * self.size and offset % self.size == 0:
            return offset // self.size
        return None


#: an output slot's row also holds the chunk's grouping (:class:`ChunkGroups`), after the
#: packet columns
_GROUP_LAYOUT: list[tuple[str, Any]] = [("group", np.int64), ("order", np.int64),
                                        ("forward", np.bool_)]
SLOT_ROW_BYTES = ROW_BYTES + sum(np.dtype(dtype).itemsize for _, dtype in _GROUP_LAYOUT)


def rows_per_slot(slot_size: int) -> int:
    return (slot_size // SLOT_ROW_BYTES) // 8 * 8


def table_in(slots: SharedSlots, slot: int, n: int) -> PacketTable:
    """A packet table of ``n`` rows laid out in output slot ``slot``."""
    return PacketTable(**lay_out(slots.array(slot), rows_per_slot(slots.size), n,
                                 COLUMN_LAYOUT))


def groups_in(slots: SharedSlots, slot: int, n: int) -> ChunkGroups:
    """Room for the grouping of ``n`` rows in output slot ``slot``, after its packet columns."""
    capacity = rows_per_slot(slots.size)
    return ChunkGroups(**lay_out(slots.array(slot), capacity, n, _GROUP_LAYOUT,
                                 capacity * ROW_BYTES))


def clear(t: PacketTable) -> None:
    """The "nothing decoded" state the decoder expects (conv and payload_off are -1)."""
    for f in fields(t):
        getattr(t, f.name).fill(0)
    t.conv.fill(-1)
    t.payload_off.fill(-1)
