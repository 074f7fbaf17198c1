"""SCTP conversations are keyed by address and port pairs, as Wireshark's SCTP conversations
(``tshark -z conv,sctp``); the protocol is registered in engine/protocols.py and decoded by the
generic "IP protocol with ports" path of both decoders (the recipe for a new IP-carried
protocol in ARCHITECTURE.md)."""

from __future__ import annotations

import numpy as np
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.layers.sctp import SCTP, SCTPChunkData, SCTPChunkInit

from engine import WIRESHARK, extract_flows
from engine.decode.exact import decode_packet
from engine.protocols import PROTOCOLS


def _packets() -> list[tuple[bytes, float, int]]:
    frames = [
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(sport=5000, dport=38412)
        / SCTPChunkInit(),
        Ether() / IP(src="10.0.0.2", dst="10.0.0.1") / SCTP(sport=38412, dport=5000)
        / SCTPChunkData(data=b"hello"),
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(sport=5001, dport=38412)
        / SCTPChunkData(data=b"x" * 10),
    ]
    return [(bytes(f), 1.0 + k, 1) for k, f in enumerate(frames)]


def test_sctp_conversations_match_tsharks_conv_sctp() -> None:
    """What tshark 4.0.17 -z conv,sctp prints for these frames: 10.0.0.1:5000 <-> 10.0.0.2:38412,
    A→B 1 frame 66 bytes, B→A 1 frame 70 bytes, duration 1.0; 10.0.0.1:5001 <->
    10.0.0.2:38412, A→B 1 frame 74 bytes, start 2.0."""
    result = extract_flows(_packets(), WIRESHARK)
    rows = [(c.protocol, c.a, c.b, c.packets_ab, c.bytes_ab, c.packets_ba, c.bytes_ba,
             c.duration_ns) for c in result]
    assert rows == [
        ("sctp", ("10.0.0.1", 5000), ("10.0.0.2", 38412), 1, 66, 1, 70, 1_000_000_000),
        ("sctp", ("10.0.0.1", 5001), ("10.0.0.2", 38412), 1, 74, 0, 0, 0),
    ]
    assert (result.conversations.stream == -1).all()  # no sctp "stream" numbers here
    assert result.unassigned.total == 0


def test_both_decoders_agree_on_sctp() -> None:
    result = extract_flows(_packets(), WIRESHARK)
    p = result.packets
    for k, (data, _, linktype) in enumerate(_packets()):
        exact = decode_packet(data, linktype)
        assert exact.kind == p.kind[k] == PROTOCOLS["sctp"].kind
        assert (exact.sport, exact.dport) == (int(p.sport[k]), int(p.dport[k]))
        assert (exact.payload_off, exact.payload_len) == (int(p.payload_off[k]),
                                                          int(p.payload_len[k]))
    # the chunks after the 12-byte common header: INIT (20), DATA with 5 (24) and 10 bytes (28)
    assert np.array_equal(p.payload_len, [20, 24, 28])
