"""The compiled TCP analysis (``engine/tcp/_expert.c``) equals the packet-by-packet statement of
the rules (``expert_exact.py``, which equals tshark: test_tcp_expert_oracle.py, where the stored
analysis is the compiled one) on random and awkward captures and on every capture with a tshark
oracle; bad arguments are refused, not read past."""

from __future__ import annotations

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from engine import WIRESHARK, extract_flows, extract_flows_from_file
from engine.tcp import expert
from engine.tcp.expert_compiled import COMPILED
from tests.engine.capwriter import pcap_bytes
from tests.engine.tcp_expert_gen import ACK, SYN, random_capture, tcp_frame
from tests.engine.tcp_expert_scenarios import OUT, names
from tests.engine.test_tcp_expert_oracle import ORACLES, _capture
from tests.engine.test_tcp_expert_vectorised import _bulk, assert_same, wrapping_packets

pytestmark = pytest.mark.skipif(COMPILED is None, reason="the compiled TCP analysis is not built")


@pytest.mark.parametrize("seed", range(40))
def test_random_captures(tmp_path, seed: int) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.pcap"
    path.write_bytes(pcap_bytes(random_capture(500 + seed, 10)))
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert_same(result.plugin_data["tcp_expert"], expert.analyse_exact(result))


@pytest.mark.parametrize("name", names())
def test_scenario_captures(name: str) -> None:
    with extract_flows_from_file(OUT / name, WIRESHARK) as result:
        assert_same(expert.analyse(result), expert.analyse_exact(result))


@pytest.mark.parametrize("name", ORACLES)
def test_oracle_captures(name: str) -> None:
    with extract_flows_from_file(_capture(name), WIRESHARK) as result:
        assert_same(expert.analyse(result), expert.analyse_exact(result))


def test_more_segments_than_wireshark_lists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # past 10,000 unacknowledged segments the list stops growing and the closing FIN no longer
    # counts one in nextseq; the compiled list has the same fixed room
    path = tmp_path / "bulk.pcap"
    path.write_bytes(pcap_bytes(_bulk(10_050)))
    with extract_flows_from_file(path, WIRESHARK) as result:
        got = result.plugin_data["tcp_expert"]
        assert_same(got, expert.analyse_exact(result))
        assert got.flags[-1] & expert.REUSED_PORTS == 0


def test_a_run_of_duplicate_acks_against_a_long_list() -> None:
    # the compiled walk skips a list it walked for the same ACK number with nothing added
    # since; a new segment in between must end the skip (its end is then acknowledged)
    a, b = "10.0.0.1", "10.0.0.2"
    pkts = [Ether() / IP(src=a, dst=b) / TCP(sport=1, dport=2, flags="S", seq=99),
            Ether() / IP(src=b, dst=a) / TCP(sport=2, dport=1, flags="SA", seq=499, ack=100),
            Ether() / IP(src=a, dst=b) / TCP(sport=1, dport=2, flags="A", seq=100, ack=500)]
    seq = 100
    for k in range(40):
        pkts.append(Ether() / IP(src=a, dst=b) / TCP(sport=1, dport=2, flags="A", seq=seq,
                                                      ack=500) / (b"x" * 100))
        seq += 100
        if k % 3 == 0:
            for _ in range(4):  # the same ACK again and again
                pkts.append(Ether() / IP(src=b, dst=a) / TCP(sport=2, dport=1, flags="A",
                                                              seq=500, ack=200))
        if k % 7 == 6:
            pkts.append(Ether() / IP(src=b, dst=a) / TCP(sport=2, dport=1, flags="A", seq=500,
                                                          ack=seq))
    for k, p in enumerate(pkts):
        p.time = 1.0 + k * 0.001
    result = extract_flows(pkts)
    got, want = expert.analyse(result), expert.analyse_exact(result)
    assert_same(got, want)
    assert got.dup_index.size > 10 and (got.acked_back > 0).sum() >= 5


def test_new_initial_sequence_numbers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a SYN-ACK repeated with another ISN moves Wireshark's base of that direction (a base
    # change) and is marked "reused ports"; a later SYN with a new ISN on the closed tuple
    # opens a new conversation whose SYN is marked the same
    a, b = 0x0A000001, 0x0A000002
    recs = [(tcp_frame(a, b, 5, 80, 1000, 0, SYN, 65535), 10**9),
            (tcp_frame(b, a, 80, 5, 7000, 1001, SYN | ACK, 65535), 10**9 + 10**6),
            (tcp_frame(b, a, 80, 5, 8000, 1001, SYN | ACK, 65535), 10**9 + 2 * 10**6),
            (tcp_frame(a, b, 5, 80, 1001, 8001, ACK, 65535), 10**9 + 3 * 10**6),
            (tcp_frame(a, b, 5, 80, 90000, 0, SYN, 65535), 2 * 10**9),
            (tcp_frame(b, a, 80, 5, 3000, 90001, SYN | ACK, 65535), 2 * 10**9 + 5 * 10**6),
            (tcp_frame(a, b, 5, 80, 90001, 3001, ACK, 65535), 2 * 10**9 + 6 * 10**6)]
    path = tmp_path / "reuse.pcap"
    path.write_bytes(pcap_bytes(recs))
    with extract_flows_from_file(path, WIRESHARK) as result:
        got = expert.analyse(result)
        assert_same(got, expert.analyse_exact(result))
        assert got.base_changes.tolist() == [[2, 0, 1, 8000]]
        assert got.flags[2] & expert.REUSED_PORTS and got.flags[4] & expert.REUSED_PORTS
        assert got.irtt_ns.tolist() == [3 * 10**6, 6 * 10**6]


def test_sequence_numbers_wrapping_past_zero() -> None:
    result = extract_flows(wrapping_packets())
    got = expert.analyse(result)
    assert_same(got, expert.analyse_exact(result))
    assert (got.acked_back[1::2] == 1).all()


def _arguments(n: int, nconv: int) -> list[np.ndarray]:
    bounds = np.linspace(0, n, nconv + 1).astype(np.int64)
    ins = [np.zeros(n, np.int64), np.zeros(n, np.uint8), np.zeros(n, np.uint32),
           np.zeros(n, np.uint32), np.zeros(n, np.uint16), np.zeros(n, np.uint16),
           np.zeros(n, np.int64), np.full(n, -1, np.int8), np.zeros(n, np.uint32),
           np.zeros(n, np.uint8), bounds, np.zeros(nconv, np.uint8)]
    outs = [np.zeros(n, np.uint16)] + [np.zeros(n, np.int64) for _ in range(4)] + [
        np.zeros((nconv, 2), np.int64), np.zeros(nconv, np.int64), np.zeros(nconv, np.int64)]
    return ins + outs


def test_arguments_that_do_not_fit_are_refused() -> None:
    assert COMPILED is not None
    ok = _arguments(10, 2)
    assert COMPILED.analyse(*ok) == b""
    short = list(ok)
    short[2] = np.zeros(9, np.uint32)  # one sequence number missing
    with pytest.raises(ValueError, match="seq"):
        COMPILED.analyse(*short)
    past = list(ok)
    past[10] = np.array([0, 5, 11], np.int64)  # a conversation ending past the rows
    with pytest.raises(ValueError, match="bounds"):
        COMPILED.analyse(*past)
    backwards = list(ok)
    backwards[10] = np.array([0, 7, 5], np.int64)
    with pytest.raises(ValueError, match="bounds"):
        COMPILED.analyse(*backwards)
    readonly = list(ok)
    readonly[12] = np.frombuffer(bytes(20), np.uint16)  # an output it cannot write
    with pytest.raises(TypeError):
        COMPILED.analyse(*readonly)
