"""The vectorised TCP analysis (numpy: what installs without a compiler use) equals the
packet-by-packet statement of the rules (which equals tshark: test_tcp_expert_oracle.py) on random,
deliberately awkward and real captures, and leaves only the rare conversations to the
packet-by-packet pass. Every test here turns the compiled analysis off."""

from __future__ import annotations

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from engine import WIRESHARK, extract_flows, extract_flows_from_file
from engine.tcp import expert
from engine.tcp.expert_store import TcpExpert
from tests.engine.capwriter import pcap_bytes
from tests.engine.tcp_expert_gen import ACK, FIN, SYN, random_capture, tcp_frame
from tests.engine.tcp_expert_scenarios import OUT, build, names
from tests.engine.test_tcp_expert_oracle import ORACLES, _capture

FIELDS = ("flags", "bytes_in_flight", "acked_back", "dup_index", "dup_num", "dup_of", "irtt_ns",
          "irtt_at", "base")


@pytest.fixture(autouse=True)
def _vectorised(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(expert, "COMPILED", None)


def assert_same(a: TcpExpert, b: TcpExpert) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and np.array_equal(x, y), name


def exact_conversations(result, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    calls = []
    real = expert._exact_one

    def counted(*args):  # type: ignore[no-untyped-def]
        calls.append(args[1])
        return real(*args)

    monkeypatch.setattr(expert, "_exact_one", counted)
    expert.analyse(result)
    monkeypatch.setattr(expert, "_exact_one", real)
    return len(calls)


@pytest.mark.parametrize("seed", range(12))
def test_random_captures(tmp_path, seed: int) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.pcap"
    path.write_bytes(pcap_bytes(random_capture(100 + seed, 8)))
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert_same(expert.analyse(result), expert.analyse_exact(result))
        assert_same(result.plugin_data["tcp_expert"], expert.analyse_exact(result))


def _bulk(count: int) -> list[tuple[bytes, int]]:
    """One direction of a bulk transfer with no ACK ever seen (more segments than Wireshark
    keeps listed), ending with a FIN sent twice."""
    a, b = 0x0A000001, 0x0A000002
    recs = [(tcp_frame(a, b, 1, 2, 1000, 0, SYN, 65535), 10**9)]
    seq = 1001
    for k in range(count):
        recs.append((tcp_frame(a, b, 1, 2, seq, 1, ACK, 65535, b"x"), 10**9 + (k + 1) * 10**4))
        seq += 1
    for t in (2 * 10**9, 3 * 10**9):
        recs.append((tcp_frame(a, b, 1, 2, seq, 1, FIN | ACK, 65535), t))
    return recs


def test_more_segments_than_wireshark_lists(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # past 10,000 unacknowledged segments Wireshark stops listing them, and a FIN then does not
    # count one in nextseq; the vectorised pass hands this conversation to the exact one
    path = tmp_path / "bulk.pcap"
    path.write_bytes(pcap_bytes(_bulk(10_050)))
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert exact_conversations(result, monkeypatch) == 1
        assert_same(result.plugin_data["tcp_expert"], expert.analyse_exact(result))


def wrapping_packets() -> list[Ether]:
    """Ten 1000-byte segments whose sequence numbers pass 2^32, each ACKed at once."""
    pkts = []
    for k, seq in enumerate(range(0xFFFFF000, 0xFFFFF000 + 10 * 1000, 1000)):
        p = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(
            sport=1, dport=2, flags="A", seq=seq & 0xFFFFFFFF, ack=5) / (b"x" * 1000)
        p.time = 1.0 + k * 0.01
        a = Ether() / IP(src="10.0.0.2", dst="10.0.0.1") / TCP(
            sport=2, dport=1, flags="A", seq=5, ack=(seq + 1000) & 0xFFFFFFFF)
        a.time = p.time + 0.001
        pkts += [p, a]
    return pkts


def test_sequence_numbers_wrapping_past_zero() -> None:
    result = extract_flows(wrapping_packets())
    got, want = expert.analyse(result), expert.analyse_exact(result)
    assert_same(got, want)
    assert (got.acked_back[1::2] == 1).all()  # every ACK matches the segment just before


def test_the_bench_shape_needs_no_exact_pass(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the scenario captures are ordinary connections: all vectorised
    total = 0
    for name in names():
        if name.startswith("tcpx-random"):
            continue
        with extract_flows_from_file(OUT / name, WIRESHARK) as result:
            total += exact_conversations(result, monkeypatch)
    assert total == 1  # the reused-ports capture's SYN-ACK with a new ISN moves Wireshark's base


@pytest.mark.parametrize("name", names())
def test_scenario_captures_are_what_the_builder_makes(name: str) -> None:
    assert (OUT / name).read_bytes() == build(name)


def test_store_costs_ten_bytes_a_packet() -> None:
    with extract_flows_from_file(OUT / "tcpx-random-7.pcap", WIRESHARK) as result:
        e = result.plugin_data["tcp_expert"]
        per_packet = e.flags.nbytes + e.bytes_in_flight.nbytes + e.acked_back.nbytes
        assert per_packet == 10 * len(result.packets)


@pytest.mark.parametrize("name", ORACLES)
def test_oracle_captures(name: str) -> None:
    with extract_flows_from_file(_capture(name), WIRESHARK) as result:
        assert_same(result.plugin_data["tcp_expert"], expert.analyse_exact(result))
