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
GRE_PPP = 0x880B

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
UDP_HEADER = 8
ICMP_HEADER = 8
ICMP4_ERRORS = frozenset((3, 4, 5, 11, 12))
ICMP6_ERRORS = frozenset((1, 2, 3, 4))
ICMP4_ECHO = frozenset((0, 8))
ICMP6_ECHO = frozenset((128, 129))
