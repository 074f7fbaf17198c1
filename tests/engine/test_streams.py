"""TCP stream numbering on port reuse, checked against tshark 4.0.17 (expected streams were
printed by ``tshark -T fields -e tcp.stream`` on the same packets)."""

from __future__ import annotations

import pytest

from engine import WIRESHARK, extract_flows

from .packets import A, B, tcp


def _streams(events: list[tuple[str, str, int, int, bytes]]) -> list[int]:
    pkts = []
    for i, (side, flags, seq, ack, load) in enumerate(events):
        if side == "a":
            pkts.append(tcp(A, 1111, B, 80, flags, seq, ack, load, t=1 + i))
        else:
            pkts.append(tcp(B, 80, A, 1111, flags, seq, ack, load, t=1 + i))
    with extract_flows(pkts, WIRESHARK) as result:
        return [int(result.conversations.stream[c]) for c in result.packets.conv]


def a(flags: str, seq: int, ack: int = 0, load: bytes = b"") -> tuple:
    return ("a", flags, seq, ack, load)


def b(flags: str, seq: int, ack: int = 0, load: bytes = b"") -> tuple:
    return ("b", flags, seq, ack, load)


# scenario: (events, tcp.stream per packet as tshark 4.0.17 prints them)
TSHARK_AGREES = {
    "retransmitted SYN stays": ([a("S", 100), b("SA", 900, 101), a("A", 101, 901),
                                 a("PA", 101, 901, b"hi"), a("S", 100)], [0, 0, 0, 0, 0]),
    "SYN with a new ISN starts a stream": ([a("S", 100), b("SA", 900, 101), a("S", 200)],
                                           [0, 0, 1]),
    "no SYN seen: base is first seq - 1": ([a("PA", 500, 10, b"x"), a("S", 500)], [0, 1]),
    "SYN equal to first seq - 1 stays": ([a("PA", 500, 10, b"x"), a("S", 499)], [0, 0]),
    "reverse SYN after close with new ISN": ([a("S", 100), b("SA", 900, 101), a("FA", 101, 901),
                                              b("FA", 901, 102), b("S", 5000)], [0, 0, 0, 0, 1]),
    "sender without base sequence never splits": ([a("R", 100), b("S", 7)], [0, 0]),
    "simultaneous SYNs stay together": ([a("S", 100), b("S", 300)], [0, 0]),
    "SYN-ACK first, then SYN": ([b("SA", 900, 101), a("S", 100), a("S", 100)], [0, 0, 0]),
    "half-close then same SYN stays": ([a("S", 100), b("SA", 900, 101), a("FA", 101, 901),
                                        a("S", 100)], [0, 0, 0, 0]),
    # issue 10 item 1: a SYN that repeats the ISN stays in its stream, closed or not
    "same ISN after FIN both ways": ([a("S", 100), b("SA", 900, 101), a("A", 101, 901),
                                      a("FA", 101, 901), b("FA", 901, 102), a("A", 102, 902),
                                      a("S", 100)], [0, 0, 0, 0, 0, 0, 0]),
    "same ISN after RST (a refused connect retried)": ([a("S", 100), b("RA", 0, 101),
                                                        a("S", 100), b("SA", 900, 101),
                                                        a("A", 101, 901)], [0, 0, 0, 0, 0]),
    "same ISN after RST, twice": ([a("S", 100), b("RA", 0, 101), a("S", 100), b("RA", 0, 101),
                                   a("S", 100)], [0, 0, 0, 0, 0]),
    "RFC 5961 challenge ACK, RST, same-ISN SYN": ([a("S", 100), b("A", 5000, 777), a("R", 777),
                                                   a("S", 100), b("SA", 900, 101)],
                                                  [0, 0, 0, 0, 0]),
    "new ISN after RST": ([a("S", 100), b("RA", 0, 101), a("S", 200)], [0, 0, 1]),
    "same ISN after RST, then new ISNs": ([a("S", 100), b("SA", 900, 101),
                                           a("PA", 101, 901, b"hi"), a("R", 103), a("S", 100),
                                           a("S", 300), a("S", 100)], [0, 0, 0, 0, 0, 1, 2]),
    "no SYN seen: base is first seq - 1, also after RST": ([a("PA", 500, 10, b"x"), a("R", 501),
                                                           a("S", 499)], [0, 0, 0]),
    # every SYN or SYN-ACK sets its sender's base: the latest one counts
    "the latest SYN-ACK is the base": ([a("S", 100), b("SA", 900, 101), b("SA", 1900, 101),
                                        b("S", 1900)], [0, 0, 0, 0]),
    "an earlier SYN-ACK's ISN is not": ([a("S", 100), b("SA", 900, 101), b("SA", 1900, 101),
                                         b("S", 900)], [0, 0, 0, 1]),
    "a SYN-ACK replaces a base from data": ([a("S", 100), b("A", 500, 101, b"x"),
                                             b("SA", 900, 101), b("S", 900)], [0, 0, 0, 0]),
    "a SYN-ACK replaces a base from data (2)": ([a("S", 100), b("A", 500, 101, b"x"),
                                                 b("SA", 900, 101), b("S", 499)], [0, 0, 0, 1]),
}


@pytest.mark.parametrize("name", TSHARK_AGREES)
def test_stream_numbers_like_tshark(name: str) -> None:
    events, expected = TSHARK_AGREES[name]
    assert _streams(events) == expected
