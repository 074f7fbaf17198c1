"""Per-packet notes, marks and relative numbers of one conversation (engine.packet_notes)."""

from __future__ import annotations

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from engine import WIRESHARK, extract_flows, extract_flows_from_file
from engine.packet_notes import (
    Mark,
    build_conversation_packets,
    conversation_packets,
    flag_text,
    note_text,
)
from engine.packets import Kind
from engine.tcp import expert_flags as F
from tests.conftest import CAPTURES

ORACLE = CAPTURES.parent / "tcp_expert"

CLIENT = dict(src="10.0.0.1", dst="10.0.0.2")
SERVER = dict(src="10.0.0.2", dst="10.0.0.1")


def _tcp(side: dict[str, str], flags: str, seq: int, ack: int = 0, data: bytes = b"",
         t: float = 0.0) -> Ether:
    ports = (1234, 80) if side is CLIENT else (80, 1234)
    p = Ether() / IP(**side) / TCP(sport=ports[0], dport=ports[1], flags=flags, seq=seq, ack=ack)
    p = p / data if data else p
    p.time = t
    return p


def scenario() -> list[Ether]:
    """Handshake, in-order data, a segment after a hole, the hole filled late (out of order),
    a retransmission, a pure ACK, a FIN and a RST."""
    return [
        _tcp(CLIENT, "S", 100, t=1.0),
        _tcp(SERVER, "SA", 500, 101, t=1.1),
        _tcp(CLIENT, "A", 101, 501, t=1.2),
        _tcp(CLIENT, "PA", 101, 501, b"a" * 10, t=1.3),
        _tcp(CLIENT, "PA", 121, 501, b"c" * 10, t=1.4),  # 111..121 not seen yet: a gap
        _tcp(CLIENT, "PA", 111, 501, b"b" * 10, t=1.5),  # fills it: out of order
        _tcp(CLIENT, "PA", 101, 501, b"a" * 10, t=1.6),  # all seen before: retransmission
        _tcp(SERVER, "A", 501, 131, t=1.7),
        _tcp(CLIENT, "FA", 131, 501, t=1.8),
        _tcp(SERVER, "R", 501, 0, t=1.9),
    ]


def test_scenario_notes_marks_and_relative_numbers() -> None:
    result = extract_flows(scenario())
    assert len(result.conversations) == 1
    p = build_conversation_packets(result, 0)
    assert p.index.tolist() == list(range(10))
    assert p.client_lane == 0 and p.is_tcp
    assert [Mark(int(m)) for m in p.mark] == [
        Mark.SYN, Mark.SYN_ACK, Mark.ACK, Mark.DATA, Mark.DATA, Mark.DATA,
        Mark.RETRANSMISSION, Mark.ACK, Mark.FIN, Mark.RST]
    # as tshark 4.0.17 shows this capture: the segment after the hole, the hole filled 0.1 s
    # later (within the 0.2 s initial RTT: out of order), then the old data again
    assert [note_text(p, row) for row in range(len(p))] == [
        "", "", "", "", "[TCP Previous segment not captured]", "[TCP Out-Of-Order]",
        "[TCP Retransmission]", "", "", ""]
    assert p.rel_seq.tolist() == [0, 0, 1, 1, 21, 11, 1, 1, 31, 1]
    assert p.rel_ack[p.has_ack].tolist() == [1, 1, 1, 1, 1, 1, 31, 1]
    assert p.payload.tolist() == [0, 0, 0, 10, 10, 10, 10, 0, 0, 0]
    assert p.seg_len.tolist() == [1, 1, 0, 10, 10, 10, 10, 0, 1, 0]
    assert p.direction.tolist() == [0, 1, 0, 0, 0, 0, 0, 1, 0, 1]
    assert np.allclose((p.ts_ns - p.ts_ns[0]) / 1e9, np.arange(10) / 10)


def test_the_client_can_be_endpoint_b() -> None:
    # the capture starts with the server's SYN-ACK: A is the server, the client is B
    result = extract_flows(scenario()[1:])
    p = build_conversation_packets(result, 0)
    assert p.client_lane == 1
    assert Mark(int(p.mark[0])) == Mark.SYN_ACK


def test_udp_rows_have_no_tcp_facts() -> None:
    packets = []
    for k in range(4):
        side = CLIENT if k % 2 == 0 else SERVER
        q = Ether() / IP(**side) / UDP(sport=53 if side is SERVER else 5000,
                                      dport=5000 if side is SERVER else 53) / (b"x" * (k + 1))
        q.time = float(k)
        packets.append(q)
    result = extract_flows(packets)
    p = build_conversation_packets(result, 0)
    assert p.kind == Kind.UDP and not p.is_tcp
    assert p.payload.tolist() == [1, 2, 3, 4]
    assert not p.flags.any() and not p.notes.any()
    assert set(p.mark.tolist()) == {Mark.OTHER}


@pytest.mark.parametrize("name", ["zeek-tcp-reassembly.pcap", "zeek-tcp-ssh-dups.pcap",
                                  "zeek-tcp-retransmit-fast009.pcap", "zeek-http-get.pcap",
                                  "zeek-wikipedia-many-conns.pcap"])
def test_rows_and_counts_agree_with_the_conversation_table(name: str) -> None:
    with extract_flows_from_file(CAPTURES / name, WIRESHARK) as result:
        t = result.conversations
        for conv in range(len(t)):
            p = build_conversation_packets(result, conv)
            assert np.array_equal(p.index, t.packets_of(conv))
            assert np.array_equal(p.length, result.packets.origlen[p.index])
            if t.kind[conv] != Kind.TCP:
                continue
            retx = int(((p.notes & F.RETRANSMISSION_KINDS) != 0).sum())
            assert retx == t.extra["tcp_retrans"][conv]
            assert int(((p.notes & F.OUT_OF_ORDER) != 0).sum()) == \
                t.extra["tcp_out_of_order"][conv]
            assert int((p.mark == Mark.RETRANSMISSION).sum()) == retx


def test_notes_are_wiresharks_analysis() -> None:
    # every note of every packet equals tshark 4.0.17's Info-column notes for this capture
    import json

    frames = json.loads((ORACLE / "zeek-tcp-reassembly.pcap.json").read_text())["frames"]
    with extract_flows_from_file(CAPTURES / "zeek-tcp-reassembly.pcap", WIRESHARK) as result:
        p = build_conversation_packets(result, 0)
        lost = (p.index[(p.notes & F.LOST_SEGMENT) != 0] + 1).tolist()
        dup = [note_text(p, row) for row in range(len(p)) if p.dup_num[row]]
    assert lost == sorted(int(k) for k, f in frames.items() if "lost_segment" in f["flags"])
    assert lost == [9, 16, 28, 57, 62, 87, 106, 108]
    assert dup[:3] == ["[TCP Dup ACK 15#1]", "[TCP Dup ACK 15#2]", "[TCP Dup ACK 15#3]"]


def test_relative_numbers_match_the_raw_ones_minus_each_sides_first() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-http-get.pcap", WIRESHARK) as result:
        p = build_conversation_packets(result, 0)
        raw_seq = result.packets.seq[p.index].astype(np.int64)
        raw_ack = result.packets.ack[p.index].astype(np.int64)
    isn = {lane: int(raw_seq[p.direction == lane][0]) for lane in (0, 1)}
    for row in range(len(p)):
        lane = int(p.direction[row])
        assert p.rel_seq[row] == raw_seq[row] - isn[lane]
        if p.has_ack[row]:
            assert p.rel_ack[row] == raw_ack[row] - isn[1 - lane]
    # the server sent 5007 payload bytes after its SYN, then its FIN: the client acks 5009
    assert p.rel_ack[-1] == 5009


def test_flag_text_uses_wiresharks_order() -> None:
    assert flag_text(0x12) == "SYN, ACK"
    assert flag_text(0x19) == "FIN, PSH, ACK"
    assert flag_text(0x04) == "RST"
    assert flag_text(0) == ""


def test_cache_remembers_a_few_conversations_per_result() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-wikipedia-many-conns.pcap",
                                 WIRESHARK) as result:
        first = conversation_packets(result, 0)
        assert conversation_packets(result, 0) is first
        for conv in range(1, 8):
            conversation_packets(result, conv)
        assert conversation_packets(result, 0) is not first  # fell out of the cache
        assert np.array_equal(conversation_packets(result, 0).index, first.index)


def test_rows_without_stored_packet_lists() -> None:
    from engine import FlowConfig

    config = FlowConfig(store_packet_indices=False)
    with extract_flows_from_file(CAPTURES / "zeek-dns53.pcap", config) as result, \
            extract_flows_from_file(CAPTURES / "zeek-dns53.pcap", WIRESHARK) as stored:
        for conv in range(len(result.conversations)):
            assert np.array_equal(build_conversation_packets(result, conv).index,
                                  stored.conversations.packets_of(conv))
