"""Every TCP and UDP conversation of every real capture equals what tshark 4.0.17 reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import WIRESHARK, Kind, extract_flows_from_file
from tests.conftest import CAPTURES, oracle


def _ours(path: Path) -> dict[tuple[str, int], dict]:
    with extract_flows_from_file(path, WIRESHARK) as result:
        out = {}
        for conv in result:
            if conv.protocol in ("tcp", "udp"):
                key = (conv.protocol, conv.stream)
                assert key not in out, f"two conversations with {key}"
                out[key] = {
                    "a": {"address": conv.a[0], "port": conv.a[1]},
                    "b": {"address": conv.b[0], "port": conv.b[1]},
                    "packets_a_to_b": conv.packets_ab, "bytes_a_to_b": conv.bytes_ab,
                    "packets_b_to_a": conv.packets_ba, "bytes_b_to_a": conv.bytes_ba,
                    "start_ns": conv.start_ns, "end_ns": conv.end_ns,
                    "frames": (result.packets.offset[conv.packet_indices] * 0
                               + conv.packet_indices + 1).tolist(),
                    "payload_a_to_b_len": conv.payload_ab,
                    "payload_b_to_a_len": conv.payload_ba,
                }
        return out


FIELDS = ("a", "b", "packets_a_to_b", "bytes_a_to_b", "packets_b_to_a", "bytes_b_to_a",
          "start_ns", "end_ns")


def test_conversations_equal_tshark(capture_path: Path) -> None:
    expected = oracle(capture_path)
    ours = _ours(capture_path)
    theirs = {(proto, conv["stream"]): conv for proto in ("tcp", "udp")
              for conv in expected[proto]}
    assert set(ours) == set(theirs)
    for key, conv in theirs.items():
        mine = ours[key]
        for name in FIELDS:
            assert mine[name] == conv[name], (key, name)
        assert mine["frames"] == conv["frame_numbers"], key
        if key[0] == "udp":
            assert mine["payload_a_to_b_len"] == conv["payload_a_to_b_len"], key
            assert mine["payload_b_to_a_len"] == conv["payload_b_to_a_len"], key


def test_packet_count_and_invariant(capture_path: Path) -> None:
    """Σ packets over conversations + unassigned = packets read = what tshark read."""
    with extract_flows_from_file(capture_path, WIRESHARK) as result:
        assert result.capture.packets == oracle(capture_path)["packets"]
        assert sum(c.packets for c in result) + result.unassigned.total == result.capture.packets
        assert (result.packets.conv >= 0).sum() == sum(c.packets for c in result)


def test_icmp_quoted_headers_are_not_conversation_packets() -> None:
    """The UDP header inside an ICMP error is not a UDP packet (Wireshark's conv tap agrees);
    the ICMP error is its own conversation."""
    for name in ("zeek-icmp-destunreach-udp.pcap", "zeek-icmp-timeexceeded.pcap",
                 "zeek-icmp6-destunreach-ip6ext-udp.pcap"):
        path = CAPTURES / name
        assert oracle(path)["icmp_inner"], name
        with extract_flows_from_file(path, WIRESHARK) as result:
            kinds = {c.protocol for c in result}
            assert "udp" not in kinds and "tcp" not in kinds
            assert kinds <= {"icmp", "icmpv6"} and kinds


@pytest.mark.parametrize("name,frames", [("zeek-ipv4-fragmented-1.pcap", 3),
                                         ("zeek-ipv6-fragmented-dns.pcap", 8)])
def test_fragments_count_only_the_completing_frame(name: str, frames: int) -> None:
    path = CAPTURES / name
    expected = oracle(path)
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert result.capture.packets == frames
        counted = sum(c.packets for c in result if c.protocol == "udp")
        assert counted == sum(c["packets_a_to_b"] + c["packets_b_to_a"] for c in expected["udp"])
        assert result.unassigned.by_reason


def test_stream_numbers_are_dense_per_protocol() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-nmap-vsn-many-conns.pcap", WIRESHARK) as r:
        tcp = sorted(r.conversations.stream[r.conversations.kind == Kind.TCP].tolist())
        assert tcp == list(range(len(tcp))) and len(tcp) == 17
