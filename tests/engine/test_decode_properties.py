"""Property tests: both decoders agree with scapy's dissection, and with each other.

hypothesis builds random frames with scapy over every link type the engine decodes. Each batch is
decoded by the vectorised decoder in one chunk (so every packet's neighbour sits right after its
last captured byte, where a decoder that trusts a header too far would read it) and packet by
packet by the exact decoder; every column must equal the exact decoder's answer and what scapy's
own dissection of the same bytes says.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import struct
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.layers.inet import (
    GRE,
    ICMP,
    IP,
    TCP,
    UDP,
    IPOption,
    IPOption_NOP,
    IPOption_Router_Alert,
)
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6MLQuery,
    ICMPv6MLReport,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6PacketTooBig,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    PadN,
    _ICMPv6,
)
from scapy.layers.l2 import (
    ARP,
    CookedLinux,
    CookedLinuxV2,
    Dot1AD,
    Dot1Q,
    Ether,
    Loopback,
    LoopbackOpenBSD,
)
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw

from engine import Kind, RawPacket, Reason, extract_flows
from engine.capture.in_memory import MemoryChunker
from engine.decode.exact import Fields, decode_packet
from engine.decode.fast import decode_chunk
from engine.packets import InnerPackets, PacketTable

ETHERNET, NULL, RAW, LOOP, SLL, RAW4, RAW6, SLL2 = 1, 0, 101, 108, 113, 228, 229, 276
AF_INET, AF_INET6 = 2, (10, 24, 28, 30)  # BSD NULL families: Linux, *BSD, FreeBSD, Darwin
NON_IP_ETHERTYPES = (0x0806, 0x88CC, 0x88F7, 0x0842, 0x9000)

#: deterministic (derandomize), nothing written into the repository (database=None); a deeper
#: run: FLOWSCOPE_PROPERTY_EXAMPLES=5000 pytest tests/engine/test_decode_properties.py
EXAMPLES = int(os.environ.get("FLOWSCOPE_PROPERTY_EXAMPLES", "150"))
PROPERTY = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DIFFERENTIAL = settings(PROPERTY, max_examples=EXAMPLES * 5 // 3)

#: every column the decoders fill, compared one by one (addresses as 128-bit integers)
COLUMNS = ("kind", "reason", "ethertype", "family", "ip_proto", "src", "dst", "sport", "dport",
           "payload_off", "payload_len", "tcp_flags", "seq", "ack", "win", "tcp_hlen",
           "icmp_type", "icmp_code", "icmp_id", "icmp_seq")


@dataclass
class Frame:
    """A frame as sent, its link type, and how much of it the capture kept."""

    data: bytes
    linktype: int
    caplen: int
    #: NULL/LOOP only: byte order the 4-byte family header was written in
    null_order: str = "little"

    @property
    def captured(self) -> bytes:
        return self.data[: self.caplen]

    def record(self, ts_ns: int) -> RawPacket:
        return RawPacket(self.captured, ts_ns, self.linktype, len(self.data))


# -- strategies: IP packets ------------------------------------------------------------------
u8, u16, u32 = st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)
v4_addresses = st.integers(0, (1 << 32) - 1).map(lambda v: str(ipaddress.IPv4Address(v)))
v6_addresses = st.integers(0, (1 << 128) - 1).map(lambda v: str(ipaddress.IPv6Address(v)))
payloads = st.binary(max_size=48)

TCP_OPTIONS = st.sampled_from([
    ("MSS", 1460), ("WScale", 7), ("SAckOK", b""), ("Timestamp", (12345, 67890)),
    ("NOP", None), ("SAck", (1000, 2000)), ("EOL", None),
])


@st.composite
def tcp_segments(draw: st.DrawFn) -> Packet:
    seg = TCP(sport=draw(u16), dport=draw(u16), seq=draw(u32), ack=draw(u32),
              flags=draw(st.integers(0, 0x1FF)), reserved=draw(st.integers(0, 7)),
              window=draw(u16), urgptr=draw(u16),
              options=draw(st.lists(TCP_OPTIONS, max_size=3)))
    if draw(st.integers(0, 15)) == 0:  # a header length below 20 bytes: malformed
        seg.dataofs = draw(st.integers(0, 4))
        seg.options = []
    return seg / Raw(draw(payloads))


@st.composite
def udp_datagrams(draw: st.DrawFn) -> Packet:
    return UDP(sport=draw(u16), dport=draw(u16)) / Raw(draw(payloads))


@st.composite
def icmp_messages(draw: st.DrawFn) -> Packet:
    kind = draw(st.sampled_from(["echo", "error", "other"]))
    if kind == "echo":
        return ICMP(type=draw(st.sampled_from([0, 8])), code=draw(u8), id=draw(u16),
                    seq=draw(u16)) / Raw(draw(payloads))
    if kind == "error":  # quotes the IP header + 8 bytes of what it reports on
        quoted = IP(src=draw(v4_addresses), dst=draw(v4_addresses)) / UDP(
            sport=draw(u16), dport=draw(u16))
        return ICMP(type=draw(st.sampled_from([3, 4, 5, 11, 12])), code=draw(u8)) / quoted
    return ICMP(type=draw(st.sampled_from([9, 10, 13, 14, 17, 42, 200])),
                code=draw(u8)) / Raw(draw(payloads))


@st.composite
def icmpv6_messages(draw: st.DrawFn) -> Packet:
    kind = draw(st.sampled_from(["echo", "error", "nd", "other"]))
    if kind == "echo":
        cls = draw(st.sampled_from([ICMPv6EchoRequest, ICMPv6EchoReply]))
        return cls(code=draw(u8), id=draw(u16), seq=draw(u16), data=draw(payloads))
    if kind == "error":
        quoted = IPv6(src=draw(v6_addresses), dst=draw(v6_addresses)) / UDP(
            sport=draw(u16), dport=draw(u16))
        cls = draw(st.sampled_from([ICMPv6DestUnreach, ICMPv6PacketTooBig, ICMPv6TimeExceeded,
                                    ICMPv6ParamProblem]))
        return cls(code=draw(u8)) / quoted
    if kind == "nd":
        return ICMPv6ND_NS(code=draw(u8), tgt=draw(v6_addresses))
    # scapy dissects a type it has no class for as Raw, so only types it knows
    cls = draw(st.sampled_from([ICMPv6ND_RS, ICMPv6ND_RA, ICMPv6MLQuery, ICMPv6MLReport]))
    return cls(code=draw(u8))


def other_protocol(draw: st.DrawFn, choices: list[int]) -> tuple[int, Packet]:
    """An IP protocol the engine keys by addresses only (never a tunnel it would open)."""
    return draw(st.sampled_from(choices)), Raw(draw(st.binary(min_size=1, max_size=32)))


IPV4_OPTIONS = st.sampled_from([
    IPOption_NOP(), IPOption_Router_Alert(), IPOption(b"\x88\x04\x12\x34"),  # stream id
    IPOption(b"\x07\x07\x04\x00\x00\x00\x00"),  # record route, room for one address
    IPOption(b"\x44\x0c\x05\x00" + b"\x00" * 8),  # timestamp
])


@st.composite
def ipv4_packets(draw: st.DrawFn) -> Packet:
    proto = draw(st.sampled_from(["tcp", "tcp", "udp", "icmp", "other"]))
    header = IP(src=draw(v4_addresses), dst=draw(v4_addresses), tos=draw(u8), id=draw(u16),
                ttl=draw(u8), flags=draw(st.sampled_from([0, 2, 4, 6])),  # DF and the evil bit
                options=draw(st.lists(IPV4_OPTIONS, max_size=3)))
    if draw(st.integers(0, 7)) == 0:  # a fragment (MF set and/or an offset)
        header.flags = int(header.flags) | (1 if draw(st.booleans()) else 0)
        header.frag = draw(st.integers(0, 0x1FFF))
        if not int(header.flags) & 1 and header.frag == 0:
            header.frag = 1
    if proto == "tcp":
        return header / draw(tcp_segments())
    if proto == "udp":
        return header / draw(udp_datagrams())
    if proto == "icmp":
        return header / draw(icmp_messages())
    header.proto, body = other_protocol(draw, [50, 89, 103, 253, 58])
    return header / body


@st.composite
def ipv6_extension_chains(draw: st.DrawFn) -> list[Packet]:
    chain: list[Packet] = []
    for name in draw(st.lists(st.sampled_from(["hop", "routing", "dest", "frag"]), max_size=4)):
        if name == "hop":
            chain.append(IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * draw(
                st.integers(0, 12)))]))
        elif name == "dest":
            chain.append(IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * draw(
                st.integers(0, 20)))]))
        elif name == "routing":
            chain.append(IPv6ExtHdrRouting(addresses=draw(st.lists(v6_addresses, max_size=3)),
                                           segleft=draw(st.integers(0, 3))))
        else:  # atomic fragment: offset 0, no more fragments
            chain.append(IPv6ExtHdrFragment(offset=0, m=0, id=draw(u32)))
    return chain


@st.composite
def ipv6_packets(draw: st.DrawFn) -> Packet:
    proto = draw(st.sampled_from(["tcp", "tcp", "udp", "icmpv6", "other"]))
    packet: Packet = IPv6(src=draw(v6_addresses), dst=draw(v6_addresses), tc=draw(u8),
                          fl=draw(st.integers(0, 0xFFFFF)), hlim=draw(u8))
    chain = [] if proto == "other" else draw(ipv6_extension_chains())
    if proto != "other" and draw(st.integers(0, 7)) == 0:  # a real fragment, ends the chain
        offset, more = draw(st.integers(0, 0x1FFF)), draw(st.booleans())
        chain.append(IPv6ExtHdrFragment(offset=offset, m=int(more or offset == 0),
                                        id=draw(u32)))
    for ext in chain:
        packet = packet / ext
    if proto == "tcp":
        return packet / draw(tcp_segments())
    if proto == "udp":
        return packet / draw(udp_datagrams())
    if proto == "icmpv6":
        return packet / draw(icmpv6_messages())
    packet.nh, body = other_protocol(draw, [59, 89, 103, 253, 1])
    return packet / body


ip_packets = st.one_of(ipv4_packets(), ipv6_packets())


# -- strategies: link layers -----------------------------------------------------------------
macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))


@st.composite
def vlan_tags(draw: st.DrawFn, most: int) -> list[Packet]:
    return [draw(st.sampled_from([Dot1Q, Dot1AD]))(prio=draw(st.integers(0, 7)),
                                                   dei=draw(st.integers(0, 1)),
                                                   vlan=draw(st.integers(0, 4095)))
            for _ in range(draw(st.integers(0, most)))]


def non_ip(draw: st.DrawFn) -> Packet:
    if draw(st.booleans()):
        return ARP(psrc=draw(v4_addresses), pdst=draw(v4_addresses))
    return Raw(draw(st.binary(min_size=1, max_size=40)))


TPID = {Dot1Q: 0x8100, Dot1AD: 0x88A8}


def stack(layers: list[Packet]) -> Packet:
    """``layers[0] / layers[1] / …`` with every tag's TPID written into the layer before it
    (scapy does not bind a tag after a Linux cooked header by itself)."""
    packet = layers[0]
    for before, layer in itertools.pairwise(layers):
        if type(layer) in TPID:
            name = "proto" if isinstance(before, CookedLinux | CookedLinuxV2) else "type"
            before.setfieldval(name, TPID[type(layer)])
        packet = packet / layer
    return packet


@st.composite
def ethernet_like(draw: st.DrawFn, link: int) -> bytes:
    """Ethernet (with up to four 802.1Q/802.1ad tags), Linux SLL or SLL2, carrying IP or not."""
    if link == ETHERNET:
        head: Packet = Ether(src=draw(macs), dst=draw(macs))
        tags = draw(vlan_tags(4))
    elif link == SLL:
        head = CookedLinux(pkttype=draw(st.integers(0, 4)), lladdrtype=1, lladdrlen=6,
                           src=draw(st.binary(min_size=8, max_size=8)))
        tags = draw(vlan_tags(1))[:1]
        for tag in tags:  # scapy dissects only 802.1Q after a cooked header
            tags = [Dot1Q(prio=tag.prio, dei=tag.dei, vlan=tag.vlan)]
    else:
        head = CookedLinuxV2(ifindex=draw(u32), lladdrtype=1, pkttype=draw(st.integers(0, 4)),
                             lladdrlen=6, src=draw(st.binary(min_size=8, max_size=8)))
        tags = []
    if draw(st.integers(0, 5)) == 0:
        body = non_ip(draw)
        last = tags[-1] if tags else head
        if isinstance(body, Raw):
            last.setfieldval("proto" if last is head and link != ETHERNET else "type",
                             draw(st.sampled_from(NON_IP_ETHERTYPES)))
    else:
        body = draw(ip_packets)
    data = bytes(stack([head, *tags, body]))
    if link == ETHERNET and len(data) < 60:  # padding to the minimum frame size is not payload
        data += draw(st.sampled_from([b"\0", b"\xa5"])) * (60 - len(data))
    return data


ALL_LINKS = (ETHERNET, ETHERNET, SLL, SLL2, RAW, RAW4, RAW6, NULL, LOOP)


@st.composite
def frames(draw: st.DrawFn, links: tuple[int, ...] = ALL_LINKS, cut: bool = True) -> Frame:
    link = draw(st.sampled_from(links))
    order = "little"
    if link in (ETHERNET, SLL, SLL2):
        data = draw(ethernet_like(link))
    elif link in (RAW, RAW4, RAW6):
        data = bytes(draw({RAW: ip_packets, RAW4: ipv4_packets(), RAW6: ipv6_packets()}[link]))
    else:
        order = draw(st.sampled_from(["little", "big"]))
        packet = draw(ip_packets)
        family = AF_INET if isinstance(packet, IP) else draw(st.sampled_from(AF_INET6))
        if draw(st.integers(0, 7)) == 0:  # a family that is not IP
            family = draw(st.sampled_from([0, 7, 17, 100]))
        data = family.to_bytes(4, order) + bytes(packet)
    if draw(st.integers(0, 7)) == 0:  # a trailer after the IP datagram (FCS, junk)
        data += draw(st.binary(min_size=1, max_size=6))
    caplen = len(data)
    if cut and draw(st.integers(0, 4)) == 0:  # cut by the snap length
        caplen = draw(st.integers(0, len(data)))
    return Frame(data, link, caplen, order)


# -- decoding --------------------------------------------------------------------------------
def fast_decode(records: list[RawPacket]) -> PacketTable:
    """All records in one chunk through the vectorised decoder (as the pipeline does)."""
    return fast_decode_all(records)[0]


def fast_decode_all(records: list[RawPacket]) -> tuple[PacketTable, InnerPackets]:
    """The frames' columns and the packets inside their UDP tunnels."""
    chunker = MemoryChunker(records, 1 << 20)
    (chunk,) = list(chunker.chunks())
    linktypes = np.array([i.linktype for i in chunker.interfaces], dtype=np.uint16)
    table, side = decode_chunk(chunk, linktypes, 0)
    return table, InnerPackets.concat(side.inner)


def row(table: PacketTable, i: int) -> dict[str, int]:
    out = {name: int(getattr(table, name)[i]) for name in COLUMNS if name not in ("src", "dst")}
    out["src"] = (int(table.src_hi[i]) << 64) | int(table.src_lo[i])
    out["dst"] = (int(table.dst_hi[i]) << 64) | int(table.dst_lo[i])
    return out


def exact_row(f: Fields) -> dict[str, int]:
    return {name: int(getattr(f, name)) for name in COLUMNS}


def assert_fast_equals_exact(records: list[RawPacket]) -> PacketTable:
    return assert_both_levels_equal(records)[0]


def assert_both_levels_equal(records: list[RawPacket]) -> tuple[PacketTable, InnerPackets]:
    """Both decoders give the same columns for every frame and for every packet inside a UDP
    tunnel (the same frames have one)."""
    table, inner = fast_decode_all(records)
    tunnelled = inner.frame.tolist()
    for i, rec in enumerate(records):
        f = decode_packet(rec.data, rec.linktype, rec.origlen)
        assert row(table, i) == exact_row(f), f"packet {i}: {rec}"
        assert (f.inner is not None) == (i in tunnelled), f"packet {i}: {rec}"
        if f.inner is not None:
            k = tunnelled.index(i)
            assert row(inner.packets, k) == exact_row(f.inner), f"inside packet {i}: {rec}"
            assert int(inner.tunnel[k]) == f.tunnel
    return table, inner


# -- what scapy says -------------------------------------------------------------------------
def _link_view(frame: Frame) -> tuple[int, Packet | None, int]:
    """(EtherType or 0, the IP layer scapy dissected or None, where the link header ends)."""
    data, link = frame.data, frame.linktype
    layer: Packet | None
    if link in (ETHERNET, SLL, SLL2):
        top = {ETHERNET: Ether, SLL: CookedLinux, SLL2: CookedLinuxV2}[link](data)
        etype = top.type if link == ETHERNET else top.proto
        layer = top.payload
        while isinstance(layer, Dot1Q | Dot1AD):
            etype, layer = layer.type, layer.payload
    elif link in (RAW, RAW4, RAW6):
        etype = 0
        layer = (IPv6 if data[0] >> 4 == 6 else IP)(data) if link == RAW else \
            (IP if link == RAW4 else IPv6)(data)
    else:
        etype = 0
        family = (Loopback if frame.null_order == "little" else LoopbackOpenBSD)(data[:4]).type
        layer = IP(data[4:]) if family == AF_INET else \
            IPv6(data[4:]) if family in AF_INET6 else None
        if layer is None:
            return 0, None, 4
    end = len(data) - len(layer.original) if layer.original is not None else len(data)
    return etype, layer if isinstance(layer, IP | IPv6) else None, end


def scapy_expected(frame: Frame) -> dict[str, int]:
    """The packet-table columns scapy's dissection of ``frame`` implies.

    Returns only the columns that are defined for the packet: everything for a complete packet,
    kind and reason for one cut short before its headers end.
    """
    etype, ip, l3 = _link_view(frame)
    if ip is None:
        if frame.caplen < l3:
            return {"kind": Kind.UNASSIGNED, "reason": Reason.TRUNCATED}
        return {"kind": Kind.UNASSIGNED, "reason": Reason.NON_IP, "ethertype": etype,
                "family": 0}
    return ip_expected(frame, ip, l3, {"ethertype": etype})


def ip_expected(frame: Frame, ip: Packet, l3: int, want: dict[str, int]) -> dict[str, int]:
    """The columns implied by the IP packet ``ip`` that starts at ``l3`` in ``frame``."""
    fragment = False
    if isinstance(ip, IP):
        want.update(family=4, ip_proto=ip.proto, src=int(ipaddress.IPv4Address(ip.src)),
                    dst=int(ipaddress.IPv4Address(ip.dst)))
        l4 = l3 + ip.ihl * 4
        ip_payload = ip.len - ip.ihl * 4
        fragment = bool(int(ip.flags) & 1 or ip.frag)
        layer = ip.payload
    else:
        want.update(family=6, src=int(ipaddress.IPv6Address(ip.src)),
                    dst=int(ipaddress.IPv6Address(ip.dst)))
        l4, nh, layer = l3 + 40, ip.nh, ip.payload
        while isinstance(layer, IPv6ExtHdrHopByHop | IPv6ExtHdrRouting | IPv6ExtHdrDestOpt
                         | IPv6ExtHdrFragment):
            nh = layer.nh
            if isinstance(layer, IPv6ExtHdrFragment):
                l4 += 8
                if layer.offset or layer.m:
                    fragment = True
                    break
            else:
                l4 += (layer.len + 1) * 8
            layer = layer.payload
        want["ip_proto"] = nh
        ip_payload = ip.plen - (l4 - l3 - 40)
    if fragment and isinstance(ip, IP) and ip.frag == 0 and (
            ip_payload <= 0 or frame.caplen < l4 + ip_payload):
        # Wireshark reassembles only whole fragments; an IPv4 first fragment it cannot add is
        # dissected on its own (tshark 4.0.17), so it decodes like an unfragmented packet
        fragment = False
    if fragment:
        if frame.caplen < l4:
            return {"kind": Kind.UNASSIGNED, "reason": Reason.TRUNCATED}
        return {**want, "kind": Kind.UNASSIGNED, "reason": Reason.FRAGMENT, "sport": 0,
                "payload_off": -1}
    proto = want["ip_proto"]
    if proto == 6:
        assert isinstance(layer, TCP)
        hlen = layer.dataofs * 4
        need = l4 + 16  # ports to window: what Wireshark reads before it finds the stream
        want.update(kind=Kind.TCP, sport=layer.sport, dport=layer.dport, seq=layer.seq,
                    ack=layer.ack, win=layer.window, tcp_flags=int(layer.flags), tcp_hlen=hlen,
                    payload_off=l4 + hlen, payload_len=ip_payload - hlen)
        if frame.caplen >= need and (hlen < 20 or hlen > min(frame.caplen - l4, ip_payload)):
            # a data offset below 20, or a header longer than what is there: it still takes a
            # tcp.stream number, but counts in no conversation (tshark 4.0.17)
            want.update(kind=Kind.UNASSIGNED, reason=Reason.TCP_HEADER, payload_off=-1,
                        payload_len=0)
    elif proto == 17:
        assert isinstance(layer, UDP)
        need = l4 + 8
        want.update(kind=Kind.UDP, sport=layer.sport, dport=layer.dport, payload_off=l4 + 8,
                    payload_len=layer.len - 8)
    elif (proto == 1 and want["family"] == 4) or (proto == 58 and want["family"] == 6):
        assert isinstance(layer, ICMP | _ICMPv6)
        need = l4 + 4
        want.update(kind=Kind.ICMP if proto == 1 else Kind.ICMPV6, icmp_type=layer.type,
                    icmp_code=layer.code, payload_off=l4 + 8, payload_len=ip_payload - 8)
        if isinstance(layer, ICMPv6EchoRequest | ICMPv6EchoReply) or (
                isinstance(layer, ICMP) and layer.type in (0, 8)):
            captured = frame.caplen >= l4 + 8  # else: not in the capture, recorded as 0
            want.update(icmp_id=layer.id if captured else 0,
                        icmp_seq=layer.seq if captured else 0)
    else:
        need = l4
        want.update(kind=Kind.IP, sport=0, dport=0, payload_off=l4, payload_len=ip_payload)
    if frame.caplen < need:
        return {"kind": Kind.UNASSIGNED, "reason": Reason.TRUNCATED}
    return want


def assert_matches_scapy(table: PacketTable, i: int, frame: Frame) -> None:
    got, want = row(table, i), scapy_expected(frame)
    assert {k: got[k] for k in want} == want, f"packet {i}: {frame}"


# -- the properties --------------------------------------------------------------------------
@PROPERTY
@given(st.lists(frames(), min_size=1, max_size=6))
def test_decoders_agree_with_scapy(batch: list[Frame]) -> None:
    table = assert_fast_equals_exact([f.record(i) for i, f in enumerate(batch)])
    for i, frame in enumerate(batch):
        assert_matches_scapy(table, i, frame)


@PROPERTY
@given(frames(links=(ETHERNET, SLL, SLL2, RAW4, RAW6), cut=False))
def test_api_decodes_scapy_packets_like_scapy(frame: Frame) -> None:
    """extract_flows() with a scapy packet (``.time`` set) gives the columns scapy implies."""
    cls = {ETHERNET: Ether, SLL: CookedLinux, SLL2: CookedLinuxV2, RAW4: IP, RAW6: IPv6}
    packet = cls[frame.linktype](frame.data)
    packet.time = 1_700_000_000.25
    result = extract_flows([packet])
    assert result.capture.packets == 1
    assert int(result.packets.ts_ns[0]) == 1_700_000_000_250_000_000
    assert int(result.packets.linktype[0]) == frame.linktype
    assert_matches_scapy(result.packets, 0, frame)
    in_conversation = int(result.packets.conv[0]) >= 0
    assert in_conversation == (int(result.packets.kind[0]) != Kind.UNASSIGNED)


@PROPERTY
@given(st.lists(frames(), min_size=1, max_size=4), st.data())
def test_decoders_agree_on_damaged_frames(batch: list[Frame], data: st.DataObject) -> None:
    """Valid frames with a few header bytes overwritten: whatever they decode to, both
    decoders decode it the same."""
    records = []
    for i, frame in enumerate(batch):
        raw = bytearray(frame.captured)
        for _ in range(data.draw(st.integers(1, 4))):
            if raw:
                raw[data.draw(st.integers(0, min(len(raw), 80) - 1))] = data.draw(u8)
        records.append(RawPacket(bytes(raw), i, frame.linktype, len(frame.data)))
    assert_fast_equals_exact(records)


LINKTYPES = st.sampled_from([NULL, ETHERNET, 9, 12, 14, RAW, LOOP, SLL, RAW4, RAW6, SLL2, 147,
                             104, 105, 127, 192])


@DIFFERENTIAL
@given(st.lists(st.tuples(st.binary(max_size=96), LINKTYPES), min_size=1, max_size=8))
def test_decoders_agree_on_random_bytes(batch: list[tuple[bytes, int]]) -> None:
    assert_fast_equals_exact([RawPacket(data, i, link) for i, (data, link) in enumerate(batch)])


def test_padding_is_not_payload() -> None:
    """A 1-byte UDP payload in a frame padded to 60 bytes: payload is 1 byte, not 19."""
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP() / UDP()
                  / b"x") + b"\0" * 17
    assert len(frame) == 60
    table = assert_fast_equals_exact([RawPacket(frame, 0, ETHERNET)])
    assert int(table.payload_len[0]) == 1
    assert int(table.payload_off[0]) == 42


def test_null_family_in_either_byte_order() -> None:
    body = bytes(IPv6(src="::1", dst="::2") / TCP(sport=1, dport=2))
    records = [RawPacket(struct.pack(fmt, fam) + body, 0, link)
               for fmt in ("<I", ">I") for fam in AF_INET6 for link in (NULL, LOOP)]
    table = assert_fast_equals_exact(records)
    assert (table.kind == Kind.TCP).all()
    assert (table.family == 6).all()


def test_cut_link_header_takes_nothing_from_the_next_packet() -> None:
    """A frame cut inside its link header: the EtherType column must not come from the bytes
    that follow it in the chunk (the next packet)."""
    ip_frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP() / UDP())
    sll2 = bytes(CookedLinuxV2(lladdrlen=6) / IP() / UDP())
    records = [RawPacket(ip_frame[:13], 0, ETHERNET), RawPacket(ip_frame, 1, ETHERNET),
               RawPacket(sll2[:5], 2, SLL2), RawPacket(sll2, 3, SLL2),
               RawPacket(bytes(Ether(type=0x8100) / Dot1Q(vlan=5) / IP())[:16], 4, ETHERNET),
               RawPacket(ip_frame, 5, ETHERNET)]
    table = assert_fast_equals_exact(records)
    assert table.reason[[0, 2, 4]].tolist() == [Reason.TRUNCATED] * 3
    assert table.ethertype[[0, 2, 4]].tolist() == [0, 0, 0x8100]


def test_wrong_ip_version_is_malformed_even_when_its_header_length_runs_past_the_capture(
        ) -> None:
    """First byte 0x06 (version 0, IHL 24 bytes) in a 21-byte IPv4 frame: the version is wrong,
    so the header is malformed; both decoders must say so (not "truncated")."""
    header = b"\x06" + bytes(IP(proto=50))[1:]
    ether = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x0800))
    table = assert_fast_equals_exact([RawPacket(header + b"\0", 0, RAW4),
                                      RawPacket(ether + header + b"\0", 1, ETHERNET)])
    assert table.reason.tolist() == [Reason.MALFORMED, Reason.MALFORMED]


# -- issue 10: more link layers, encapsulations in GRE, UDP tunnels ---------------------------
C_HDLC, PPP, PPI, WLAN, RADIOTAP = 104, 9, 192, 105, 127
VXLAN_PORT, GENEVE_PORT, GTP_PORT = 4789, 6081, 2152
IP_ETHERTYPES = {4: 0x0800, 6: 0x86DD}


@dataclass
class Wrapped:
    """A frame whose conversation packet is the IP packet at ``l3`` (scapy built it)."""

    frame: Frame
    l3: int


def _version(packet: Packet) -> int:
    return 6 if isinstance(packet, IPv6) else 4


@st.composite
def wlan_headers(draw: st.DrawFn, etype: int) -> bytes:
    """An 802.11 data frame header (QoS or not, 3 or 4 addresses, HT control) + LLC/SNAP."""
    qos, ds = draw(st.booleans()), draw(st.integers(0, 3))
    order = qos and draw(st.booleans())
    fc0 = 0x08 | (0x80 if qos else 0)  # type data, subtype data or QoS data
    fc1 = ds | (0x80 if order else 0)
    header = bytes([fc0, fc1]) + draw(st.binary(min_size=22, max_size=22))
    header += draw(st.binary(min_size=6, max_size=6)) if ds == 3 else b""
    header += draw(st.binary(min_size=2, max_size=2)) if qos else b""
    header += draw(st.binary(min_size=4, max_size=4)) if order else b""
    oui = draw(st.sampled_from([b"\x00\x00\x00", b"\x00\x00\xf8"]))
    return header + b"\xaa\xaa\x03" + oui + struct.pack(">H", etype)


@st.composite
def ethernet_header(draw: st.DrawFn, etype: int) -> bytes:
    return bytes(Ether(src=draw(macs), dst=draw(macs), type=etype))


@st.composite
def link_wrapped(draw: st.DrawFn) -> Wrapped:
    """IP behind Cisco HDLC (alone or in the PPP link type), PPI, 802.11, radiotap, PPPoE with
    a compressed PPP protocol field, or GRE carrying ERSPAN I/II/III or Aruba's 802.11."""
    ip = draw(ip_packets)
    body = bytes(ip)
    etype = IP_ETHERTYPES[_version(ip)]
    shape = draw(st.sampled_from(["chdlc", "ppp-chdlc", "ppi", "wlan", "radiotap", "pppoe",
                                  "erspan1", "erspan2", "erspan3", "aruba"]))
    if shape in ("chdlc", "ppp-chdlc"):
        head, link = bytes([draw(st.sampled_from([0x0F, 0x8F])), 0]) + struct.pack(
            ">H", etype), C_HDLC if shape == "chdlc" else PPP
    elif shape == "ppi":
        inner_link = draw(st.sampled_from([ETHERNET, WLAN]))
        pad = draw(st.binary(max_size=12))
        head = struct.pack("<BBHI", 0, 0, 8 + len(pad), inner_link) + pad
        head += draw(ethernet_header(etype) if inner_link == ETHERNET else wlan_headers(etype))
        link = PPI
    elif shape == "wlan":
        head, link = draw(wlan_headers(etype)), WLAN
    elif shape == "radiotap":
        pad = draw(st.binary(max_size=12))
        head = struct.pack("<BBHI", 0, 0, 8 + len(pad), 0) + pad + draw(wlan_headers(etype))
        link = RADIOTAP
    elif shape == "pppoe":
        proto = {4: 0x21, 6: 0x57}[_version(ip)]
        field = bytes([proto]) if draw(st.booleans()) else struct.pack(">H", proto)
        pppoe = struct.pack(">BBHH", 0x11, 0, draw(u16), len(field) + len(body))
        head, link = draw(ethernet_header(0x8864)) + pppoe + field, ETHERNET
    else:
        if shape == "aruba":
            gre = GRE(proto=draw(st.sampled_from([0x8200, 0x8210, 0x8370])))
            inner = draw(wlan_headers(etype))
        elif shape == "erspan1":
            gre, inner = GRE(proto=0x88BE), draw(ethernet_header(etype))
        elif shape == "erspan2":
            gre = GRE(proto=0x88BE, seqnum_present=1, sequence_number=draw(u32))
            inner = bytes(ERSPAN_II(session_id=draw(st.integers(0, 1023)))) + draw(
                ethernet_header(etype))
        else:
            platform = draw(st.booleans())
            gre = GRE(proto=0x22EB, seqnum_present=int(draw(st.booleans())))
            inner = bytes(ERSPAN_III(session_id=draw(st.integers(0, 1023)), o=int(platform)))
            inner += bytes(ERSPAN_PlatformSpecific()) if platform else b""
            inner += draw(ethernet_header(etype))
        outer = bytes(Ether(src=draw(macs), dst=draw(macs)) / IP(src=draw(v4_addresses),
                                                                 dst=draw(v4_addresses)) / gre)
        frame = outer + inner + body
        return Wrapped(Frame(frame, ETHERNET, len(frame)), len(outer) + len(inner))
    data = head + body
    caplen = draw(st.integers(0, len(data))) if draw(st.integers(0, 4)) == 0 else len(data)
    return Wrapped(Frame(data, link, caplen), len(head))


def wrapped_expected(w: Wrapped) -> dict[str, int]:
    """What scapy's dissection of the IP packet implies (the EtherType column aside: it names
    whichever header came last before IP)."""
    frame = w.frame
    if frame.caplen < w.l3:
        return {"kind": Kind.UNASSIGNED, "reason": Reason.TRUNCATED}
    data = frame.data[w.l3 :]
    ip = (IPv6 if data[0] >> 4 == 6 else IP)(data)
    return ip_expected(frame, ip, w.l3, {})


@PROPERTY
@given(st.lists(link_wrapped(), min_size=1, max_size=5))
def test_link_layers_and_gre_payloads_agree_with_scapy(batch: list[Wrapped]) -> None:
    table = assert_fast_equals_exact([w.frame.record(i) for i, w in enumerate(batch)])
    for i, w in enumerate(batch):
        got, want = row(table, i), wrapped_expected(w)
        assert {k: got[k] for k in want} == want, f"packet {i}: {w}"


@dataclass
class Tunnelled:
    """A UDP datagram carrying a tunnel whose inner packet starts at ``inner_at``."""

    frame: Frame
    inner: bytes
    inner_link: int
    inner_at: int


def gtp_header(draw: st.DrawFn, size: int) -> bytes:
    """GTP-U v1 G-PDU, with or without the optional fields and extension headers."""
    options = draw(st.sampled_from([0, 0x02, 0x01, 0x04]))  # none, S, PN, E
    head = struct.pack(">BBHI", 0x30 | options, 0xFF, size, draw(u32))
    if not options:
        return head
    extensions = draw(st.lists(st.integers(1, 3), max_size=2)) if options == 0x04 else []
    head += struct.pack(">HB", draw(u16), draw(u8))
    head += bytes([0x85 if extensions else 0])
    for k, words in enumerate(extensions):
        last = k == len(extensions) - 1
        head += bytes([words]) + draw(st.binary(min_size=words * 4 - 2, max_size=words * 4 - 2))
        head += bytes([0 if last else 0x85])
    return head


@st.composite
def udp_tunnels(draw: st.DrawFn) -> Tunnelled:
    """VXLAN and Geneve (Ethernet inside, or IP for Geneve) and GTP-U (IP inside)."""
    ip = draw(ip_packets)
    kind = draw(st.sampled_from(["vxlan", "geneve", "geneve-ip", "gtp"]))
    if kind in ("vxlan", "geneve"):
        inner = bytes(Ether(src=draw(macs), dst=draw(macs)) / ip)
        link = ETHERNET
    else:
        inner, link = bytes(ip), RAW
    if kind == "vxlan":
        port, header = VXLAN_PORT, bytes(VXLAN(vni=draw(st.integers(0, (1 << 24) - 1))))
    elif kind.startswith("geneve"):
        options = draw(st.integers(0, 3))
        proto = 0x6558 if kind == "geneve" else IP_ETHERTYPES[_version(ip)]
        port = GENEVE_PORT
        header = struct.pack(">BBHI", options, 0, proto, draw(u32) & 0xFFFFFF00)
        header += draw(st.binary(min_size=options * 4, max_size=options * 4))
    else:
        port, header = GTP_PORT, gtp_header(draw, len(inner))
    sport = draw(st.integers(10000, 65535))
    outer = Ether(src=draw(macs), dst=draw(macs)) / IP(src=draw(v4_addresses),
                                                      dst=draw(v4_addresses)) / UDP(
        sport=sport, dport=port) / Raw(header + inner)
    data = bytes(outer)
    inner_at = len(data) - len(inner)
    if len(data) < 60:
        data += b"\0" * (60 - len(data))
    caplen = draw(st.integers(0, len(data))) if draw(st.integers(0, 4)) == 0 else len(data)
    return Tunnelled(Frame(data, ETHERNET, caplen), inner, link, inner_at)


def inner_expected(t: Tunnelled) -> dict[str, int] | None:
    """The columns of the packet inside, as scapy dissects it; None when there is none (the
    tunnel header cut short, or nothing a conversation can hold)."""
    if t.frame.caplen < t.inner_at:
        return None
    caplen = min(t.frame.caplen - t.inner_at, len(t.inner))
    want = scapy_expected(Frame(t.inner, t.inner_link, caplen))
    if want["kind"] == Kind.UNASSIGNED and want.get("reason") != Reason.TCP_HEADER:
        return None
    if want.get("payload_off", -1) >= 0:
        want["payload_off"] += t.inner_at
    return want


@PROPERTY
@given(st.lists(udp_tunnels(), min_size=1, max_size=5))
def test_udp_tunnels_agree_with_scapy(batch: list[Tunnelled]) -> None:
    """Fast == exact for both levels; the outer datagram and the packet inside as scapy says."""
    table, inner = assert_both_levels_equal([t.frame.record(i) for i, t in enumerate(batch)])
    tunnelled = inner.frame.tolist()
    for i, t in enumerate(batch):
        assert_matches_scapy(table, i, t.frame)
        want = inner_expected(t)
        assert (want is not None) == (i in tunnelled), f"packet {i}: {t}"
        if want is not None:
            got = row(inner.packets, tunnelled.index(i))
            assert {k: got[k] for k in want} == want, f"inside packet {i}: {t}"
