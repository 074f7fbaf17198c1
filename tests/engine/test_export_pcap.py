"""Exporting a conversation's packets: original bytes, timestamps and link types, atomically."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from engine import WIRESHARK, LoadCancelled, RawPacket, extract_flows, extract_flows_from_file
from engine.cli import main
from engine.export.packets import export_conversation, write_packets
from engine.follow import find_tcp_stream
from tests.conftest import CAPTURES


def same_packets(original, rows: np.ndarray, exported) -> None:
    p, q = original.packets, exported.packets
    assert len(q) == rows.size
    for k, i in enumerate(rows.tolist()):
        assert exported.packet_bytes(k) == original.packet_bytes(i)
    assert q.ts_ns.tolist() == p.ts_ns[rows].tolist()
    assert q.origlen.tolist() == p.origlen[rows].tolist()
    assert q.caplen.tolist() == p.caplen[rows].tolist()
    assert q.linktype.tolist() == p.linktype[rows].tolist()


@pytest.mark.parametrize("name,fmt", [
    ("zeek-http-get.pcap", "pcap"),
    ("tcpdump-tcp-handshake-nano-sll.pcap", "pcap-ns"),  # ns timestamps kept exactly, SLL
    ("zeek-http-get-to-ssh-server-nsec.pcap", "pcap"),  # ns file, but µs are exact
    ("zeek-tls-openjdk-sll2-tcp.pcap", "pcap"),  # Linux SLL2
    ("zeek-redis-set-null-linktype.pcap", "pcap"),  # BSD NULL
    ("zeek-tcp-payload-syn-rawip.pcap", "pcap"),  # raw IP
    ("tcpdump-tcp-rst-data-snaplen-trunc.pcap", "pcap"),  # cut by the snap length
])
def test_stream_round_trips(name: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / "one.pcap"
    with extract_flows_from_file(CAPTURES / name, WIRESHARK) as result:
        row = find_tcp_stream(result, 0)
        assert export_conversation(result, row, out) == fmt
        with extract_flows_from_file(out, WIRESHARK) as again:
            same_packets(result, result.conversations.packets_of(row), again)
            assert len(again) == 1 and again[0].packets == result[row].packets
            assert again.capture.link_types == result.capture.link_types or len(
                result.capture.link_types) > 1
    assert len(rdpcap(str(out))) == result[row].packets  # another reader agrees


def test_several_link_types_give_pcapng(tmp_path: Path) -> None:
    def tcp(seq: int) -> TCP:
        return TCP(sport=1234, dport=80, flags="A", seq=seq, ack=1)

    eth = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / tcp(1)
    raw = IP(src="10.0.0.1", dst="10.0.0.2") / tcp(2)
    packets = [RawPacket(bytes(eth), 1_000_000_001, 1), RawPacket(bytes(raw), 1_000_000_002, 101),
               RawPacket(bytes(eth), 1_000_000_003, 1)]
    result = extract_flows(packets, WIRESHARK)
    assert len(result) == 1
    out = tmp_path / "mixed.pcap"
    assert export_conversation(result, 0, out) == "pcapng"
    with extract_flows_from_file(out, WIRESHARK) as again:
        assert again.capture.format == "pcapng" and sorted(again.capture.link_types) == [1, 101]
        same_packets(result, np.arange(3), again)


def test_pcapng_by_name(tmp_path: Path) -> None:
    out = tmp_path / "x.pcapng"
    with extract_flows_from_file(CAPTURES / "zeek-http-get.pcap", WIRESHARK) as result:
        assert export_conversation(result, 0, out) == "pcapng"
        with extract_flows_from_file(out, WIRESHARK) as again:
            same_packets(result, result.conversations.packets_of(0), again)


def test_progress_cancel_and_atomicity(tmp_path: Path) -> None:
    out = tmp_path / "x.pcap"
    out.write_bytes(b"keep me")
    with extract_flows_from_file(CAPTURES / "zeek-tcp-ssh-dups.pcap", WIRESHARK) as result:
        with pytest.raises(LoadCancelled):
            export_conversation(result, 0, out, cancel=lambda: True)
        assert out.read_bytes() == b"keep me"
        assert [p.name for p in tmp_path.iterdir()] == ["x.pcap"]
        seen: list[tuple[int, int]] = []
        export_conversation(result, 0, out, progress=lambda a, b: seen.append((a, b)))
        assert seen[-1] == (377, 377)
    magic = struct.unpack("<I", out.read_bytes()[:4])[0]
    assert magic == 0xA1B2C3D4


def test_any_packets_in_any_order(tmp_path: Path) -> None:
    out = tmp_path / "some.pcap"
    with extract_flows_from_file(CAPTURES / "zeek-wikipedia-many-conns.pcap",
                                 WIRESHARK) as result:
        rows = np.array([40, 3, 17, 3])
        write_packets(result, rows, out)
        with extract_flows_from_file(out, WIRESHARK) as again:
            same_packets(result, rows, again)


def test_cli_export_pcap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.pcap"
    path = CAPTURES / "zeek-ftp-ipv6.pcap"
    assert main(["export-pcap", str(path), "--stream", "3", "-o", str(out)]) == 0
    with extract_flows_from_file(path, WIRESHARK) as result, \
            extract_flows_from_file(out, WIRESHARK) as again:
        row = find_tcp_stream(result, 3)
        same_packets(result, result.conversations.packets_of(row), again)
    assert main(["export-pcap", str(path), "--stream", "99", "-o", str(out)]) == 2
    assert "no TCP stream 99" in capsys.readouterr().err
    assert main(["export-pcap", str(path), "--stream", "0", "-o",
                 str(tmp_path / "missing" / "x.pcap")]) == 2
    assert "Cannot write" in capsys.readouterr().err
