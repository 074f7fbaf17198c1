"""Z-Wave conversations (a link plug-in's) show in the snapshots a viewer gets while a capture
loads, beside the IP ones, and the last snapshot holds what the finished load lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine.load
from engine import WIRESHARK, extract_flows_from_file
from engine.load import Partial
from engine.packets import Kind
from engine.table import COLUMN_NAMES
from engine.zwave.protocol import ZWAVE
from engine.zwave.synth import main as zwave_synth


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Z-Wave frames on one interface, Ethernet frames on another."""
    path = tmp_path / "mixed.pcapng"
    assert zwave_synth(["--linktype", "297", "--frames", "6000", "--homes", "2", "--nodes", "4",
                        "--ethernet", "3000", "--seed", "4", "--out", str(path)]) == 0
    return path


def _by_first_packet(table: object, rows: np.ndarray) -> dict[str, np.ndarray]:
    order = rows[np.argsort(table.first_packet[rows])]  # type: ignore[attr-defined]
    # (quotes are ids: Z-Wave rows quote nothing, and ids differ between the two tables)
    return {name: getattr(table, name)[order] for name in COLUMN_NAMES if name != "quotes"}


def test_zwave_rows_grow_while_loading(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.load, "SNAPSHOT_SECONDS", 0.0)  # one after every chunk
    seen: list[Partial] = []
    config = WIRESHARK.replace(chunk_bytes=1 << 16)
    with extract_flows_from_file(mixed, config, on_snapshot=seen.append) as result:
        final = result.conversations
        total = result.capture.packets
    zwave_counts = [int(final_packets.sum()) for final_packets in
                    (p.conversations.packets[p.conversations.kind == ZWAVE.kind] for p in seen)]
    early = [p for p, n in zip(seen, zwave_counts, strict=True) if n and p.packets < total]
    assert len(early) >= 3  # Z-Wave rows long before the end ...
    assert zwave_counts == sorted(zwave_counts) and zwave_counts[0] < zwave_counts[-1]  # growing
    assert (early[0].conversations.kind == Kind.TCP).any() or \
        (early[0].conversations.kind == Kind.UDP).any()  # ... beside the IP ones
    last = seen[-1]
    assert last.packets == total
    assert not last.inner.any() and last.inner.size == len(last.conversations)
    mine = _by_first_packet(last.conversations,
                            np.flatnonzero(last.conversations.kind == ZWAVE.kind))
    done = _by_first_packet(final, np.flatnonzero(final.kind == ZWAVE.kind))
    for name, values in done.items():
        np.testing.assert_array_equal(mine[name], values, err_msg=name)
    got_rows, want_rows = (_first_packet_order(t) for t in (last.conversations, final))
    for name in ("ack_count", "command_count", "node_a", "node_b", "command_classes"):
        np.testing.assert_array_equal(last.conversations.extra[name][got_rows],
                                      final.extra[name][want_rows], err_msg=name)


def _first_packet_order(table: object) -> np.ndarray:
    rows = np.flatnonzero(table.kind == ZWAVE.kind)  # type: ignore[attr-defined]
    return rows[np.argsort(table.first_packet[rows])]  # type: ignore[attr-defined]
