"""The tuples seen so far: a hash index from a chunk's rows to stable tuple numbers.

A tuple is what :mod:`engine.key` groups by (kind, protocol, version and the two endpoints in
either direction). Each chunk looks its distinct direction-free hashes up in a dictionary; every
row is then compared field by field with its tuple's key, so a hash collision can never merge two
tuples: rows that differ from the key they hashed to are placed by their exact key instead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..key import Endpoints, tuple_hash
from .growing import Growing

_U64 = (np.uint64, 0)
KEY_FIELDS = tuple(f.name for f in fields(Endpoints))


@dataclass
class Lookup:
    """Where a chunk's rows fall: tuple number, local group and orientation of every row."""

    tid: np.ndarray  # int64, tuple number of each row
    group: np.ndarray  # int64, 0..groups-1: rows of one tuple share a group (for sorting)
    forward: np.ndarray  # bool: the row goes the way of its tuple's key (src = key src)
    created: int  # tuples this lookup added


class TupleIndex:
    """Every tuple seen so far, numbered in order of creation, with its key (first sighting's
    orientation)."""

    def __init__(self) -> None:
        self._by_hash: dict[int, int] = {}
        self._exact: dict[tuple[int, ...], int] = {}  # tuples whose hash another tuple holds
        self.keys = Growing({name: _U64 for name in KEY_FIELDS})

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, e: Endpoints) -> Lookup:
        """Tuple numbers for the rows ``e`` (new tuples are created, keyed by their first row)."""
        n = len(e)
        if n == 0:
            z = np.zeros(0, dtype=np.int64)
            return Lookup(z, z, np.zeros(0, dtype=bool), 0)
        h = tuple_hash(e)
        uniq, first, inverse = np.unique(h, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        get = self._by_hash.get
        tids = np.fromiter((get(k, -1) for k in uniq.tolist()), dtype=np.int64,
                           count=uniq.size)
        new = np.flatnonzero(tids < 0)
        before = len(self)
        if new.size:
            tids[new] = self._create(e, first[new])
            self._by_hash.update(zip(uniq[new].tolist(), tids[new].tolist(), strict=True))
        tid = tids[inverse]
        forward, same = self._compare(e, tid)
        group = inverse.astype(np.int64)
        if not same.all():
            self._place_exactly(e, np.flatnonzero(~same), tid, forward, group, uniq.size)
        return Lookup(tid, group, forward, len(self) - before)

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
                       forward: np.ndarray, group: np.ndarray, groups: int) -> None:
        """Rows whose hash belongs to another tuple (a collision): look up their exact key."""
        local: dict[int, int] = {}
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
