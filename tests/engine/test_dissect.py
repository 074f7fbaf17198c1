"""The dissection tree of one packet (engine.dissect): layers, fields and their bytes."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.dissect import Node, packet_tree
from engine.dissect.scapy_layers import dissect
from engine.packets import Kind
from tests.conftest import CAPTURES

ZWAVE_SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "zwave-sample.pcapng"


def find(nodes: list[Node], prefix: str) -> Node:
    for node in nodes:
        if node.label.startswith(prefix):
            return node
        try:
            return find(node.children, prefix)
        except LookupError:
            continue
    raise LookupError(prefix)


@pytest.mark.parametrize(("name", "first_layer"), [
    ("zeek-http-get.pcap", "Ethernet"),
    ("tcpdump-tcp-handshake-nano-sll.pcap", "cooked linux"),
    ("zeek-linux-dlt-sll2.pcap", "cooked linux v2"),
    ("zeek-redis-set-null-linktype.pcap", "Loopback"),
    ("tcpdump-LINKTYPE_RAW_ipv4.pcap", "IP"),
    ("tcpdump-LINKTYPE_IPV6.pcap", "IPv6"),
    ("zeek-tcp-payload-syn-rawip.pcap", "IP"),
])
def test_each_link_type_starts_with_its_layer_and_fields_point_at_their_bytes(
        name: str, first_layer: str) -> None:
    with extract_flows_from_file(CAPTURES / name, WIRESHARK) as result:
        conv = int(np.flatnonzero(result.conversations.kind != Kind.UNASSIGNED)[0])
        packet = int(result.conversations.packets_of(conv)[0])
        data, nodes = packet_tree(result, packet)
        p = result.packets
        assert nodes[0].label.split(":")[0] == first_layer
        for node in nodes:  # layers tile the packet in order
            assert node.start >= 0 and node.start + node.length <= len(data)
        starts = [n.start for n in nodes]
        assert starts == sorted(starts)
        family = int(p.family[packet])
        ip = find(nodes, "IP: " if family == 4 else "IPv6: ")
        src = find(ip.children, "src: ")
        raw_src = data[src.start: src.start + src.length]
        expected = struct.pack(">Q", int(p.src_lo[packet]))[4:] if family == 4 else (
            struct.pack(">QQ", int(p.src_hi[packet]), int(p.src_lo[packet])))
        assert raw_src == expected
        if family == 4:
            assert src.label == f"src: {socket.inet_ntoa(expected)}"
        if p.kind[packet] not in (Kind.TCP, Kind.UDP):
            return
        transport = find(nodes, "TCP: " if p.kind[packet] == Kind.TCP else "UDP: ")
        dport = find(transport.children, "dport: ")
        assert dport.length == 2
        assert struct.unpack(">H", data[dport.start: dport.start + 2])[0] == p.dport[packet]


def test_bit_fields_share_their_byte() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-http-get.pcap", WIRESHARK) as result:
        _data, nodes = packet_tree(result, 0)
    ip = find(nodes, "IP: ")
    version, ihl = find(ip.children, "version: "), find(ip.children, "ihl: ")
    assert (version.start, version.length) == (14, 1) == (ihl.start, ihl.length)
    assert not any(c.label.startswith("ts_ori") for c in find(nodes, "TCP: ").children)


def test_conditional_fields_that_do_not_apply_are_left_out() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-icmp-5-pings.pcap", WIRESHARK) as result:
        _data, nodes = packet_tree(result, 0)
    icmp = find(nodes, "ICMP: ")
    names = [c.label.split(":")[0] for c in icmp.children]
    assert names[:5] == ["type", "code", "chksum", "id", "seq"]
    assert "ts_ori" not in names and "addr_mask" not in names


def test_damaged_and_unknown_input_gives_a_sentence_not_a_traceback() -> None:
    nodes = dissect(b"\x00\x01\x02", 1)  # three bytes of "Ethernet"
    assert nodes and nodes[0].label
    assert dissect(b"\x01\x02", 147)[0].label == "Link type LINKTYPE_147: not dissected"


def test_zwave_frames_show_the_engines_decode() -> None:
    from engine.zwave import frames_of

    with extract_flows_from_file(ZWAVE_SAMPLE, WIRESHARK) as result:
        frames = frames_of(result)
        row = int(np.flatnonzero(frames.keyed & ~frames.is_ack & (frames.command_class >= 0))[0])
        packet = int(frames.index[row])
        data, nodes = packet_tree(result, packet)
        mac = int(frames.mac_offset[row])
        assert nodes[0].label == "Z-Wave TAP header" and nodes[0].length == mac
        assert any(c.label.startswith("RSSI: ") for c in nodes[0].children)
        home = find(nodes, "Home ID: ")
        assert home.label == f"Home ID: {int(frames.home_id[row]):08X}"
        assert int.from_bytes(data[home.start: home.start + 4], "big") == frames.home_id[row]
        source = find(nodes, "Source node: ")
        assert data[source.start] == frames.src[row]
        cc = find(nodes, "Command class: ")
        assert data[cc.start] == frames.command_class[row]
        checksum = find(nodes, "Checksum ")
        assert checksum.label.endswith("good")
        assert checksum.start + checksum.length == mac + int(frames.length[row])
