"""A chunk grouped by tuple beforehand (as the decoding process does, ``group_chunk``) and then
numbered here (``TupleIndex.lookup_groups``) gives what grouping it here gives: every capture,
loaded in small chunks both ways, has the same conversations, packet lists and packet columns;
so does a capture whose TCP headers Wireshark numbers but does not count (grouped as TCP
whatever was decoded)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.aggregate import running
from engine.aggregate.tuples import ChunkGroups, TupleIndex, compiled_table
from engine.load import Load
from engine.packets import PacketTable, Reason
from engine.table import COLUMN_NAMES

from .bigger import bigger_capture
from .test_segment_sums import ALL, write_uncounted_capture

pytestmark = pytest.mark.skipif(compiled_table() is None,
                                reason="the compiled tuple table is not built here")

SMALL_CHUNKS = WIRESHARK.replace(chunk_bytes=1 << 12, workers=0)


def _load(path: Path, monkeypatch: pytest.MonkeyPatch, grouped: bool
          ) -> tuple[object, list[int], list[int]]:
    """Load ``path`` here; with ``grouped``, each chunk is grouped first, as the decoding
    process would, and the grouping is handed to the running table. Also returns the rows
    grouped per chunk and the rows numbered from a grouping."""
    grouped_rows: list[int] = []
    numbered: list[int] = []
    if grouped:
        table = compiled_table()
        add_rows = Load.add_rows
        lookup_groups = TupleIndex.lookup_groups

        def with_groups(self: Load, part: PacketTable, side: object,
                        groups: ChunkGroups | None = None) -> None:
            groups = running.group_chunk(table, part)
            # (a chunk with fragments or tunnelled packets is grouped again by the table)
            if not side.fragments and not side.inner:  # type: ignore[attr-defined]
                grouped_rows.append(groups.order.size)
            add_rows(self, part, side, groups)  # type: ignore[arg-type]

        def counted(self: TupleIndex, t: PacketTable, rows: np.ndarray,
                    kinds: np.ndarray | None, groups: ChunkGroups) -> object:
            numbered.append(rows.size)
            return lookup_groups(self, t, rows, kinds, groups)

        monkeypatch.setattr(Load, "add_rows", with_groups)
        monkeypatch.setattr(TupleIndex, "lookup_groups", counted)
    try:
        with extract_flows_from_file(path, SMALL_CHUNKS) as r:
            return _columns(r), grouped_rows, numbered
    except Exception as exc:  # an unreadable capture: the same either way
        return (type(exc).__name__, str(exc)), grouped_rows, numbered
    finally:
        monkeypatch.undo()


def _columns(r: Any) -> dict[str, np.ndarray]:
    out = {name: getattr(r.conversations, name).copy() for name in COLUMN_NAMES}
    out["packet_index"] = r.conversations.packet_index.copy()
    out["packet_start"] = r.conversations.packet_start.copy()
    for f in dataclasses.fields(PacketTable):
        out[f"packets.{f.name}"] = getattr(r.packets, f.name).copy()
    for name, column in r.conversations.extra.items():
        out[f"extra.{name}"] = np.asarray(column).copy()
    return out


def _assert_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _, _ = _load(path, monkeypatch, False)
    grouped, grouped_rows, numbered = _load(path, monkeypatch, True)
    if not isinstance(plain, dict):
        assert grouped == plain
        return
    assert isinstance(grouped, dict)
    # every chunk without fragments or tunnels was numbered from its grouping
    assert sum(numbered) == sum(grouped_rows)
    taken = running.ip_kind_table()[plain["packets.kind"]] | (
        plain["packets.reason"] == Reason.TCP_HEADER)
    assert sum(numbered) <= int(taken.sum())
    assert plain.keys() == grouped.keys()
    for name, column in plain.items():
        np.testing.assert_array_equal(grouped[name], column, err_msg=f"{path.name} {name}")


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_capture_grouped_beforehand_loads_the_same(path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_same(path, monkeypatch)


def test_uncounted_tcp_headers_grouped_beforehand_load_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_uncounted_capture(tmp_path / "uncounted.pcap")
    _assert_same(path, monkeypatch)
    _, _, numbered = _load(path, monkeypatch, True)
    assert sum(numbered) == 600  # every packet


def test_a_capture_of_many_chunks_grouped_beforehand_loads_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tuples met again chunk after chunk, either way round, keep their numbers."""
    path = bigger_capture(tmp_path / "big.pcap", copies=2)
    _assert_same(path, monkeypatch)
    _, _, numbered = _load(path, monkeypatch, True)
    assert len(numbered) >= 3
