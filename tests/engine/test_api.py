"""The Python API: the seed's entry points agree with each other; keys, timeouts, A/B."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from engine import (
    WIRESHARK,
    FlowConfig,
    Kind,
    PacketError,
    RawPacket,
    extract_flows,
    extract_flows_from_file,
    extract_flows_streaming,
    extract_flows_with_config,
)
from engine.export.conversations import conversation_records

from .packets import A, B, at, mixed, ping, tcp, udp


def _records(result: object) -> list[dict]:
    return conversation_records(result)  # type: ignore[arg-type]


def test_entry_points_agree(tmp_path: Path) -> None:
    pkts = mixed()
    path = tmp_path / "mixed.pcap"
    wrpcap(str(path), pkts)
    with extract_flows(pkts) as r1, extract_flows_from_file(path) as r2, \
            extract_flows_streaming(iter(pkts)) as r3, \
            extract_flows_with_config(pkts, FlowConfig()) as r4:
        assert _records(r1) == _records(r2) == _records(r3) == _records(r4)
        assert len(r1) == 3  # tcp, udp, icmp echo; the ARP frame is unassigned
        assert r1.unassigned.total == 1 and r1.unassigned.by_ethertype == {"ARP": 1}


def test_raw_records_and_timestamps() -> None:
    frame = bytes(Ether() / IP(src=A, dst=B) / UDP(sport=1, dport=2) / b"abc")
    raw_ip = bytes(IP(src=A, dst=B) / UDP(sport=1, dport=2) / b"abc")
    with extract_flows([(frame, 1_000_000_000_000), (frame, 1000.5),
                        RawPacket(raw_ip, 1_001_000_000_000, linktype=228)]) as result:
        (conv,) = result
        assert conv.packets == 3
        assert (conv.start_ns, conv.end_ns) == (1_000_000_000_000, 1_001_000_000_000)
        assert result.packets.ts_ns[1] == 1_000_500_000_000


def test_a_packet_without_link_layer_is_refused() -> None:
    with pytest.raises(PacketError, match="link type"):
        extract_flows([Raw(b"hello")])


def test_sorted_by_start_time_and_ids_are_positions() -> None:
    with extract_flows(mixed()) as result:
        starts = result.conversations.start_ns
        assert np.all(starts[:-1] <= starts[1:])
        assert [c.id for c in result] == list(range(len(result)))
        assert result[0].protocol == "udp"


def test_a_is_the_sender_of_the_first_packet_even_a_syn_ack() -> None:
    pkts = [tcp(B, 80, A, 40000, "SA", 7, 2, t=1.0), tcp(A, 40000, B, 80, "A", 2, 8, t=1.1),
            tcp(A, 40000, B, 80, "PA", 2, 8, b"xy", t=1.2)]
    with extract_flows(pkts) as result:
        (conv,) = result
        assert conv.a == (B, 80) and conv.b == (A, 40000)
        assert (conv.packets_ab, conv.packets_ba) == (1, 2)
        assert (conv.payload_ab, conv.payload_ba) == (0, 2)
        assert list(result.packets.direction) == [0, 1, 1]


def test_bytes_are_frame_bytes_and_payload_ignores_padding() -> None:
    short = tcp(A, 1, B, 2, "PA", 1, 1, b"hi", t=1.0)  # 56 bytes: padded to 60 on the wire
    frame = bytes(short) + b"\0" * 4
    with extract_flows([(frame, 1.0)]) as result:
        (conv,) = result
        assert conv.bytes == 60 and conv.payload_ab == 2
        assert result.payload_bytes(0) == b"hi"


def test_udp_idle_timeout_splits_unless_switched_off() -> None:
    pkts = [udp(A, 1, B, 2, t=0.0), udp(B, 2, A, 1, t=10.0), udp(A, 1, B, 2, t=200.0)]
    with extract_flows(pkts) as result:
        assert [c.packets for c in result] == [2, 1]
        assert [c.stream for c in result] == [0, 0]  # one Wireshark udp.stream, two pieces
    with extract_flows(pkts, FlowConfig(udp_timeout=None)) as result:
        assert [c.packets for c in result] == [3]


def test_icmp_echo_keyed_by_identifier_and_other_icmp_by_type_code() -> None:
    pkts = [ping(A, B, 1, 1, t=1), ping(B, A, 1, 1, reply=True, t=1.1), ping(A, B, 2, 1, t=2),
            at(Ether() / IP(src=B, dst=A) / ICMP(type=5, code=1), 3),
            at(Ether() / IP(src=B, dst=A) / ICMP(type=5, code=1), 4),
            at(Ether() / IP(src=B, dst=A) / ICMP(type=13), 5)]
    with extract_flows(pkts, WIRESHARK) as result:
        recs = _records(result)
        assert [(r["packets_a_to_b"], r["packets_b_to_a"]) for r in recs] == [
            (1, 1), (1, 0), (2, 0), (1, 0)]
        assert [r["icmp"] for r in recs] == [
            {"type": 8, "code": 0, "id": 1}, {"type": 8, "code": 0, "id": 2},
            {"type": 5, "code": 1, "id": None}, {"type": 13, "code": 0, "id": None}]
        assert {r["a"]["port"] for r in recs} == {None}


def test_icmp_error_quotes_a_conversation_and_uses_up_a_stream_number() -> None:
    """tshark 4.0.17 on these packets: udp.stream 0, 1, 0 and tcp.stream 0, 0; the quoted
    headers are in no conversation."""
    err_udp = at(Ether() / IP(src="9.9.9.9", dst=A) / ICMP(type=3, code=3) /
                 IP(src=A, dst=B) / UDP(sport=5000, dport=53), 1)
    other = udp("10.0.0.5", 1, "10.0.0.6", 2, t=2)
    answer = udp(B, 53, A, 5000, t=3)
    err_tcp = at(Ether() / IP(src="9.9.9.9", dst=A) / ICMP(type=3, code=3) /
                 IP(src="10.0.0.7", dst="10.0.0.8") / TCP(sport=5, dport=6), 4)
    syn = tcp("10.0.0.7", 5, "10.0.0.8", 6, "S", t=5)
    with extract_flows([err_udp, other, answer, err_tcp, syn], WIRESHARK) as result:
        by_proto = {}
        for conv in result:
            by_proto.setdefault(conv.protocol, []).append(conv)
        assert sorted((c.a, c.stream, c.packets) for c in by_proto["udp"]) == [
            (("10.0.0.2", 53), 0, 1), (("10.0.0.5", 1), 1, 1)]
        (tcp_conv,) = by_proto["tcp"]
        assert tcp_conv.stream == 0 and tcp_conv.packets == 1
        icmp = by_proto["icmp"]
        assert len(icmp) == 1 and icmp[0].packets == 2
        answer_conv = next(c for c in by_proto["udp"] if c.a[1] == 53)
        assert icmp[0].quotes == answer_conv.id
        assert result.quoted.conversations.tolist() == [answer_conv.id, tcp_conv.id]


def test_other_ip_protocols_are_conversations_too() -> None:
    gre_no_ip = at(Ether() / IP(src=A, dst=B) / GRE(proto=0x88BE) / b"mirror", 1)
    esp = at(Ether() / IP(src=A, dst=B, proto=50) / (b"\0" * 20), 2)
    with extract_flows([gre_no_ip, esp, esp]) as result:
        assert sorted((c.protocol, c.packets) for c in result) == [("esp", 2), ("gre", 1)]


def test_tunnelled_tcp_is_the_inner_conversation() -> None:
    inner = IP(src="192.168.1.1", dst="192.168.1.2") / TCP(sport=10, dport=20, flags="S")
    with extract_flows([at(Ether() / IP(src=A, dst=B) / GRE() / inner, 1),
                        at(Ether() / IP(src=A, dst=B) / inner, 2)]) as result:
        (conv,) = result
        assert conv.protocol == "tcp" and conv.a == ("192.168.1.1", 10) and conv.packets == 2


def test_packet_indices_can_be_switched_off() -> None:
    with extract_flows(mixed(), FlowConfig(store_packet_indices=False)) as result:
        assert result.conversations.packet_index is None
        with pytest.raises(ValueError, match="not stored"):
            _ = result[0].packet_indices
    with extract_flows(mixed()) as result:
        tcp_conv = next(c for c in result if c.protocol == "tcp")
        assert tcp_conv.packet_indices.tolist() == [0, 1, 2, 7]
        assert (result.packets.conv[tcp_conv.packet_indices] == tcp_conv.id).all()


def test_kinds_are_recorded_per_packet() -> None:
    with extract_flows(mixed()) as result:
        assert result.packets.kind.tolist() == [Kind.TCP, Kind.TCP, Kind.TCP, Kind.UDP,
                                                Kind.ICMP, Kind.ICMP, Kind.UNASSIGNED, Kind.TCP]


def test_radix_argsort_is_a_stable_sort() -> None:
    from engine.key import radix_argsort

    rng = np.random.default_rng(5)
    keys = rng.integers(0, 1 << 63, 50_000, dtype=np.uint64) * np.uint64(2)
    keys[::7] = keys[3]  # many equal keys: their order must be kept
    assert np.array_equal(radix_argsort(keys), np.argsort(keys, kind="stable"))
