"""Generated 261/262/297 captures: conversations, counts and RSS equal what the generator meant.

Expectations are computed here from the generator's frame specifications (who sent what to
whom, ACK or command, damaged or not, RSS) with plain Python — never from the decoder.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from engine import Kind, extract_flows_from_file, extract_zwave_flows
from engine.zwave import frames_of
from engine.zwave.commands import command_class_name
from engine.zwave.synth import SynthFrame, generate, main, write_capture


@dataclass
class Expected:
    a: int
    b: int
    packets: list[int] = field(default_factory=lambda: [0, 0])
    bytes: list[int] = field(default_factory=lambda: [0, 0])
    acks: int = 0
    commands: int = 0
    bad: int = 0
    rssi: list[float] = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)
    times: list[int] = field(default_factory=list)


def expected_conversations(frames: list[SynthFrame], linktype: int
                           ) -> dict[tuple, Expected]:
    out: dict[tuple, Expected] = {}
    for f in frames:
        if f.bad_length:
            continue  # impossible length: not keyed
        if f.cast == "unicast":
            key = (f.home, "unicast", min(f.src, f.dst), max(f.src, f.dst))
        elif f.cast == "broadcast":
            key = (f.home, "broadcast", f.src, 255)
        else:
            key = (f.home, "multicast", f.src, -1)
        conv = out.setdefault(key, Expected(a=f.src, b=f.dst))
        way = 0 if f.src == conv.a else 1
        conv.packets[way] += 1
        conv.bytes[way] += len(f.packet(linktype))
        conv.times.append(f.ts_ns)
        if f.is_ack:
            conv.acks += 1
        else:
            conv.commands += 1
            conv.classes[command_class_name(f.payload[0])] += 1
        conv.bad += f.bad_checksum
        if f.rssi is not None:
            conv.rssi.append(float(np.float32(f.rssi)))
    return out


@pytest.mark.parametrize("linktype", [261, 262, 297])
def test_generated_capture_conversations(tmp_path: Path, linktype: int) -> None:
    frames = list(generate(linktype, 1500, seed=linktype, homes=3, nodes=5, bad_checksums=7,
                           damaged=4))
    path = tmp_path / f"z{linktype}.pcap"
    write_capture(path, linktype, iter(frames))
    want = expected_conversations(frames, linktype)
    assert {f.cast for f in frames} == {"unicast", "broadcast", "multicast"}
    assert any(f.routed for f in frames)
    with extract_flows_from_file(path) as result:
        zrows = [c for c in result if c.protocol == "zwave"]
        assert len(zrows) == len(result) == len(want)
        got = {}
        for c in zrows:
            got[(c.home_id, c.cast, c.node_a, c.node_b)] = c
        assert set(got) == set(want)
        for key, exp in want.items():
            c = got[key]
            assert (int(c.a[0].split("/")[1]),) == (exp.a,), key
            assert [c.packets_ab, c.packets_ba] == exp.packets, key
            assert [c.bytes_ab, c.bytes_ba] == exp.bytes, key
            assert (c.ack_count, c.command_count, c.bad_checksum) == \
                (exp.acks, exp.commands, exp.bad), key
            assert (c.start_ns, c.end_ns) == (min(exp.times), max(exp.times)), key
            from engine.zwave.conversations import parse_class_counts
            assert parse_class_counts(c.command_classes) == dict(exp.classes), key
            if exp.rssi:
                assert (c.rssi_min, c.rssi_max) == (min(exp.rssi), max(exp.rssi))
                assert c.rssi_mean == pytest.approx(sum(exp.rssi) / len(exp.rssi))
            else:
                assert np.isnan(c.rssi_mean) and c.data_rate == "" and c.region == ""
        # Σ invariant: every frame is in a conversation or unassigned with a reason
        assert sum(c.packets for c in result) + result.unassigned.total == len(frames)
        assert result.unassigned.by_reason == {"damaged Z-Wave frame": 4}
        assert frames_of(result).damage_counts() == {"impossible length field": 4}
        ids = result.packets.conv
        assert (ids >= 0).sum() == len(frames) - 4
        assert (result.packets.kind[ids < 0] == Kind.UNASSIGNED).all()


def test_tap_rate_and_region_per_home(tmp_path: Path) -> None:
    frames = list(generate(297, 400, seed=3, homes=3))
    path = tmp_path / "tap.pcap"
    write_capture(path, 297, iter(frames))
    names = {1: "40 kbit/s", 2: "100 kbit/s", 0: "9.6 kbit/s"}
    regions = {0: "EU", 1: "US"}
    plan = {f.home: (names[f.data_rate or 0], regions[f.region or 0]) for f in frames}
    with extract_zwave_flows(extract_flows_from_file(path)) as z:
        assert len(z) > 0
        for c in z:
            assert (c.data_rate, c.region) == plan[c.home_id]


def test_chunked_reading_gives_the_same_answer(tmp_path: Path) -> None:
    """Frames split over many small chunks decode and group exactly as in one chunk."""
    from engine import FlowConfig

    frames = list(generate(297, 3000, seed=11, bad_checksums=5, damaged=2))
    path = tmp_path / "many.pcap"
    write_capture(path, 297, iter(frames))
    with extract_flows_from_file(path) as one, \
            extract_flows_from_file(path, FlowConfig(chunk_bytes=4096)) as many:
        assert one.conversations.take(np.arange(len(one)))["packets_ab"].tolist() == \
            many.conversations.take(np.arange(len(many)))["packets_ab"].tolist()
        for name in ("home_id", "ack_count", "command_count", "bad_checksum", "rssi_mean",
                     "command_classes"):
            a, b = one.conversations.extra[name], many.conversations.extra[name]
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
        assert np.array_equal(one.packets.conv, many.packets.conv)


def test_synth_command_line(tmp_path: Path) -> None:
    out = tmp_path / "cli.pcapng"
    assert main(["--linktype", "262", "--frames", "120", "--seed", "4", "--out", str(out)]) == 0
    frames = list(generate(262, 120, seed=4))
    with extract_zwave_flows(extract_flows_from_file(out)) as z:
        assert z.result.capture.format == "pcapng"
        assert sum(c.packets for c in z) == 120
        assert len(z) == len(expected_conversations(frames, 262))
