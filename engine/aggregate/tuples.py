"""The tuples seen so far: a hash index from a chunk's rows to stable tuple numbers.

A tuple is what :mod:`engine.key` groups by (kind, protocol, version and the two endpoints in
either direction). The compiled index (``_tuples.c``) does a chunk in one pass over its rows,
with the GIL released. Without it, each chunk looks its distinct direction-free hashes up in a
dictionary and every row is then compared field by field with its tuple's key. Either way a hash
collision can never merge two tuples, and both give the same answer: new tuples are numbered in
order of their first row, a chunk's groups in order of first appearance.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..compiled import compiled_module
from ..key import Endpoints, tuple_hash
from .growing import Growing

_U64 = (np.uint64, 0)
KEY_FIELDS = tuple(f.name for f in fields(Endpoints))
#: the compiled table's key words, in its order
_COMPILED_KEY = ("what", "src_hi", "src_lo", "sport", "dst_hi", "dst_lo", "dport")


@dataclass
class Lookup:
    """Where a chunk's rows fall: tuple number, local group and orientation of every row."""

    tid: np.ndarray  # int64, tuple number of each row
    group: np.ndarray  # int64, 0..groups-1 in order of first appearance: a tuple's rows
    forward: np.ndarray  # bool: the row goes the way of its tuple's key (src = key src)
    created: int  # tuples this lookup added
    order: np.ndarray  # int64: the rows group by group, file order inside a group


@dataclass
class ChunkGroups:
    """A chunk's rows grouped by tuple with no knowledge of earlier chunks (what a
    :class:`Lookup` holds but the tuple numbers), so another process can do it: the decoding
    process groups each chunk it decodes, and the load here only numbers one row per group
    (:meth:`TupleIndex.lookup_groups`)."""

    group: np.ndarray  # int64 per row: 0..groups-1 in order of first appearance
    forward: np.ndarray  # bool per row: the row goes the way of its group's first row
    order: np.ndarray  # int64: the rows group by group, file order inside a group


def group_rows(table: Any, e: Endpoints, out: ChunkGroups) -> None:
    """Group the rows ``e`` into ``out`` (arrays of ``len(e)``) with ``table``, a compiled
    tuple table of the caller's own (see :func:`compiled_table`), cleared first."""
    table.clear()
    key = [np.ascontiguousarray(getattr(e, name), dtype=np.uint64) for name in _COMPILED_KEY]
    # (a fresh table numbers tuples as it meets them: the tuple numbers are the groups)
    table.lookup(*key, out.group, out.forward, out.group, out.order)


def compiled_table() -> Any | None:
    """A new compiled tuple table, or None when it is not built or ``FLOWSCOPE_PURE_PYTHON``
    is set."""
    module = compiled_module("engine.aggregate._tuples")
    return None if module is None else module.TupleTable()


class TupleIndex:
    """Every tuple seen so far, numbered in order of creation, with its key (first sighting's
    orientation)."""

    def __init__(self, compiled: bool = True) -> None:
        self._table = compiled_table() if compiled else None
        if self._table is None:  # (the Python index's own state)
            self._by_hash: dict[int, int] = {}
            self._exact: dict[tuple[int, ...], int] = {}  # tuples whose hash another holds
            self.keys = Growing({name: _U64 for name in KEY_FIELDS})

    def __len__(self) -> int:
        return len(self._table) if self._table is not None else len(self.keys)

    def lookup(self, e: Endpoints) -> Lookup:
        """Tuple numbers for the rows ``e`` (new tuples are created, keyed by their first row)."""
        n = len(e)
        if n == 0:
            z = np.zeros(0, dtype=np.int64)
            return Lookup(z, z, np.zeros(0, dtype=bool), 0, z)
        if self._table is not None:
            return self._lookup_compiled(e, n)
        h = tuple_hash(e)
        uniq, first, inverse = np.unique(h, return_index=True, return_inverse=True)
        # groups (and new tuples) in order of first appearance
        appear = np.argsort(first, kind="stable")
        rank = np.empty(uniq.size, dtype=np.int64)
        rank[appear] = np.arange(uniq.size)
        get = self._by_hash.get
        tids = np.fromiter((get(k, -1) for k in uniq[appear].tolist()), dtype=np.int64,
                           count=uniq.size)
        new = np.flatnonzero(tids < 0)
        before = len(self)
        if new.size:
            tids[new] = self._create(e, first[appear[new]])
            self._by_hash.update(zip(uniq[appear[new]].tolist(), tids[new].tolist(),
                                     strict=True))
        group = rank[inverse.reshape(-1)]
        tid = tids[group]
        forward, same = self._compare(e, tid)
        if not same.all():
            self._place_exactly(e, np.flatnonzero(~same), tid, forward, group)
        if int(group.max()) < (1 << 16):  # numpy sorts 16-bit keys stably in linear time
            order = np.argsort(group.astype(np.uint16), kind="stable")
        else:
            order = np.argsort(group, kind="stable")
        return Lookup(tid, group, forward, len(self) - before, order)

    def lookup_groups(self, t: Any, rows: np.ndarray, kinds: np.ndarray | None,
                      groups: ChunkGroups) -> Lookup:
        """:meth:`lookup` of the rows ``rows`` of packet table ``t`` (``kinds`` as for
        :meth:`Endpoints.of`) when they are already grouped: only each group's first row is
        looked up, and every row takes its group's tuple, the same way round or the other."""
        order = groups.order
        if not order.size:
            return self.lookup(Endpoints.of(t, rows, kinds))
        firsts = order[np.flatnonzero(np.r_[True, np.diff(groups.group[order]) != 0])]
        found = self.lookup(Endpoints.of(t, rows[firsts],
                                         None if kinds is None else kinds[firsts]))
        # (the first rows are of distinct tuples in order of appearance: group k is row k)
        forward = groups.forward == found.forward[groups.group]
        return Lookup(found.tid[groups.group], groups.group, forward, found.created, order)

    def _lookup_compiled(self, e: Endpoints, n: int) -> Lookup:
        table: Any = self._table
        tid = np.empty(n, dtype=np.int64)
        forward = np.empty(n, dtype=bool)
        group = np.empty(n, dtype=np.int64)
        order = np.empty(n, dtype=np.int64)
        key = [np.ascontiguousarray(getattr(e, name), dtype=np.uint64) for name in _COMPILED_KEY]
        new = table.lookup(*key, tid, forward, group, order)
        return Lookup(tid, group, forward, new, order)

    def _create(self, e: Endpoints, rows: np.ndarray) -> np.ndarray:
        sl = self.keys.extend(rows.size)
        for name in KEY_FIELDS:
            self.keys.cols[name][sl] = getattr(e, name)[rows]
        return np.arange(sl.start, sl.stop, dtype=np.int64)

    def _compare(self, e: Endpoints, tid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the same orientation as its key? and the same tuple at all?"""
        k = self.keys.cols
        fwd = e.what == k["what"][tid]
        rev = fwd.copy()
        for mine, theirs in (("src_hi", "dst_hi"), ("src_lo", "dst_lo"), ("sport", "dport")):
            a, b = getattr(e, mine), getattr(e, theirs)
            ka, kb = k[mine][tid], k[theirs][tid]
            fwd &= (a == ka) & (b == kb)
            rev &= (a == kb) & (b == ka)
        return fwd, fwd | rev

    def _place_exactly(self, e: Endpoints, rows: np.ndarray, tid: np.ndarray,
                       forward: np.ndarray, group: np.ndarray) -> None:
        """Rows whose hash belongs to another tuple (a collision): look up their exact key.
        Groups are then renumbered in order of first appearance, as without a collision."""
        local: dict[int, int] = {}
        groups = int(group.max()) + 1
        for r in rows.tolist():
            src = (int(e.src_hi[r]), int(e.src_lo[r]), int(e.sport[r]))
            dst = (int(e.dst_hi[r]), int(e.dst_lo[r]), int(e.dport[r]))
            key = (int(e.what[r]), *min(src, dst), *max(src, dst))
            t = self._exact.get(key)
            if t is None:
                t = int(self._create(e, np.array([r]))[0])
                self._exact[key] = t
            tid[r] = t
            k = self.keys.cols
            forward[r] = (int(k["src_hi"][t]), int(k["src_lo"][t]), int(k["sport"][t])) == src
            if t not in local:
                local[t] = groups + len(local)
            group[r] = local[t]
        _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(first.size)
        group[:] = rank[inverse.reshape(-1)]
