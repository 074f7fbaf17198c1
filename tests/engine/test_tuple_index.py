"""The running table's tuple index: the compiled one and the Python one give the same answers,
and both agree with a plain dictionary of exact keys.

Keys are drawn from a small pool so tuples repeat across chunks, appear in both directions and
share most of their fields; a weak hash forced on the Python index makes every tuple collide with
others, so its exact-key path is covered too (the compiled index compares whole keys always).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.aggregate import tuples as tuples_module
from engine.aggregate.tuples import TupleIndex, compiled_table
from engine.key import Endpoints

needs_compiled = pytest.mark.skipif(compiled_table() is None,
                                    reason="the compiled tuple index is not built")


def _endpoints(rng: np.random.Generator, n: int) -> Endpoints:
    """Rows from a pool of a few hundred tuples, each sent either way."""
    pool = 300
    which = rng.integers(0, pool, n)
    base = np.random.default_rng(7)  # the same pool in every chunk
    what = base.integers(0, 3, pool).astype(np.uint64)
    hi = base.integers(0, 2, (2, pool)).astype(np.uint64)
    lo = base.integers(0, 40, (2, pool)).astype(np.uint64)
    port = base.integers(0, 30, (2, pool)).astype(np.uint64)
    flip = rng.integers(0, 2, n).astype(bool)
    s, d = np.where(flip, 1, 0), np.where(flip, 0, 1)
    return Endpoints(what[which], hi[s, which], lo[s, which], hi[d, which], lo[d, which],
                     port[s, which], port[d, which])


def _reference(chunks: list[Endpoints]
               ) -> list[tuple[list[int], list[bool], list[int], int]]:
    """Tuple numbers (in order of first row), directions, first-appearance groups and the
    tuples known after each chunk, with a dictionary of exact direction-free keys."""
    tids: dict[tuple[int, ...], int] = {}
    keys: list[tuple[int, ...]] = []
    out = []
    for e in chunks:
        tid, fwd, group = [], [], []
        local: dict[int, int] = {}
        for r in range(len(e)):
            src = (int(e.src_hi[r]), int(e.src_lo[r]), int(e.sport[r]))
            dst = (int(e.dst_hi[r]), int(e.dst_lo[r]), int(e.dport[r]))
            canon = (int(e.what[r]), *min(src, dst), *max(src, dst))
            if canon not in tids:
                tids[canon] = len(keys)
                keys.append(src)
            t = tids[canon]
            tid.append(t)
            fwd.append(keys[t] == src)
            group.append(local.setdefault(t, len(local)))
        out.append((tid, fwd, group, len(keys)))
    return out


def _check(index: TupleIndex, chunks: list[Endpoints], renamed: bool = False) -> None:
    """``renamed``: tuple numbers may differ from the reference's by a fixed renaming (the
    Python index numbers a tuple whose hash another holds after the chunk's others)."""
    reference = _reference(chunks)
    seen = 0
    rename: dict[int, int] = {}
    for e, (tid, fwd, group, known) in zip(chunks, reference, strict=True):
        found = index.lookup(e)
        if renamed:
            for mine, theirs in zip(found.tid.tolist(), tid, strict=True):
                assert rename.setdefault(mine, theirs) == theirs
            assert len(set(rename.values())) == len(rename)
        else:
            assert found.tid.tolist() == tid
        assert found.forward.tolist() == fwd
        assert found.group.tolist() == group
        assert found.created == known - seen
        assert found.order.tolist() == sorted(range(len(e)), key=lambda r: (group[r], r))
        assert len(index) == known
        seen = known


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("compiled", [pytest.param(True, marks=needs_compiled), False])
def test_index_matches_exact_dictionary(seed: int, compiled: bool) -> None:
    rng = np.random.default_rng(seed)
    chunks = [_endpoints(rng, int(n)) for n in rng.integers(0, 400, 12)]
    index = TupleIndex(compiled=compiled)
    assert (index._table is not None) == compiled
    _check(index, chunks)


def test_python_index_with_colliding_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tuple hashes to one of four values: the exact-key path places most rows."""
    monkeypatch.setattr(tuples_module, "tuple_hash",
                        lambda e: (e.what + e.sport + e.dport) % np.uint64(4))
    rng = np.random.default_rng(11)
    _check(TupleIndex(compiled=False), [_endpoints(rng, int(n)) for n in (50, 0, 300, 1, 200)],
           renamed=True)


@needs_compiled
def test_compiled_index_grows_past_its_first_tables() -> None:
    """Many distinct tuples: the compiled table's arrays and hash slots grow several times."""
    rng = np.random.default_rng(3)
    n = 20_000
    chunks = []
    for _ in range(3):
        a = rng.integers(0, 1 << 62, (2, n)).astype(np.uint64)
        p = rng.integers(0, 1 << 16, (2, n)).astype(np.uint64)
        w = np.full(n, 0x60406, dtype=np.uint64)
        chunks.append(Endpoints(w, a[0], a[1], a[1], a[0], p[0], p[1]))
    chunks.append(chunks[0])  # every tuple again, same direction
    _check(TupleIndex(), chunks)


@needs_compiled
def test_compiled_index_refuses_mismatched_columns() -> None:
    table = compiled_table()
    key = [np.zeros(4, dtype=np.uint64)] * 6 + [np.zeros(3, dtype=np.uint64)]
    outs = [np.empty(4, dtype=np.int64), np.empty(4, dtype=bool)] + \
        [np.empty(4, dtype=np.int64) for _ in range(2)]
    with pytest.raises(ValueError, match="key column"):
        table.lookup(*key, *outs)
    assert len(table) == 0


@needs_compiled
@pytest.mark.parametrize("seed", range(3))
def test_chunks_grouped_elsewhere_are_numbered_as_a_whole_lookup_numbers_them(seed: int) -> None:
    """A chunk grouped by one cleared table (as the decoding process does, ``group_rows``) and
    numbered through its groups' first rows (``lookup_groups``) gets the reference's tuple
    numbers, directions, groups and order, chunk after chunk."""
    from engine.aggregate.tuples import ChunkGroups, group_rows

    rng = np.random.default_rng(seed)
    chunks = [_endpoints(rng, int(n)) for n in rng.integers(0, 400, 10)]
    grouping = compiled_table()
    index = TupleIndex()
    seen = 0
    for e, (tid, fwd, group, known) in zip(chunks, _reference(chunks), strict=True):
        n = len(e)
        groups = ChunkGroups(np.empty(n, np.int64), np.empty(n, bool), np.empty(n, np.int64))
        group_rows(grouping, e, groups)
        assert groups.group.tolist() == group
        found = _numbered(index, e, groups)
        assert found.tid.tolist() == tid
        assert found.forward.tolist() == fwd
        assert found.group.tolist() == group
        assert found.order.tolist() == sorted(range(n), key=lambda r: (group[r], r))
        assert found.created == known - seen
        seen = known


def _numbered(index: TupleIndex, e: Endpoints, groups: object) -> object:
    """``index.lookup_groups`` for bare endpoints (it reads them from a packet table)."""
    from unittest import mock

    rows = np.arange(len(e))
    with mock.patch.object(tuples_module.Endpoints, "of",
                           lambda t, r, k=None: Endpoints(*(getattr(e, f)[r] for f in
                                                            tuples_module.KEY_FIELDS))):
        return index.lookup_groups(None, rows, None, groups)  # type: ignore[arg-type]


def test_growing_columns_hand_out_rows_at_their_fill_values() -> None:
    """Rows handed out start at each column's fill value, earlier rows survive every doubling,
    and no row is handed out twice."""
    from engine.aggregate.growing import Growing

    g = Growing({"a": (np.int64, -1), "b": (np.bool_, True), "c": (np.uint16, 7)}, capacity=2)
    written = 0
    for n in (0, 1, 3, 1, 10, 0, 40, 5):
        sl = g.extend(n)
        assert (sl.start, sl.stop) == (written, written + n)
        assert (g.cols["a"][sl] == -1).all() and g.cols["b"][sl].all()
        assert (g.cols["c"][sl] == 7).all()
        g.cols["a"][sl] = np.arange(sl.start, sl.stop)
        g.cols["b"][sl] = False
        written += n
        assert len(g) == written == g.cols["c"].size
        np.testing.assert_array_equal(g.cols["a"], np.arange(written))
        assert not g.cols["b"].any()
