"""The exact per-packet decoder: every header Flowscope understands, one packet at a time.

The vectorised decoder handles the common shapes for all packets at once and sends the rest here
(tunnels, PPPoE, MPLS, long IPv6 header chains, fragments, ICMP errors), so nothing is dropped for
being unusual. It is also the readable reference the fast path is tested against.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..capture import linktypes as lt
from ..packets import Kind, Reason
from ..protocols import ported_ip_protocols
from .layers import (
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_PPPOE_SESSION,
    ETH_TEB,
    ETHERTYPE_LINKS,
    GRE_PPP,
    ICMP4_ERRORS,
    ICMP6_ERRORS,
    IPV6_AH,
    IPV6_EXT_8,
    IPV6_FRAG,
    NULL_HEADER,
    NULL_IPV4,
    NULL_IPV6,
    NULL_LINKS,
    PPP_IPV4,
    PPP_IPV6,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_IPIP,
    PROTO_IPV6,
    PROTO_TCP,
    PROTO_UDP,
    RAW_IP_LINKS,
    TUNNEL_PROTOCOLS,
    VLAN_TYPES,
)

MAX_NESTING = 4  # tunnels inside tunnels before we stop looking
#: bytes kept from a datagram's first fragment: enough for any transport header Flowscope reads,
#: so a file full of fragments costs memory per fragment, not per fragment byte
FRAGMENT_HEAD = 96


@dataclass
class Fragment:
    """One IP fragment, kept until its datagram is complete (or the file ends)."""

    family: int
    src: int
    dst: int
    ident: int
    proto: int
    offset: int  # byte offset of this piece in the datagram payload
    more: bool
    length: int  # bytes of datagram payload this fragment carries (from the IP length)
    data: bytes  # the first FRAGMENT_HEAD bytes of the datagram payload (first fragment only)


@dataclass
class Quoted:
    """The IP header (and first L4 bytes) an ICMP error quotes."""

    kind: int
    family: int
    src: int
    dst: int
    sport: int
    dport: int


@dataclass
class Fields:
    """Everything the packet table records about one packet."""

    kind: int = Kind.UNASSIGNED
    reason: int = Reason.NONE
    ethertype: int = 0
    family: int = 0
    ip_proto: int = 0
    src: int = 0
    dst: int = 0
    sport: int = 0
    dport: int = 0
    payload_off: int = -1
    payload_len: int = 0
    tcp_flags: int = 0
    seq: int = 0
    ack: int = 0
    win: int = 0
    tcp_hlen: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    icmp_id: int = 0
    icmp_seq: int = 0
    fragment: Fragment | None = field(default=None, repr=False)
    quoted: Quoted | None = None

    def fail(self, reason: Reason) -> Fields:
        self.kind = Kind.UNASSIGNED
        self.reason = reason
        return self


def decode_packet(data: bytes, linktype: int, origlen: int | None = None) -> Fields:
    """Decode one captured frame of ``linktype``; ``origlen`` is its on-wire length."""
    out = Fields()
    wire = len(data) if origlen is None else origlen
    _link(data, linktype, wire, out, 0)
    return out


# -- link layers ---------------------------------------------------------------------------
def _link(data: bytes, linktype: int, wire: int, out: Fields, depth: int) -> None:
    n = len(data)
    if linktype in ETHERTYPE_LINKS:
        type_at, header = ETHERTYPE_LINKS[linktype]
        if n < header:
            out.fail(Reason.TRUNCATED)
            return
        _ethertype(data, struct.unpack_from(">H", data, type_at)[0], header, wire, out, depth)
    elif linktype in RAW_IP_LINKS:
        version = RAW_IP_LINKS[linktype]
        if version is None:
            if n < 1:
                out.fail(Reason.TRUNCATED)
                return
            version = data[0] >> 4
        if version == 4:
            _ipv4(data, 0, wire, out, depth)
        elif version == 6:
            _ipv6(data, 0, wire, out, depth)
        else:
            out.fail(Reason.MALFORMED)
    elif linktype in NULL_LINKS:
        if n < NULL_HEADER:
            out.fail(Reason.TRUNCATED)
            return
        le, be = struct.unpack_from("<I", data)[0], struct.unpack_from(">I", data)[0]
        family = be if linktype == lt.LOOP and be < 0x10000 else (le if le < 0x10000 else be)
        if family in NULL_IPV4:
            _ipv4(data, NULL_HEADER, wire, out, depth)
        elif family in NULL_IPV6:
            _ipv6(data, NULL_HEADER, wire, out, depth)
        else:
            out.ethertype = 0
            out.fail(Reason.NON_IP)
    elif linktype == lt.PPP:
        _ppp(data, 0, wire, out, depth)
    else:
        out.fail(Reason.LINKTYPE)


def _ethernet(data: bytes, off: int, wire: int, out: Fields, depth: int) -> None:
    """An Ethernet frame starting at ``off`` (inside GRE's transparent bridging)."""
    type_at, header = ETHERTYPE_LINKS[lt.ETHERNET]
    if len(data) < off + header:
        out.fail(Reason.TRUNCATED)
        return
    _ethertype(data, struct.unpack_from(">H", data, off + type_at)[0], off + header, wire, out,
               depth)


def _ethertype(data: bytes, etype: int, off: int, wire: int, out: Fields, depth: int) -> None:
    n = len(data)
    while etype in VLAN_TYPES:
        if n < off + 4:
            out.ethertype = etype
            out.fail(Reason.TRUNCATED)
            return
        etype = struct.unpack_from(">H", data, off + 2)[0]
        off += 4
    out.ethertype = etype
    if etype == ETH_IPV4:
        _ipv4(data, off, wire, out, depth)
    elif etype == ETH_IPV6:
        _ipv6(data, off, wire, out, depth)
    elif etype == ETH_PPPOE_SESSION:
        if n < off + 8:
            out.fail(Reason.TRUNCATED)
            return
        proto = struct.unpack_from(">H", data, off + 6)[0]
        _ppp_protocol(data, proto, off + 8, wire, out, depth)
    elif etype in ETH_MPLS:
        while True:
            if n < off + 4:
                out.fail(Reason.TRUNCATED)
                return
            bottom = data[off + 2] & 1
            off += 4
            if bottom:
                break
        version = data[off] >> 4 if n > off else 0
        if version == 4:
            _ipv4(data, off, wire, out, depth)
        elif version == 6:
            _ipv6(data, off, wire, out, depth)
        else:
            out.fail(Reason.NON_IP)
    else:
        out.fail(Reason.NON_IP)


def _ppp(data: bytes, off: int, wire: int, out: Fields, depth: int) -> None:
    if len(data) >= off + 2 and data[off] == 0xFF and data[off + 1] == 0x03:
        off += 2
    if len(data) < off + 1:
        out.fail(Reason.TRUNCATED)
        return
    if data[off] & 1:  # protocol field compression: one byte
        _ppp_protocol(data, data[off], off + 1, wire, out, depth)
    elif len(data) >= off + 2:
        _ppp_protocol(data, struct.unpack_from(">H", data, off)[0], off + 2, wire, out, depth)
    else:
        out.fail(Reason.TRUNCATED)


def _ppp_protocol(data: bytes, proto: int, off: int, wire: int, out: Fields, depth: int) -> None:
    if proto == PPP_IPV4:
        _ipv4(data, off, wire, out, depth)
    elif proto == PPP_IPV6:
        _ipv6(data, off, wire, out, depth)
    else:
        out.fail(Reason.NON_IP)


# -- IP -----------------------------------------------------------------------------------
@dataclass
class IpHeader:
    """An IPv4 or IPv6 header with its extension headers walked."""

    family: int
    src: int
    dst: int
    proto: int
    l4_off: int  # where the layer above starts
    l4_len: int  # how many bytes the IP header says it has
    fragment: Fragment | None = None


def parse_ip(data: bytes, off: int, wire: int, version: int) -> IpHeader | Reason:
    """The IP header at ``off`` (version 4 or 6), or why it cannot be used."""
    return _parse_ipv4(data, off, wire) if version == 4 else _parse_ipv6(data, off, wire)


def _parse_ipv4(data: bytes, off: int, wire: int) -> IpHeader | Reason:
    n = len(data)
    if n < off + 20:
        return Reason.TRUNCATED
    vihl, _tos, total, ident, frag, _ttl, proto = struct.unpack_from(">BBHHHBB", data, off)
    hlen = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or hlen < 20:
        return Reason.MALFORMED
    if n < off + hlen:
        return Reason.TRUNCATED
    if total == 0:  # TCP segmentation offload: the stack left the length to the NIC
        total = wire - off
    if total < hlen:
        return Reason.MALFORMED
    src, dst = struct.unpack_from(">II", data, off + 12)
    start, plen = off + hlen, total - hlen
    head = IpHeader(4, src, dst, proto, start, plen)
    more, frag_off = bool(frag & 0x2000), (frag & 0x1FFF) * 8
    if more or frag_off:
        first = b"" if frag_off else bytes(data[start : start + FRAGMENT_HEAD])
        head.fragment = Fragment(4, src, dst, ident, proto, frag_off, more, plen, first)
    return head


def _parse_ipv6(data: bytes, off: int, wire: int) -> IpHeader | Reason:
    n = len(data)
    if n < off + 40:
        return Reason.TRUNCATED
    if data[off] >> 4 != 6:
        return Reason.MALFORMED
    plen, nh = struct.unpack_from(">HB", data, off + 4)
    src_hi, src_lo, dst_hi, dst_lo = struct.unpack_from(">QQQQ", data, off + 8)
    head = IpHeader(6, (src_hi << 64) | src_lo, (dst_hi << 64) | dst_lo, nh, off + 40, plen)
    if plen == 0:  # jumbogram or offload: take what the frame says
        head.l4_len = wire - off - 40
    pos, left = head.l4_off, head.l4_len
    while True:
        if nh in IPV6_EXT_8 or nh == IPV6_AH:
            if n < pos + 2:
                return Reason.TRUNCATED
            size = (data[pos + 1] + 1) * 8 if nh != IPV6_AH else (data[pos + 1] + 2) * 4
            nh = data[pos]
            pos, left = pos + size, left - size
        elif nh == IPV6_FRAG:
            if n < pos + 8:
                return Reason.TRUNCATED
            nxt, _res, offm, ident = struct.unpack_from(">BBHI", data, pos)
            pos, left, nh = pos + 8, left - 8, nxt
            frag_off, more = (offm >> 3) * 8, bool(offm & 1)
            if frag_off or more:
                head.fragment = Fragment(6, head.src, head.dst, ident, nh, frag_off, more,
                                         max(left, 0),
                                         bytes(data[pos : pos + FRAGMENT_HEAD]) if not frag_off
                                         else b"")
                break
        else:
            break
        if left < 0:
            return Reason.MALFORMED
    head.proto, head.l4_off, head.l4_len = nh, pos, left
    return head


def _ipv4(data: bytes, off: int, wire: int, out: Fields, depth: int) -> None:
    _ip(data, off, wire, out, depth, 4)


def _ipv6(data: bytes, off: int, wire: int, out: Fields, depth: int) -> None:
    _ip(data, off, wire, out, depth, 6)


def _ip(data: bytes, off: int, wire: int, out: Fields, depth: int, version: int) -> None:
    head = parse_ip(data, off, wire, version)
    if isinstance(head, Reason):
        out.fail(head)
        return
    out.family, out.ip_proto, out.src, out.dst = head.family, head.proto, head.src, head.dst
    if head.fragment is not None:
        out.fragment = head.fragment
        out.fail(Reason.FRAGMENT)
        return
    _transport(data, head.l4_off, head.l4_len, wire, out, depth)


def _transport(data: bytes, off: int, plen: int, wire: int, out: Fields, depth: int) -> None:
    """The layer above IP, at ``off``, carrying ``plen`` bytes according to the IP header."""
    n = len(data)
    proto = out.ip_proto
    if proto == PROTO_TCP:
        if n < off + 20:
            out.fail(Reason.TRUNCATED)
            return
        sport, dport, seq, ack, offres, flags, win = struct.unpack_from(">HHIIBBH", data, off)
        hlen = (offres >> 4) * 4
        if hlen < 20:
            out.fail(Reason.MALFORMED)
            return
        out.kind = Kind.TCP
        out.sport, out.dport, out.seq, out.ack, out.win = sport, dport, seq, ack, win
        out.tcp_flags = ((offres & 1) << 8) | flags
        out.tcp_hlen = hlen
        out.payload_off = off + hlen
        out.payload_len = max(plen - hlen, 0)
    elif proto == PROTO_UDP:
        if n < off + 8:
            out.fail(Reason.TRUNCATED)
            return
        sport, dport, ulen = struct.unpack_from(">HHH", data, off)
        out.kind = Kind.UDP
        out.sport, out.dport = sport, dport
        out.payload_off = off + 8
        out.payload_len = ulen - 8 if 8 <= ulen <= plen else max(plen - 8, 0)
    elif (proto, out.family) in ((PROTO_ICMP, 4), (PROTO_ICMPV6, 6)):
        _icmp(data, off, plen, out)
    elif proto in TUNNEL_PROTOCOLS and depth < MAX_NESTING and _tunnel(data, off, wire, out, depth):
        return
    elif proto in (ported := ported_ip_protocols()):
        if n < off + 4:
            out.fail(Reason.TRUNCATED)
            return
        protocol = ported[proto]
        out.kind = protocol.kind
        out.sport, out.dport = struct.unpack_from(">HH", data, off)
        out.payload_off = off + protocol.transport_header
        out.payload_len = max(plen - protocol.transport_header, 0)
    else:
        out.kind = Kind.IP
        out.payload_off = off
        out.payload_len = max(plen, 0)


def _tunnel(data: bytes, off: int, wire: int, out: Fields, depth: int) -> bool:
    """Decode what an IP-in-IP or GRE packet carries into ``out`` if it is IP (Wireshark's
    TCP/UDP conversations are the inner ones); False leaves ``out`` as the outer packet."""
    inner = Fields(ethertype=out.ethertype)
    proto = out.ip_proto
    if proto == PROTO_IPIP:
        _ipv4(data, off, wire, inner, depth + 1)
    elif proto == PROTO_IPV6:
        _ipv6(data, off, wire, inner, depth + 1)
    elif not _gre(data, off, wire, inner, depth):
        return False
    if inner.family == 0:
        return False
    out.__dict__.update(inner.__dict__)
    return True


def _icmp(data: bytes, off: int, plen: int, out: Fields) -> None:
    if len(data) < off + 4:
        out.fail(Reason.TRUNCATED)
        return
    v4 = out.family == 4
    out.kind = Kind.ICMP if v4 else Kind.ICMPV6
    out.icmp_type, out.icmp_code = data[off], data[off + 1]
    if len(data) >= off + 8:
        out.icmp_id, out.icmp_seq = struct.unpack_from(">HH", data, off + 4)
    out.payload_off = off + 8
    out.payload_len = max(plen - 8, 0)
    if out.icmp_type in (ICMP4_ERRORS if v4 else ICMP6_ERRORS):
        out.quoted = quoted_header(data[off + 8 :], v4)


def transport_fields(header: bytes, family: int, src: int, dst: int, proto: int,
                     length: int) -> Fields:
    """Decode the transport header of a reassembled IP datagram (``length`` payload bytes, of
    which ``header`` holds the first few)."""
    out = Fields(family=family, src=src, dst=dst, ip_proto=proto)
    _transport(header, 0, length, length, out, 0)
    out.payload_off = -1  # the payload spans several frames
    return out


def quoted_header(data: bytes, v4: bool) -> Quoted | None:
    """The conversation key of the packet an ICMP error quotes (IP header + 8 bytes)."""
    head = parse_ip(data, 0, len(data), 4 if v4 else 6)
    if isinstance(head, Reason):
        return None
    kind = {6: Kind.TCP, 17: Kind.UDP}.get(head.proto, Kind.IP)
    sport = dport = 0
    if kind != Kind.IP:
        if (head.fragment is not None and head.fragment.offset) or len(data) < head.l4_off + 4:
            return None
        sport, dport = struct.unpack_from(">HH", data, head.l4_off)
    return Quoted(kind, head.family, head.src, head.dst, sport, dport)


def _gre(data: bytes, off: int, wire: int, out: Fields, depth: int) -> bool:
    """Follow GRE to the IP (or Ethernet, or PPTP's PPP) inside; False if it carries none."""
    n = len(data)
    if n < off + 4:
        return False
    flags, proto = struct.unpack_from(">HH", data, off)
    version = flags & 7
    size = 4 + 4 * (bool(flags & 0x8000) or bool(flags & 0x4000)) + 4 * bool(flags & 0x2000) \
        + 4 * bool(flags & 0x1000)
    if version == 1:  # enhanced GRE (PPTP): key always, acknowledgment optional
        size = 8 + 4 * bool(flags & 0x1000) + 4 * bool(flags & 0x0080)
    elif version != 0:
        return False
    inner = off + size
    if n < inner:
        return False
    if version == 0 and proto == ETH_IPV4:
        _ipv4(data, inner, wire, out, depth + 1)
    elif version == 0 and proto == ETH_IPV6:
        _ipv6(data, inner, wire, out, depth + 1)
    elif version == 0 and proto == ETH_TEB:
        _ethernet(data, inner, wire, out, depth + 1)
    elif version == 1 and proto == GRE_PPP and n > inner:
        _ppp(data, inner, wire, out, depth + 1)
    else:
        return False
    return True
