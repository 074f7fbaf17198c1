"""Issue 10 item 7: UDP tunnels (VXLAN, Geneve, GTP-U) as Wireshark lists them.

tshark 4.0.17 lists a tunnel's outer UDP conversation *and* the TCP/UDP conversations inside
it; a tunnelled frame counts in both, with its whole length, and the inner conversations use up
stream numbers in order of appearance (after the outer one their frame opens). Flowscope keeps
the two levels: every frame is in one outer-level conversation (or unassigned), and the packet
inside it in an inner conversation whose ``tunnel`` names the encapsulation and the outer
conversation of its first packet. Capture: tests/data/built/make_captures.py
(``udp_tunnels``); tshark's answers for every layer: oracle/udp-tunnels.pcap.levels.json.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from scapy.utils import rdpcap

from engine import WIRESHARK, extract_flows_from_file
from engine.cli import main
from engine.export.conversations import write_csv, write_json
from engine.export.packets import export_conversation
from engine.filter import filter_mask
from engine.follow import conversation_stream, find_tcp_stream

from .built import assert_follow_equal, assert_levels_equal, path

NAME = "udp-tunnels.pcap"


def test_both_levels_and_stream_numbers_equal_tshark() -> None:
    assert_levels_equal(NAME)


def test_follow_inside_tunnels_equals_tshark() -> None:
    """tcp.stream 0 is inside VXLAN (its directions in two outer conversations), 2 inside
    Geneve, 3 inside GTP-U (some packets with an extension header); 1 is in the open."""
    assert assert_follow_equal(NAME) == 4


def test_levels_keep_their_invariants() -> None:
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        table = result.conversations
        outer = table.extra["tunnel_conversation"]
        inner = np.flatnonzero(outer >= 0)
        assert inner.size == 6
        # every frame is in exactly one outer-level conversation
        assert int(table.packets[outer < 0].sum()) + result.unassigned.total == \
            result.capture.packets
        for c in inner.tolist():
            frames = set(result.packets_of(c).tolist())
            carriers = set(result.packets.conv[list(frames)].tolist())
            assert int(outer[c]) in carriers
            assert all(outer[k] < 0 and table.kind[k] == table.kind[int(outer[c])]
                       for k in carriers)  # outer-level UDP conversations
            assert len(frames) <= sum(int(table.packets[k]) for k in carriers)
        assert sorted(set(table.extra["tunnel"][inner].tolist())) == ["geneve", "gtp-u", "vxlan"]


def test_inner_udp_follows_its_datagrams() -> None:
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        conv = next(c.id for c in result if c.protocol == "udp" and c.a[1] == 5353)
        with conversation_stream(result, conv) as stream:
            assert stream.data(0) == b"query inside VXLAN" and not stream.gaps
        # the outer conversation's stream is the tunnel's payload: VXLAN header and all
        outer = int(result.conversations.extra["tunnel_conversation"][conv])
        with conversation_stream(result, outer) as stream:
            assert stream.data(0).startswith(b"\x08\x00\x00\x00\x00\x00\x2a\x00")


def test_export_pcap_of_an_inner_conversation_writes_its_whole_frames(tmp_path: Path) -> None:
    out = tmp_path / "inner.pcap"
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        conv = find_tcp_stream(result, 3)  # inside GTP-U
        export_conversation(result, conv, out)
        frames = result.packets_of(conv)
        expected = [result.packet_bytes(int(i)) for i in frames]
    assert [bytes(p) for p in rdpcap(str(out))] == expected and len(expected) == 8


def test_json_and_csv_carry_the_tunnel() -> None:
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        text = io.StringIO()
        write_json(result, text)
        records = {(r["protocol"], r["stream"]): r
                   for r in json.loads(text.getvalue())["conversations"]}
        vxlan_outer = records[("udp", 1)]
        assert vxlan_outer["tunnel"] is None
        assert records[("tcp", 0)]["tunnel"] == {"encapsulation": "vxlan",
                                                 "conversation": vxlan_outer["id"]}
        assert records[("udp", 8)]["tunnel"]["encapsulation"] == "gtp-u"
        table = io.StringIO()
        write_csv(result, table)
        header = table.getvalue().splitlines()[0].split(",")
        assert "tunnel_encapsulation" in header and "tunnel_conversation" in header


@pytest.mark.parametrize("expression,streams", [
    ("tunnel == vxlan", [("tcp", 0), ("udp", 4)]),
    ('tunnel == "gtp-u" and tcp', [("tcp", 3)]),
    ('tunnel != ""', [("tcp", 0), ("udp", 4), ("tcp", 2), ("udp", 6), ("tcp", 3), ("udp", 8)]),
])
def test_the_tunnel_column_filters(expression: str, streams: list[tuple[str, int]]) -> None:
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        mask = filter_mask(expression, result.conversations)
        assert mask is not None
        got = [(result[i].protocol, result[i].stream) for i in np.flatnonzero(mask).tolist()]
        assert sorted(got) == sorted(streams)


def test_cli_follows_and_exports_an_inner_stream(tmp_path: Path,
                                                 capsysbinary: pytest.CaptureFixture[bytes]
                                                 ) -> None:
    assert main(["follow", str(path(NAME)), "--stream", "2", "--format", "raw",
                 "--direction", "a-to-b"]) == 0
    assert capsysbinary.readouterr().out == b"inside Geneve request\n"
    assert main(["export-pcap", str(path(NAME)), "--stream", "0", "-o",
                 str(tmp_path / "vxlan.pcap")]) == 0
    assert len(rdpcap(str(tmp_path / "vxlan.pcap"))) == 8


def test_application_layer_reads_the_packets_inside() -> None:
    """Services are found in the conversations inside a tunnel (their payload is the inner
    packet's); the tunnel's own UDP conversation carries the tunnel, no service."""
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.layers.vxlan import VXLAN

    from engine import analyse_packets
    from engine.capture.in_memory import RawPacket

    def vxlan(inner: object, t: float) -> RawPacket:
        frame = Ether() / IP(src="172.16.0.1", dst="172.16.0.2") / UDP(sport=49152, dport=4789) \
            / VXLAN(vni=5) / Ether() / inner
        return RawPacket(bytes(frame), round(t * 1e9))

    http = IP(src="192.168.1.1", dst="192.168.1.2") / TCP(sport=4000, dport=8080, flags="PA",
                                                          seq=1, ack=1)
    packets = [vxlan(http / b"GET /inner HTTP/1.1\r\nHost: inside.test\r\n\r\n", 1.0),
               vxlan(IP(src="192.168.1.1", dst="192.168.1.53") / UDP(sport=40000, dport=53)
                     / DNS(rd=1, qd=DNSQR(qname="inside.test")), 2.0)]
    with analyse_packets(packets, WIRESHARK) as result:
        t = result.conversations
        by_protocol = {(t.protocol_names()[k], t.extra["tunnel"][k]): t.extra["service"][k]
                       for k in range(len(t))}
        assert by_protocol == {("udp", ""): "", ("tcp", "vxlan"): "http",
                               ("udp", "vxlan"): "dns"}
        host = t.extra["http_host"][np.flatnonzero(t.extra["service"] == "http")[0]]
        assert str(host) == "inside.test"
