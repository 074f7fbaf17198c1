"""Protocol numbers and header geometry, named once for both decoders.

The vectorised decoder (:mod:`.fast`) turns these into lookup tables over whole chunks; the
exact decoder (:mod:`.exact`) tests them packet by packet. A new link type or encapsulation
starts here.
"""

from __future__ import annotations

from ..capture import linktypes as lt

# -- link layers --------------------------------------------------------------------------------
#: link types whose header ends in an EtherType: (EtherType offset, header length)
ETHERTYPE_LINKS = {
    lt.ETHERNET: (12, 14),
    lt.LINUX_SLL: (14, 16),
    lt.LINUX_SLL2: (0, 20),
    lt.C_HDLC: (2, 4),  # Cisco HDLC: address (0x0F unicast, 0x8F broadcast), control, EtherType
}
#: link types that start with the IP header: the IP version they imply (None: read it)
RAW_IP_LINKS: dict[int, int | None] = {
    lt.RAW: None, lt.RAW_OLD: None, lt.RAW_OLD_OPENBSD: None, lt.IPV4: 4, lt.IPV6: 6,
}
#: BSD loopback: a 4-byte address family (host byte order for NULL, network order for LOOP)
NULL_LINKS = (lt.NULL, lt.LOOP)
NULL_HEADER = 4
NULL_IPV4 = frozenset((2,))
NULL_IPV6 = frozenset((10, 24, 28, 30))  # Linux, BSDs, FreeBSD, Darwin

#: the PPP link type carrying Cisco HDLC framing instead: its first byte is a Cisco HDLC address
#: (Wireshark's PPP dissector hands such frames to Cisco HDLC)
CHDLC_ADDRESSES = frozenset((0x0F, 0x8F))
#: PPI: version, flags, header length (u16, little endian), the link type inside (u32, LE)
PPI_HEADER = 8
#: 802.11 links: the frames themselves, and radiotap (a header whose length is at byte 2, LE)
WLAN_LINKS = frozenset((lt.IEEE802_11, lt.IEEE802_11_RADIOTAP))
#: link types decoded only by the exact decoder (their headers vary in length)
EXACT_LINKS = frozenset((lt.PPP, lt.PPI, *WLAN_LINKS))

# -- 802.11 data frames (Wi-Fi; also inside Aruba's GRE) -----------------------------------------
WLAN_HEADER = 24  # frame control, duration, three addresses, sequence control
WLAN_DATA = 2  # frame type "data" (bits 2-3 of the first frame control byte)
WLAN_QOS, WLAN_NO_DATA = 0x8, 0x4  # subtype bits: QoS control follows; no frame body
WLAN_TO_FROM_DS, WLAN_PROTECTED, WLAN_ORDER = 0x03, 0x40, 0x80  # second frame control byte
#: LLC/SNAP before the EtherType: DSAP, SSAP, control, then an RFC 1042 or 802.1H OUI
LLC_SNAP_OUIS = (b"\xaa\xaa\x03\x00\x00\x00", b"\xaa\xaa\x03\x00\x00\xf8")
LLC_SNAP = 8
WLAN_FCS = 4  # frame check sequence at the end of the frame, when radiotap says it is there
#: radiotap's present bits: TSFT (8 bytes, 8-aligned), Flags (1 byte), another word follows
RADIOTAP_TSFT, RADIOTAP_FLAGS, RADIOTAP_EXT = 1 << 0, 1 << 1, 1 << 31
RADIOTAP_FLAG_FCS = 0x10

# -- EtherTypes ---------------------------------------------------------------------------------
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))  # 802.1Q, 802.1ad, old QinQ
MAX_VLAN_TAGS = 3  # tags the fast path follows before handing a packet to the exact path
ETH_PPPOE_SESSION = 0x8864
ETH_MPLS = frozenset((0x8847, 0x8848))
ETH_TEB = 0x6558  # transparent Ethernet bridging (Ethernet inside GRE)
#: EtherTypes the fast path hands to the exact decoder
SLOW_ETHERTYPES = frozenset((ETH_PPPOE_SESSION, *ETH_MPLS))

# -- PPP and GRE --------------------------------------------------------------------------------
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
PPPOE_HEADER = 6  # version/type, code, session id, length; the PPP protocol field follows
GRE_PPP = 0x880B
#: ERSPAN: type I (no GRE sequence number: Ethernet at once) and II (an 8-byte header) share
#: one GRE protocol; type III has a 12-byte header, plus 8 bytes when its O bit is set
GRE_ERSPAN, GRE_ERSPAN_3 = 0x88BE, 0x22EB
ERSPAN_2_HEADER, ERSPAN_3_HEADER, ERSPAN_3_PLATFORM = 8, 12, 8
#: Aruba's access point tunnels: 802.11 frames in GRE (the protocols Wireshark gives to "wlan")
GRE_ARUBA = frozenset(range(0x8200, 0x8371, 0x10))

# -- UDP tunnels: Wireshark lists the outer UDP and the inner conversations -----------------------
VXLAN, GENEVE, GTP_U = 1, 2, 3  # encapsulation codes
TUNNEL_NAMES = {VXLAN: "vxlan", GENEVE: "geneve", GTP_U: "gtp-u"}
#: the UDP port each is registered on (either port of a datagram may carry it)
UDP_TUNNEL_PORTS = {4789: VXLAN, 6081: GENEVE, 2152: GTP_U}
VXLAN_HEADER = 8  # flags, reserved, VNI: Ethernet follows
GENEVE_HEADER = 8  # version and option length (4-byte words), flags, protocol type, VNI
GTP_HEADER, GTP_OPTIONAL = 8, 4  # flags, type, length, TEID; sequence/N-PDU/next extension
GTP_VERSION_1, GTP_PT, GTP_OPTIONS = 0x20, 0x10, 0x07  # the flags byte: version 1, GTP, E|S|PN
GTP_T_PDU = 0xFF  # the message type that carries a user's packet

# -- IP -----------------------------------------------------------------------------------------
IPV4_HEADER = 20
IPV6_HEADER = 40
PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6 = 1, 6, 17, 58
PROTO_IPIP, PROTO_IPV6, PROTO_GRE = 4, 41, 47
#: IP protocols that carry IP: followed to the packet inside
TUNNEL_PROTOCOLS = frozenset((PROTO_IPIP, PROTO_IPV6, PROTO_GRE))
IPV6_EXT_8 = frozenset((0, 43, 60, 135, 139, 140))  # length in 8-byte units, not counting 8
IPV6_FRAG, IPV6_AH = 44, 51
#: every IPv6 next-header value the fast path leaves to the exact decoder's header walk
IPV6_EXTENSIONS = IPV6_EXT_8 | {IPV6_FRAG, IPV6_AH}

# -- transport ----------------------------------------------------------------------------------
TCP_HEADER = 20
#: bytes of a TCP header Wireshark reads before it looks up (or creates) the conversation: ports,
#: sequence and acknowledgement numbers, data offset, flags and window. A header with these but
#: rejected later (data offset below 20, header longer than the packet) still uses a tcp.stream.
TCP_STREAM_FIELDS = 16
UDP_HEADER = 8
#: the first bytes of ICMP and of IP protocols with ports that a conversation needs
SHORT_HEADER = 4
ICMP_HEADER = 8
ICMP4_ERRORS = frozenset((3, 4, 5, 11, 12))
ICMP6_ERRORS = frozenset((1, 2, 3, 4))
ICMP4_ECHO = frozenset((0, 8))
ICMP6_ECHO = frozenset((128, 129))
