"""A pcapng mixing an Ethernet interface and a Z-Wave interface: the IP conversations are what
they are alone, the Z-Wave ones what the Z-Wave frames give alone, and Σ holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.cli import main as cli_main
from engine.zwave.synth import generate, write_capture
from tests.conftest import CAPTURES
from tests.engine.capwriter import Iface, Section, pcapng_bytes

ETHERNET_CAPTURE = CAPTURES / "zeek-wikipedia-many-conns.pcap"


def _ip_view(result: object) -> list[tuple]:
    rows = []
    for c in result:  # type: ignore[attr-defined]
        if c.protocol == "zwave":
            continue
        times = result.packets.ts_ns[c.packet_indices].tolist()  # type: ignore[attr-defined]
        rows.append((c.protocol, c.stream, c.a, c.b, c.packets_ab, c.packets_ba, c.bytes_ab,
                     c.bytes_ba, c.payload_ab, c.payload_ba, c.start_ns, c.end_ns, times))
    return sorted(rows, key=repr)


def _zwave_view(result: object) -> list[tuple]:
    rows = []
    for c in result:  # type: ignore[attr-defined]
        if c.protocol == "zwave":
            rows.append((c.home_id, c.cast, c.node_a, c.node_b, c.a, c.b, c.packets_ab,
                         c.packets_ba, c.bytes_ab, c.bytes_ba, c.ack_count, c.command_count,
                         c.bad_checksum, c.command_classes, c.start_ns, c.end_ns))
    return sorted(rows, key=repr)


@pytest.mark.parametrize("linktype", [261, 262, 297])
def test_mixed_pcapng_keeps_each_side_unchanged(tmp_path: Path, linktype: int) -> None:
    with extract_flows_from_file(ETHERNET_CAPTURE, WIRESHARK) as alone:
        eth = [(int(alone.packets.ts_ns[i]), alone.packet_bytes(i)) for i in range(len(
            alone.packets))]
        ip_alone = _ip_view(alone)
        first, last = eth[0][0], eth[-1][0]
    frames = list(generate(linktype, 400, seed=2, bad_checksums=3, damaged=2, start_ns=first))
    zpath = tmp_path / "zwave.pcap"
    write_capture(zpath, linktype, iter(frames))
    with extract_flows_from_file(zpath, WIRESHARK) as z_alone:
        zwave_alone = _zwave_view(z_alone)
    assert frames[0].ts_ns < last < frames[-1].ts_ns  # the two interfaces really interleave

    records = sorted([(ts, 0, data) for ts, data in eth]
                     + [(f.ts_ns, 1, f.packet(linktype)) for f in frames])
    section = Section(interfaces=[Iface(linktype=1, tsresol=9), Iface(linktype=linktype,
                                                                       tsresol=9)],
                      blocks=[("epb", iface, ts, data) for ts, iface, data in records])
    mixed_path = tmp_path / "mixed.pcapng"
    mixed_path.write_bytes(pcapng_bytes([section]))
    with extract_flows_from_file(mixed_path, WIRESHARK) as mixed:
        assert _ip_view(mixed) == ip_alone
        assert _zwave_view(mixed) == zwave_alone
        total = len(eth) + len(frames)
        assert mixed.capture.packets == total
        assert sum(c.packets for c in mixed) + mixed.unassigned.total == total
        assert mixed.unassigned.by_reason.get("damaged Z-Wave frame") == 2
        starts = mixed.conversations.start_ns
        assert np.all(starts[1:] >= starts[:-1])  # one table, sorted by start time
        indices = np.concatenate([c.packet_indices for c in mixed])
        assert np.unique(indices).size == indices.size == total - mixed.unassigned.total


def test_cli_lists_both_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mixed.pcapng"
    frames = generate(297, 200, seed=9, bad_checksums=1)
    from engine.zwave.synth import ethernet_frames

    write_capture(path, 297, frames, ethernet=ethernet_frames(20, 9, 1_700_000_000_000_000_000,
                                                               10**10))
    assert cli_main(["conversations", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    protocols = {c["protocol"] for c in doc["conversations"]}
    assert protocols == {"tcp", "udp", "zwave"}
    for c in doc["conversations"]:
        zw = {"home_id", "node_a", "node_b", "ack_count", "command_count", "command_classes",
              "bad_checksum", "rssi", "data_rate", "region"}
        if c["protocol"] == "zwave":
            assert zw <= set(c)
            assert len(c["home_id"]) == 8 and int(c["home_id"], 16) >= 0
            assert c["rssi"] is not None and c["rssi"]["min"] <= c["rssi"]["mean"] \
                <= c["rssi"]["max"]
            assert c["a"]["port"] is None and c["stream"] is None
        else:
            assert not zw & set(c)
    assert sum(c["bad_checksum"] for c in doc["conversations"] if "bad_checksum" in c) == 1
    assert cli_main(["conversations", str(path)]) == 0
    table = capsys.readouterr().out
    assert "ZWAVE conversations:" in table and "TCP conversations: 1" in table
    assert "/broadcast" in table and "/multicast" in table
    assert cli_main(["conversations", str(path), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert {"home_id", "node_a", "ack_count", "rssi_mean", "data_rate"} <= set(header)
