"""The exact per-packet decoder: every header Flowscope understands, one packet at a time.

The vectorised decoder handles the common shapes for all packets at once and sends the rest here
(tunnels, PPPoE, MPLS, long IPv6 header chains, fragments, ICMP errors), so nothing is dropped for
being unusual. It is also the readable reference the fast path is tested against.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..capture import linktypes as lt
from ..packets import PAYLOAD_REASSEMBLED, Kind, Reason
from ..protocols import ported_ip_protocols
from .layers import (
    CHDLC_ADDRESSES,
    ERSPAN_2_HEADER,
    ERSPAN_3_HEADER,
    ERSPAN_3_PLATFORM,
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_PPPOE_SESSION,
    ETH_TEB,
    ETHERTYPE_LINKS,
    GRE_ARUBA,
    GRE_ERSPAN,
    GRE_ERSPAN_3,
    GRE_PPP,
    ICMP4_ERRORS,
    ICMP6_ERRORS,
    ICMP_HEADER,
    IPV6_AH,
    IPV6_EXT_8,
    IPV6_FRAG,
    LLC_SNAP,
    LLC_SNAP_OUIS,
    NULL_HEADER,
    NULL_IPV4,
    NULL_IPV6,
    NULL_LINKS,
    PPI_HEADER,
    PPP_IPV4,
    PPP_IPV6,
    PPPOE_HEADER,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_IPIP,
    PROTO_IPV6,
    PROTO_TCP,
    PROTO_UDP,
    RADIOTAP_EXT,
    RADIOTAP_FLAG_FCS,
    RADIOTAP_FLAGS,
    RADIOTAP_TSFT,
    RAW_IP_LINKS,
    SHORT_HEADER,
    TCP_HEADER,
    TCP_STREAM_FIELDS,
    TUNNEL_PROTOCOLS,
    UDP_HEADER,
    VLAN_TYPES,
    WLAN_DATA,
    WLAN_FCS,
    WLAN_HEADER,
    WLAN_NO_DATA,
    WLAN_ORDER,
    WLAN_PROTECTED,
    WLAN_QOS,
    WLAN_TO_FROM_DS,
)
from .tunnels import INNER_ETHERNET, inner_start, tunnel_of

MAX_NESTING = 4  # tunnels inside tunnels before we stop looking
#: bytes kept from a datagram's first fragment: enough for any transport header Flowscope reads,
#: so a file full of fragments costs memory per fragment, not per fragment byte
FRAGMENT_HEAD = 96


@dataclass
class Fragment:
    """One IP fragment, kept until its datagram is complete (or the file ends).

    Its payload stays in the capture (``at`` says where in the frame); only the part of the
    datagram's first FRAGMENT_HEAD bytes it carries is copied, for the transport header.
    """

    family: int
    src: int
    dst: int
    ident: int
    proto: int
    offset: int  # byte offset of this piece in the datagram payload
    more: bool
    length: int  # bytes of datagram payload this fragment carries (from the IP length)
    head: bytes  # its bytes among the datagram payload's first FRAGMENT_HEAD (often none)
    at: int = 0  # where its payload starts in the frame
    #: all ``length`` bytes are in the capture: Wireshark reassembles only such fragments
    captured: bool = True


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
    #: the packet inside a UDP tunnel (VXLAN, Geneve, GTP-U) this packet carries, and which
    #: tunnel (``layers.TUNNEL_NAMES``; 0: none)
    inner: Fields | None = field(default=None, repr=False)
    tunnel: int = 0
    #: decoding the inside of a UDP tunnel: a tunnel in there is not opened (one inner level)
    in_tunnel: bool = field(default=False, repr=False)

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
def _link(data: bytes, linktype: int, wire: int, out: Fields, depth: int, off: int = 0) -> None:
    """The frame of ``linktype`` starting at ``off`` (0, or inside a PPI header)."""
    n = len(data)
    if linktype in ETHERTYPE_LINKS:
        type_at, header = ETHERTYPE_LINKS[linktype]
        if n < off + header:
            out.fail(Reason.TRUNCATED)
            return
        _ethertype(data, struct.unpack_from(">H", data, off + type_at)[0], off + header, wire,
                   out, depth)
    elif linktype in RAW_IP_LINKS:
        version = RAW_IP_LINKS[linktype]
        if version is None:
            if n < off + 1:
                out.fail(Reason.TRUNCATED)
                return
            version = data[off] >> 4
        if version == 4:
            _ipv4(data, off, wire, out, depth)
        elif version == 6:
            _ipv6(data, off, wire, out, depth)
        else:
            out.fail(Reason.MALFORMED)
    elif linktype in NULL_LINKS:
        if n < off + NULL_HEADER:
            out.fail(Reason.TRUNCATED)
            return
        le, be = struct.unpack_from("<I", data, off)[0], struct.unpack_from(">I", data, off)[0]
        family = be if linktype == lt.LOOP and be < 0x10000 else (le if le < 0x10000 else be)
        if family in NULL_IPV4:
            _ipv4(data, off + NULL_HEADER, wire, out, depth)
        elif family in NULL_IPV6:
            _ipv6(data, off + NULL_HEADER, wire, out, depth)
        else:
            out.ethertype = 0
            out.fail(Reason.NON_IP)
    elif linktype == lt.PPP:
        if n > off and data[off] in CHDLC_ADDRESSES:  # Cisco HDLC framing, not PPP's
            _link(data, lt.C_HDLC, wire, out, depth, off)
        else:
            _ppp(data, off, wire, out, depth)
    elif linktype == lt.PPI:
        if n < off + PPI_HEADER:
            out.fail(Reason.TRUNCATED)
            return
        size, inner = struct.unpack_from("<HI", data, off + 2)
        if size < PPI_HEADER or inner == lt.PPI:
            out.fail(Reason.MALFORMED)
            return
        _link(data, inner, wire, out, depth, off + size)
    elif linktype == lt.IEEE802_11:
        _wlan(data, off, wire, out, depth)
    elif linktype == lt.IEEE802_11_RADIOTAP:
        if n < off + 8:
            out.fail(Reason.TRUNCATED)
            return
        size = struct.unpack_from("<H", data, off + 2)[0]
        if size < 8:
            out.fail(Reason.MALFORMED)
            return
        if _radiotap_fcs(data, off, size):  # the frame's last 4 bytes are its FCS, not data
            cut = max(min(n, wire - WLAN_FCS), 0)
            data, wire = data[:cut], wire - WLAN_FCS
        _wlan(data, off + size, wire, out, depth)
    else:
        out.fail(Reason.LINKTYPE)


def _radiotap_fcs(data: bytes, off: int, size: int) -> bool:
    """Whether a radiotap header of ``size`` bytes at ``off`` says the frame ends in an FCS:
    its Flags field (present bit 1, after the present words and an 8-aligned TSFT) has 0x10."""
    at = off + 4
    present = struct.unpack_from("<I", data, at)[0]
    words = present
    while words & RADIOTAP_EXT and at + 8 <= min(off + size, len(data)):  # more words follow
        at += 4
        words = struct.unpack_from("<I", data, at)[0]
    at += 4
    if not present & RADIOTAP_FLAGS:
        return False
    if present & RADIOTAP_TSFT:
        at = off + ((at - off + 7) & ~7) + 8
    return at < off + size and at < len(data) and bool(data[at] & RADIOTAP_FLAG_FCS)


def _wlan(data: bytes, off: int, wire: int, out: Fields, depth: int) -> None:
    """An 802.11 frame at ``off``: data frames that are not encrypted carry LLC/SNAP and an
    EtherType; everything else (management, control, protected frames) is not IP."""
    n = len(data)
    if n < off + WLAN_HEADER:
        out.fail(Reason.TRUNCATED)
        return
    fc0, fc1 = data[off], data[off + 1]
    subtype = fc0 >> 4
    if (fc0 >> 2) & 3 != WLAN_DATA or subtype & WLAN_NO_DATA or fc1 & WLAN_PROTECTED:
        out.ethertype = 0
        out.fail(Reason.NON_IP)
        return
    size = WLAN_HEADER + (6 if fc1 & WLAN_TO_FROM_DS == WLAN_TO_FROM_DS else 0)
    if subtype & WLAN_QOS:
        size += 2 + (4 if fc1 & WLAN_ORDER else 0)
    start = off + size
    if n < start + LLC_SNAP:
        out.fail(Reason.TRUNCATED)
        return
    if bytes(data[start : start + 6]) not in LLC_SNAP_OUIS:
        out.ethertype = 0
        out.fail(Reason.NON_IP)
        return
    _ethertype(data, struct.unpack_from(">H", data, start + 6)[0], start + LLC_SNAP, wire, out,
               depth)


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
        _ppp_field(data, off + PPPOE_HEADER, wire, out, depth)
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
    _ppp_field(data, off, wire, out, depth)


def _ppp_field(data: bytes, off: int, wire: int, out: Fields, depth: int) -> None:
    """The PPP protocol field at ``off`` (one byte when compressed: its low bit is set) and
    what follows it (in PPP frames and PPPoE sessions alike)."""
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
        captured = plen > 0 and n >= start + plen
        if not captured and not frag_off:
            # Wireshark reassembles only fragments it has whole; a first fragment it cannot
            # add (cut by the snap length, or claiming more than the frame) is dissected on its
            # own, its transport header read from the frame (checked with tshark 4.0.17)
            return head
        head.fragment = _fragment(data, 4, src, dst, ident, proto, frag_off, more, plen, start,
                                  captured)
    return head


def _fragment(data: bytes, family: int, src: int, dst: int, ident: int, proto: int,
              frag_off: int, more: bool, plen: int, start: int, captured: bool) -> Fragment:
    """A fragment, with its bytes among the datagram's first FRAGMENT_HEAD (never past the IP
    length: what follows it in the frame is padding or a trailer)."""
    keep = min(plen, FRAGMENT_HEAD - frag_off) if captured else 0
    head = bytes(data[start : start + keep]) if keep > 0 else b""
    return Fragment(family, src, dst, ident, proto, frag_off, more, plen, head, start, captured)


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
                # a fragment Wireshark cannot reassemble (not all captured) is never dissected
                # further, not even the first one (unlike IPv4; checked with tshark 4.0.17)
                plen = max(left, 0)
                head.fragment = _fragment(data, 6, head.src, head.dst, ident, nh, frag_off,
                                          more, plen, pos, plen > 0 and n >= pos + plen)
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
        if _short(out, n - off, plen, TCP_STREAM_FIELDS):
            return
        sport, dport, seq, ack, offres, flags, win = struct.unpack_from(">HHIIBBH", data, off)
        hlen = (offres >> 4) * 4
        out.sport, out.dport, out.seq, out.ack, out.win = sport, dport, seq, ack, win
        out.tcp_flags = ((offres & 1) << 8) | flags
        out.tcp_hlen = hlen
        if hlen < TCP_HEADER or hlen > min(n - off, plen):
            out.fail(Reason.TCP_HEADER)  # a tcp.stream, but no conversation packet
            return
        out.kind = Kind.TCP
        out.payload_off = off + hlen
        out.payload_len = plen - hlen
    elif proto == PROTO_UDP:
        if _short(out, n - off, plen, UDP_HEADER):
            return
        sport, dport, ulen = struct.unpack_from(">HHH", data, off)
        if ulen < UDP_HEADER and not (ulen == 0 and out.family == 6):
            out.fail(Reason.MALFORMED)  # Wireshark: "bad length value", no udp.stream
            return
        out.kind = Kind.UDP
        out.sport, out.dport = sport, dport
        out.payload_off = off + 8
        out.payload_len = ulen - 8 if 8 <= ulen <= plen else plen - 8
        tunnel = tunnel_of(sport, dport)
        if tunnel and not out.in_tunnel:
            _udp_tunnel(data[: off + 8 + out.payload_len], off + 8, wire, out, tunnel)
    elif (proto, out.family) in ((PROTO_ICMP, 4), (PROTO_ICMPV6, 6)):
        _icmp(data, off, plen, out)
    elif proto in TUNNEL_PROTOCOLS and depth < MAX_NESTING and _tunnel(data, off, wire, out, depth):
        return
    elif proto in (ported := ported_ip_protocols()):
        if _short(out, n - off, plen, SHORT_HEADER):
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
    inner = Fields(ethertype=out.ethertype, in_tunnel=out.in_tunnel)
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


def _short(out: Fields, captured: int, plen: int, need: int) -> bool:
    """Fewer than ``need`` transport header bytes: ``out`` fails as malformed when the IP length
    leaves no room for them, as truncated when the capture cut them (True then)."""
    if min(captured, plen) >= need:
        return False
    out.fail(Reason.MALFORMED if plen < need else Reason.TRUNCATED)
    return True


def _udp_tunnel(data: bytes, start: int, wire: int, out: Fields, tunnel: int) -> None:
    """The packet inside the tunnel whose payload is ``data[start:]`` (``data`` ends where the
    UDP payload ends) into ``out.inner``, if it is one a conversation can hold."""
    where = inner_start(data, start, len(data), tunnel)
    if where is None:
        return
    kind, at = where
    inner = Fields(in_tunnel=True)
    if kind == INNER_ETHERNET:
        _ethernet(data, at, wire, inner, 0)
    elif len(data) > at and data[at] >> 4 in (4, 6):
        _ip(data, at, wire, inner, 0, data[at] >> 4)
    else:
        return
    if inner.kind != Kind.UNASSIGNED or inner.reason == Reason.TCP_HEADER:
        out.inner, out.tunnel = inner, tunnel


def _icmp(data: bytes, off: int, plen: int, out: Fields) -> None:
    if _short(out, len(data) - off, plen, SHORT_HEADER):
        return
    v4 = out.family == 4
    out.kind = Kind.ICMP if v4 else Kind.ICMPV6
    out.icmp_type, out.icmp_code = data[off], data[off + 1]
    if min(len(data) - off, plen) >= ICMP_HEADER:
        out.icmp_id, out.icmp_seq = struct.unpack_from(">HH", data, off + 4)
    out.payload_off = off + 8
    out.payload_len = max(plen - 8, 0)
    if out.icmp_type in (ICMP4_ERRORS if v4 else ICMP6_ERRORS):
        out.quoted = quoted_header(data[off + 8 :], v4)


def transport_fields(header: bytes, family: int, src: int, dst: int, proto: int,
                     length: int) -> tuple[Fields, int]:
    """Decode the transport header of a reassembled IP datagram (``length`` payload bytes, of
    which ``header`` holds the first few). Returns the fields (``payload_off`` is
    PAYLOAD_REASSEMBLED: the payload spans several frames) and where the transport payload
    starts in the datagram's payload (-1: none)."""
    out = Fields(family=family, src=src, dst=dst, ip_proto=proto)
    _transport(header, 0, length, length, out, 0)
    start = out.payload_off
    out.payload_off = PAYLOAD_REASSEMBLED if start >= 0 else -1
    return out, start


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
    elif version == 0 and proto == GRE_ERSPAN:  # type II has a header, type I none
        _ethernet(data, inner + (ERSPAN_2_HEADER if flags & 0x1000 else 0), wire, out,
                  depth + 1)
    elif version == 0 and proto == GRE_ERSPAN_3:
        if n < inner + ERSPAN_3_HEADER:
            return False
        bits = struct.unpack_from(">H", data, inner + 10)[0]  # P, frame type, hw id, D, Gra, O
        if (bits >> 10) & 0x1F:  # frame type 0 is Ethernet
            return False
        _ethernet(data, inner + ERSPAN_3_HEADER + (ERSPAN_3_PLATFORM if bits & 1 else 0), wire,
                  out, depth + 1)
    elif version == 0 and proto in GRE_ARUBA:
        _wlan(data, inner, wire, out, depth + 1)
    elif version == 1 and proto == GRE_PPP and n > inner:
        _ppp(data, inner, wire, out, depth + 1)
    else:
        return False
    return True
