"""The running table, fed chunk by chunk, equals the one-shot grouping of the whole capture.

The one-shot :func:`engine.tunnels.build_levels` / :func:`engine.conversations.
build_conversations` (one sort of all packets) is the reference; the running table sees the same
decoded packets in slices of every size down to one packet, so every chunk boundary the rules can
straddle is crossed: a SYN and the stream it ends, an idle gap, an ICMP error and the tuple it
quotes, IP fragments of one datagram, a tunnelled frame and the packet inside it, TCP headers
that use up a stream number without counting.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import WIRESHARK, FlowConfig, extract_flows_from_file
from engine.aggregate import Levels
from engine.capture import open_capture
from engine.capture.in_memory import MemoryChunker
from engine.conversations import build_conversations, packet_lists
from engine.decode.fast import SideInfo, decode_chunk
from engine.decode.fragments import Fragments, resolve_fragments
from engine.packets import InnerPackets, PacketTable
from engine.table import COLUMN_NAMES
from engine.tunnels import build_levels
from tests.conftest import readable_captures

from .built import BUILT
from .packets import A, B, at, ping, tcp, udp

CONFIGS = {
    "wireshark": WIRESHARK,
    "default": FlowConfig(),
    "short-idle": FlowConfig(udp_timeout=0.5, icmp_timeout=0.5),
}


def _decoded(path: Path) -> tuple[PacketTable, SideInfo]:
    """Every packet decoded (IP fragments unresolved), before any grouping."""
    reader = open_capture(path, WIRESHARK)
    with reader:
        return _decode_chunks(reader.chunks(prefetch=False), reader.interfaces)


def _decode_chunks(chunks: Any, interfaces: list) -> tuple[PacketTable, SideInfo]:
    parts = []
    found = SideInfo()
    index = 0
    for chunk in chunks:
        lts = np.array([i.linktype for i in interfaces], dtype=np.uint16)
        part, side = decode_chunk(chunk, lts, index)
        parts.append(part)
        found.extend(side)
        index += len(chunk)
    if not parts:
        return PacketTable.empty(0), found
    p = PacketTable(**{f.name: np.concatenate([getattr(q, f.name) for q in parts])
                       for f in dataclasses.fields(PacketTable)})
    return p, found


def _copy(p: PacketTable) -> PacketTable:
    return PacketTable(**{f.name: getattr(p, f.name).copy() for f in dataclasses.fields(p)})


def _inner_slice(inner: InnerPackets, a: int, b: int) -> InnerPackets:
    rows = np.flatnonzero((inner.frame >= a) & (inner.frame < b))
    return InnerPackets(inner.frame[rows], inner.tunnel[rows], PacketTable(
        **{f.name: getattr(inner.packets, f.name)[rows].copy()
           for f in dataclasses.fields(PacketTable)}))


def _running(p: PacketTable, side: SideInfo, config: FlowConfig, step: int) -> tuple:
    levels = Levels(config.udp_timeout_ns, config.icmp_timeout_ns)
    fragments = Fragments()
    rank = np.zeros(len(p), dtype=np.uint32)
    inner = InnerPackets.concat(side.inner)
    for a in range(0, len(p), step):
        b = min(a + step, len(p))
        part = p.rows(a, b)
        fragments.add([f for f in side.fragments if a <= f[0] < b], part, a)
        levels.add(part, a, [q for q in side.quoted if a <= q[0] < b], rank[a:b],
                   [_inner_slice(inner, a, b)],
                   [q for q in side.inner_quoted if a <= q[0] < b])
    grouped = levels.finish()
    mine = p.conv >= 0
    p.conv[mine] = grouped.new_id[p.conv[mine]]
    return grouped, rank


def _captures() -> list[Path]:
    return readable_captures() + sorted(BUILT.glob("*.pcap"))


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_chunk_by_chunk_equals_one_shot(path: Path, config_name: str) -> None:
    _check(*_decoded(path), CONFIGS[config_name])


@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_python_tuple_index_equals_one_shot(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same with the tuple index's Python version (used when the compiled one is not
    built): the two number tuples and groups alike, so the tables come out identical."""
    monkeypatch.setenv("FLOWSCOPE_PURE_PYTHON", "1")
    _check(*_decoded(path), CONFIGS["wireshark"])


def _scenario_packets() -> list:
    """Every TCP stream-numbering scenario, each on its own port pair, interleaved packet by
    packet, plus a UDP pair that idles and a ping pair."""
    from .test_streams import TSHARK_AGREES

    lanes = []
    for k, (events, _) in enumerate(TSHARK_AGREES.values()):
        port = 2000 + k
        lanes.append([tcp(A, port, B, 80, f, seq, ack, load) if side == "a"
                      else tcp(B, 80, A, port, f, seq, ack, load)
                      for side, f, seq, ack, load in events])
    lanes.append([udp(A, 53, B, 5353, b"q"), udp(B, 5353, A, 53, b"r")] * 3)
    lanes.append([ping(A, B, 7, s, reply=bool(s % 2)) for s in range(6)])
    out = []
    t = 1.0
    for i in range(max(len(lane) for lane in lanes)):
        for lane in lanes:
            if i < len(lane):
                t += 0.4
                out.append(at(lane[i], t))
    return out


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_stream_rules_across_every_chunk_boundary(config_name: str) -> None:
    """The SYN rule's state (each side's base sequence number) and the idle gap carried across
    chunk boundaries at every packet."""
    chunker = MemoryChunker(_scenario_packets(), 1 << 20)
    _check(*_decode_chunks(chunker.chunks(), chunker.interfaces), CONFIGS[config_name],
           steps=[1, 2, 3, 5, 1000])


def _check(decoded: PacketTable, side: SideInfo, config: FlowConfig,
           steps: list[int] | None = None) -> None:
    reference = _copy(decoded)
    resolve_fragments(side.fragments, reference)
    inner = InnerPackets.concat(side.inner)
    if len(inner):
        expected, expected_links = build_levels(reference, inner, side.quoted,
                                                side.inner_quoted, config)
    else:
        expected, expected_links = build_conversations(reference, side.quoted, config)
    expected_index, expected_start = packet_lists(reference, len(expected), inner)
    if steps is None:
        steps = sorted({1, 2, 7, 64, max(len(decoded), 1)}) if len(decoded) < 2000 else [97, 1000]
    for step in steps:
        p = _copy(decoded)
        grouped, rank = _running(p, side, config, step)
        table, links = grouped.table, grouped.links
        for name in COLUMN_NAMES:
            np.testing.assert_array_equal(getattr(table, name), getattr(expected, name),
                                          err_msg=f"{name}, step {step}")
        np.testing.assert_array_equal(p.conv, reference.conv, err_msg=f"conv, step {step}")
        np.testing.assert_array_equal(p.direction, reference.direction)
        np.testing.assert_array_equal(grouped.inner.packets.conv, inner.packets.conv)
        np.testing.assert_array_equal(grouped.inner.packets.direction, inner.packets.direction)
        np.testing.assert_array_equal(links.packets, expected_links.packets)
        np.testing.assert_array_equal(links.conversations, expected_links.conversations)
        # a packet's rank in its conversation puts it where the sorted packet lists have it
        rows = np.flatnonzero(p.conv >= 0)
        np.testing.assert_array_equal(expected_index[expected_start[p.conv[rows]] + rank[rows]],
                                      rows)
        rows = np.flatnonzero(inner.packets.conv >= 0)
        conv = inner.packets.conv[rows]
        np.testing.assert_array_equal(
            expected_index[expected_start[conv] + grouped.inner_rank[rows]], inner.frame[rows])


@pytest.mark.parametrize("path", readable_captures()[:12], ids=lambda p: p.name)
def test_spilled_and_in_memory_loads_are_identical(path: Path, tmp_path: Path) -> None:
    """The packet store's budget changes where the columns live, never what they hold."""
    spilled = WIRESHARK.replace(packet_budget=0, spill_dir=tmp_path, chunk_bytes=1 << 16)
    with extract_flows_from_file(path, WIRESHARK) as ram, \
            extract_flows_from_file(path, spilled) as disk:
        assert disk.packet_store is not None and disk.packet_store.spilled
        for f in dataclasses.fields(PacketTable):
            np.testing.assert_array_equal(getattr(disk.packets, f.name),
                                          getattr(ram.packets, f.name), err_msg=f.name)
        for name in COLUMN_NAMES:
            np.testing.assert_array_equal(getattr(disk.conversations, name),
                                          getattr(ram.conversations, name), err_msg=name)
        for name, col in ram.conversations.extra.items():
            np.testing.assert_array_equal(disk.conversations.extra[name], col, err_msg=name)
        np.testing.assert_array_equal(disk.conversations.packet_index,
                                      ram.conversations.packet_index)
    assert list(tmp_path.iterdir()) == []  # closing removed the spill folder


@pytest.mark.parametrize("path", sorted(BUILT.glob("*.pcap")), ids=lambda p: p.name)
def test_small_chunks_load_like_one_chunk(path: Path) -> None:
    """The whole load (tunnels, reassembled fragments, uncounted TCP headers, analyses) in
    chunks of a few packets equals the load in one chunk."""
    with extract_flows_from_file(path, WIRESHARK) as one, \
            extract_flows_from_file(path, WIRESHARK.replace(chunk_bytes=300)) as many:
        for name in COLUMN_NAMES:
            np.testing.assert_array_equal(getattr(many.conversations, name),
                                          getattr(one.conversations, name), err_msg=name)
        assert many.conversations.extra.keys() == one.conversations.extra.keys()
        for name, col in one.conversations.extra.items():
            np.testing.assert_array_equal(many.conversations.extra[name], col, err_msg=name)
        np.testing.assert_array_equal(many.conversations.packet_index,
                                      one.conversations.packet_index)
        np.testing.assert_array_equal(many.inner.frame, one.inner.frame)
        np.testing.assert_array_equal(many.inner.packets.conv, one.inner.packets.conv)
        for f in dataclasses.fields(one.reassembled):
            np.testing.assert_array_equal(getattr(many.reassembled, f.name),
                                          getattr(one.reassembled, f.name), err_msg=f.name)
