"""TCP edge cases built with scapy: final RFC 793 states, status, Zeek conn_state and history,
and the Follow bytes for each.

Each scenario is one connection written out packet by packet (sequence numbers relative to the
sender's ISN, acknowledgements relative to the receiver's). The Follow bytes expected here were
checked against tshark 4.0.17 when the scenarios were written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Padding, Raw

from engine import WIRESHARK, FlowConfig, FlowResult, extract_flows
from engine.follow import reassemble
from engine.tcp import tcp_timeline

#: with the compiled state machines and history, then with numpy
pytestmark = pytest.mark.usefixtures("tcp_states_both_ways")

CLIENT = ("10.1.1.1", 40001)
SERVER = ("10.2.2.2", 80)
MOD = 1 << 32


class Flow:
    """The packets of one TCP connection, 1 ms apart."""

    def __init__(self, isn_c: int = 1000, isn_s: int = 700_000, t0: float = 100.0) -> None:
        self.isn = {True: isn_c, False: isn_s}
        self.t = t0
        self.packets: list[Packet] = []

    def _add(self, from_client: bool, flags: str, seq: int, ack: int, load: bytes, win: int,
             pad: int, gap: float) -> Flow:
        src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
        pkt = (Ether() / IP(src=src[0], dst=dst[0])
               / TCP(sport=src[1], dport=dst[1], flags=flags,
                     seq=(self.isn[from_client] + seq) % MOD,
                     ack=(self.isn[not from_client] + ack) % MOD if "A" in flags else 0,
                     window=win))
        if load:
            pkt = pkt / Raw(load)
        if pad:
            pkt = pkt / Padding(b"\x00" * pad)
        self.t += gap
        pkt.time = self.t
        self.packets.append(pkt)
        return self

    def c(self, flags: str, seq: int, ack: int = 0, load: bytes = b"", win: int = 65535,
          pad: int = 0, gap: float = 0.001) -> Flow:
        return self._add(True, flags, seq, ack, load, win, pad, gap)

    def s(self, flags: str, seq: int, ack: int = 0, load: bytes = b"", win: int = 65535,
          pad: int = 0, gap: float = 0.001) -> Flow:
        return self._add(False, flags, seq, ack, load, win, pad, gap)


def handshake(f: Flow) -> Flow:
    return f.c("S", 0).s("SA", 0, 1).c("A", 1, 1)


REQ = b"GET / HTTP/1.1\r\n\r\n"  # 18 bytes
RESP = b"HTTP/1.1 200 OK\r\n\r\nhello"  # 24 bytes


def normal_close() -> Flow:
    f = handshake(Flow()).c("PA", 1, 1, REQ).s("A", 1, 19).s("PA", 1, 19, RESP).c("A", 19, 25)
    return f.c("FA", 19, 25).s("A", 25, 20).s("FA", 25, 20).c("A", 20, 26)


def half_close() -> Flow:
    f = handshake(Flow()).c("PA", 1, 1, REQ).c("FA", 19, 1).s("A", 1, 20)
    return f.s("PA", 1, 20, RESP).c("A", 20, 25)


def simultaneous_open() -> Flow:
    f = Flow().c("S", 0).s("S", 0).c("SA", 0, 1).s("SA", 0, 1)
    return f.c("PA", 1, 1, REQ).s("A", 1, 19)


def simultaneous_close() -> Flow:
    f = handshake(Flow()).c("PA", 1, 1, REQ).s("A", 1, 19)
    return f.c("FA", 19, 1).s("FA", 1, 19).c("A", 20, 2).s("A", 2, 20)


def rejected_syn() -> Flow:
    return Flow().c("S", 0).s("RA", 0, 1)


def syn_retransmitted_unanswered() -> Flow:
    return Flow().c("S", 0).c("S", 0, gap=1.0).c("S", 0, gap=2.0)


def rst_from_client_in_syn_sent() -> Flow:
    return Flow().c("S", 0).c("R", 1)


def rst_from_server_in_syn_received() -> Flow:
    return Flow().c("S", 0).s("SA", 0, 1).s("R", 1)


def rst_from_client_established() -> Flow:
    return handshake(Flow()).c("PA", 1, 1, REQ).s("A", 1, 19).c("RA", 19, 1)


def rst_from_server_established() -> Flow:
    return handshake(Flow()).c("PA", 1, 1, REQ).s("RA", 1, 19)


def rst_in_fin_wait() -> Flow:
    return handshake(Flow()).c("FA", 1, 1).s("A", 1, 2).s("RA", 1, 2)


def rst_in_close_wait() -> Flow:
    return handshake(Flow()).s("FA", 1, 1).c("A", 1, 2).c("RA", 1, 2)


def rst_in_last_ack() -> Flow:
    return handshake(Flow()).c("FA", 1, 1).s("A", 1, 2).s("FA", 1, 2).c("RA", 2, 2)


def rst_after_close() -> Flow:
    return normal_close().c("R", 20)


def syn_then_fin() -> Flow:
    return Flow().c("S", 0).c("F", 1)


def synack_then_rst() -> Flow:
    return Flow().s("SA", 0, 1).s("R", 1)


def synack_then_fin() -> Flow:
    return Flow().s("SA", 0, 1).s("FA", 1, 1)


def mid_stream() -> Flow:
    return Flow().c("PA", 100, 200, REQ).s("PA", 200, 118, RESP).c("A", 118, 224)


def mid_stream_closed() -> Flow:
    return mid_stream().c("FA", 118, 224).s("FA", 224, 119).c("A", 119, 225)


def syn_with_data() -> Flow:
    f = Flow().c("S", 0, load=b"fast-open").s("SA", 0, 10).c("A", 10, 1)
    return f.c("PA", 10, 1, REQ)


def data_on_handshake_ack() -> Flow:
    return Flow().c("S", 0).s("SA", 0, 1).c("PA", 1, 1, REQ).s("A", 1, 19)


def fin_with_data() -> Flow:
    return handshake(Flow()).c("FPA", 1, 1, REQ).s("FA", 1, 20).c("A", 20, 2)


def wraparound() -> Flow:
    f = Flow(isn_c=MOD - 30, isn_s=MOD - 5)
    f = handshake(f)
    for k in range(6):
        f.c("PA", 1 + 10 * k, 1, bytes([65 + k]) * 10)
    return f.s("A", 1, 61).s("PA", 1, 61, RESP).c("A", 61, 25)


def overlap_conflict() -> Flow:
    f = handshake(Flow()).c("PA", 1, 1, b"AAAAAAAAAA").c("PA", 6, 1, b"BBBBBBBBBB")
    return f.s("A", 1, 16)


def out_of_order() -> Flow:
    f = handshake(Flow()).c("PA", 11, 1, b"2222222222").c("PA", 1, 1, b"1111111111")
    return f.s("A", 1, 21).c("PA", 21, 1, b"3333333333")


def gap_never_filled() -> Flow:
    f = handshake(Flow()).c("PA", 1, 1, b"1111111111").c("PA", 21, 1, b"3333333333")
    return f.s("A", 1, 31).c("PA", 31, 1, b"4444444444").s("A", 1, 41)


def gap_never_acknowledged() -> Flow:
    return handshake(Flow()).c("PA", 1, 1, b"1111111111").c("PA", 21, 1, b"3333333333")


def keep_alive() -> Flow:
    f = handshake(Flow()).c("PA", 1, 1, REQ).s("A", 1, 19)
    return f.c("A", 18, 1, b"\x00", gap=45.0).s("A", 1, 19).c("A", 18, 1, gap=45.0)


def zero_window_probe() -> Flow:
    f = handshake(Flow()).c("PA", 1, 1, b"0123456789").s("A", 1, 11, win=0)
    f.c("A", 11, 1, b"A").s("A", 1, 11, win=0).c("A", 11, 1, b"A", gap=0.2)
    return f.s("A", 1, 11, win=8192).c("PA", 11, 1, b"ABCDEFGHIJ").s("A", 1, 21)


def padded_short_segments() -> Flow:
    f = handshake(Flow())
    for k, ch in enumerate(b"hello"):
        f.c("PA", 1 + k, 1, bytes([ch]), pad=5)
    return f.s("A", 1, 6, pad=6)


def idle_timeout() -> Flow:
    """Silent for two hours (more than FlowConfig.tcp_timeout) before the capture ends."""
    f = handshake(Flow()).c("PA", 1, 1, REQ).s("A", 1, 19)
    later = Ether() / IP(src=CLIENT[0], dst="10.9.9.9") / UDP(sport=53, dport=53)
    later.time = f.t + 7200
    f.packets.append(later)
    return f


@dataclass(frozen=True)
class Expect:
    client: str
    server: str
    status: str
    conn_state: str
    history: str
    a_to_b: bytes = b""
    b_to_a: bytes = b""
    partial: bool = False
    retransmissions: int = 0
    out_of_order: int = 0
    missing: int = 0
    config: FlowConfig = WIRESHARK


SCENARIOS: dict[str, tuple[Callable[[], Flow], Expect]] = {
    "normal_close": (normal_close, Expect("TIME_WAIT", "CLOSED", "closed", "SF",
                                          "ShADadFf", REQ, RESP)),
    "half_close": (half_close, Expect("FIN_WAIT_2", "CLOSE_WAIT", "half-closed", "S2",
                                      "ShADFad", REQ, RESP)),
    "simultaneous_open": (simultaneous_open, Expect("ESTABLISHED", "ESTABLISHED", "active",
                                                    "S1", "SsDa", REQ, retransmissions=2)),
    "simultaneous_close": (simultaneous_close, Expect("TIME_WAIT", "TIME_WAIT", "closed", "SF",
                                                      "ShADaFf", REQ)),
    "rejected_syn": (rejected_syn, Expect("CLOSED", "CLOSED", "rejected", "REJ", "Sr")),
    "syn_retransmitted_unanswered": (syn_retransmitted_unanswered,
                                     Expect("SYN_SENT", "LISTEN", "half-open", "S0", "S",
                                            retransmissions=2)),
    "rst_from_client_in_syn_sent": (rst_from_client_in_syn_sent,
                                    Expect("CLOSED", "CLOSED", "reset", "RSTOS0", "SR")),
    "rst_from_server_in_syn_received": (rst_from_server_in_syn_received,
                                        Expect("CLOSED", "CLOSED", "reset", "RSTR", "Shr")),
    "rst_from_client_established": (rst_from_client_established,
                                    Expect("CLOSED", "CLOSED", "reset", "RSTO", "ShADaR", REQ)),
    "rst_from_server_established": (rst_from_server_established,
                                    Expect("CLOSED", "CLOSED", "reset", "RSTR", "ShADr", REQ)),
    "rst_in_fin_wait": (rst_in_fin_wait, Expect("CLOSED", "CLOSED", "reset", "RSTR", "ShAFar")),
    "rst_in_close_wait": (rst_in_close_wait,
                          Expect("CLOSED", "CLOSED", "reset", "RSTO", "ShAfR")),
    "rst_in_last_ack": (rst_in_last_ack, Expect("CLOSED", "CLOSED", "reset", "RSTO",
                                                "ShAFafR")),
    "rst_after_close": (rst_after_close, Expect("TIME_WAIT", "CLOSED", "closed", "RSTO",
                                                "ShADadFfR", REQ, RESP)),
    "syn_then_fin": (syn_then_fin, Expect("FIN_WAIT_1", "LISTEN", "half-closed", "SH", "SF")),
    "synack_then_rst": (synack_then_rst, Expect("CLOSED", "CLOSED", "reset", "RSTRH", "^hr",
                                                partial=True)),
    "synack_then_fin": (synack_then_fin, Expect("CLOSE_WAIT", "FIN_WAIT_1", "half-closed", "SHR",
                                                "^hf", partial=True)),
    "mid_stream": (mid_stream, Expect("ESTABLISHED", "ESTABLISHED", "active", "OTH", "DdA", REQ,
                                      RESP, partial=True)),
    "mid_stream_closed": (mid_stream_closed, Expect("TIME_WAIT", "CLOSED", "closed", "SF",
                                                    "DdAFf", REQ, RESP, partial=True)),
    "syn_with_data": (syn_with_data, Expect("ESTABLISHED", "ESTABLISHED", "active", "S1",
                                            "ShAD", b"fast-open" + REQ)),
    "data_on_handshake_ack": (data_on_handshake_ack, Expect("ESTABLISHED", "ESTABLISHED",
                                                            "active", "S1", "ShDa", REQ)),
    "fin_with_data": (fin_with_data, Expect("TIME_WAIT", "CLOSED", "closed", "SF", "ShAFf",
                                            REQ)),
    "wraparound": (wraparound, Expect("ESTABLISHED", "ESTABLISHED", "active", "S1", "ShADad",
                                      b"".join(bytes([65 + k]) * 10 for k in range(6)), RESP)),
    "overlap_conflict": (overlap_conflict, Expect("ESTABLISHED", "ESTABLISHED", "active", "S1",
                                                  "ShADTa", b"AAAAAAAAAABBBBB",
                                                  retransmissions=1)),
    "out_of_order": (out_of_order, Expect("ESTABLISHED", "ESTABLISHED", "active", "S1",
                                          "ShADa", b"111111111122222222223333333333",
                                          out_of_order=1)),
    "gap_never_filled": (gap_never_filled, Expect("ESTABLISHED", "ESTABLISHED", "active", "S1",
                                                  "ShADaG", b"1111111111" + b"3333333333"
                                                  + b"4444444444", missing=10)),
    "gap_never_acknowledged": (gap_never_acknowledged,
                               Expect("ESTABLISHED", "ESTABLISHED", "active", "S1", "ShADG",
                                      b"1111111111", missing=10)),
    "keep_alive": (keep_alive, Expect("ESTABLISHED", "ESTABLISHED", "active", "S1", "ShADa",
                                      REQ)),
    "zero_window_probe": (zero_window_probe, Expect("ESTABLISHED", "ESTABLISHED", "active",
                                                    "S1", "ShADaw", b"0123456789ABCDEFGHIJ")),
    "padded_short_segments": (padded_short_segments,
                              Expect("ESTABLISHED", "ESTABLISHED", "active", "S1", "ShADa",
                                     b"hello")),
    "idle_timeout": (idle_timeout, Expect("CLOSED", "CLOSED", "timed out", "S1", "ShADa", REQ)),
}


def analyse(flow: Flow, config: FlowConfig = WIRESHARK) -> FlowResult:
    return extract_flows(flow.packets, config)


def tcp_row(result: FlowResult) -> int:
    """The (only) TCP conversation of a scenario."""
    (row,) = [c.id for c in result if c.protocol == "tcp"]
    return row


@pytest.fixture(params=sorted(SCENARIOS), ids=str)
def scenario(request: pytest.FixtureRequest) -> tuple[str, FlowResult, Expect]:
    build, expect = SCENARIOS[request.param]
    return request.param, analyse(build(), expect.config), expect


def test_summary_columns(scenario: tuple[str, FlowResult, Expect]) -> None:
    name, result, e = scenario
    conv = result[tcp_row(result)]
    got = (conv.client_state, conv.server_state, conv.status, conv.conn_state, conv.history,
           bool(conv.partial), conv.retransmissions, conv.out_of_order, conv.missing_bytes)
    want = (e.client, e.server, e.status, e.conn_state, e.history, e.partial,
            e.retransmissions, e.out_of_order, e.missing)
    assert got == want, name


def test_follow_bytes(scenario: tuple[str, FlowResult, Expect]) -> None:
    name, result, e = scenario
    with reassemble(result, tcp_row(result)) as stream:
        assert (stream.data(0), stream.data(1)) == (e.a_to_b, e.b_to_a), name


def test_timeline_ends_in_the_summary_states(scenario: tuple[str, FlowResult, Expect]) -> None:
    _, result, e = scenario
    timeline = tcp_timeline(result, tcp_row(result))
    assert (timeline.final("client").name, timeline.final("server").name) == (e.client,
                                                                             e.server)
    assert timeline.status == e.status
    times = [c.ts_ns for c in timeline.changes]
    assert times == sorted(times)
