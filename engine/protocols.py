"""The protocol registry: every conversation family, described once.

A :class:`Protocol` says what the engine, the exporters, the filter language and the GUI need to
know about a family of conversations: its name (as JSON, CSV and the filter write it), its title
(as tables show it), the ``kind`` code its packets carry in ``PacketTable.kind``, other words a
user may type for it, and what the engine offers for it (a byte stream to follow, TCP states).
The IP families are registered here; plug-ins register theirs on import (Z-Wave does), taking a
fresh kind code with :func:`new_kind`.

Endpoint addresses are 128-bit values split in two uint64 halves plus a ``family`` code; an
:class:`AddressFamily` formats and parses them (IPv4, IPv6, and whatever plug-ins add).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from .packets import Kind

#: what the engine can show for a protocol's conversations (``Protocol.features``)
FOLLOW = "follow"  # a byte stream (Follow Stream, stream export)
TCP_STATES = "tcp-states"  # RFC 793 states per endpoint and the timeline


@dataclass(frozen=True)
class Protocol:
    """One conversation family."""

    name: str  # lower case: JSON "protocol", CSV, filter term
    title: str  # as tables and headers show it
    kind: int  # the PacketTable.kind code of its packets
    doc: str = ""
    aliases: tuple[str, ...] = ()  # other filter words for it ("z-wave", "icmp6")
    ports: bool = False  # endpoints have ports
    stream_field: str | None = None  # Wireshark's stream number field ("tcp.stream")
    features: frozenset[str] = field(default_factory=frozenset)
    #: carried directly in IP with this protocol number, source and destination ports in the
    #: first four bytes of a header of ``transport_header`` bytes (the decoders read them for
    #: any protocol registered so; TCP, UDP and ICMP have decoders of their own)
    ip_proto: int | None = None
    transport_header: int = 0


#: every registered protocol by name, in registration order
PROTOCOLS: dict[str, Protocol] = {}
_BY_KIND: dict[int, Protocol] = {}
_FIRST_PLUGIN_KIND = max(Kind) + 1


def register_protocol(protocol: Protocol) -> Protocol:
    """Add ``protocol`` (its name and kind must be new); returns it."""
    if protocol.name in PROTOCOLS or protocol.kind in _BY_KIND:
        raise ValueError(f"protocol {protocol.name!r} (kind {protocol.kind}) is registered")
    PROTOCOLS[protocol.name] = protocol
    _BY_KIND[protocol.kind] = protocol
    return protocol


def unregister_protocol(name: str) -> None:
    """Remove a plug-in's protocol (when the plug-in is unloaded)."""
    protocol = PROTOCOLS.pop(name, None)
    if protocol is not None:
        _BY_KIND.pop(protocol.kind, None)


def new_kind() -> int:
    """A kind code no registered protocol uses yet (for plug-ins; fits PacketTable's uint8)."""
    code = max([_FIRST_PLUGIN_KIND - 1, *_BY_KIND]) + 1
    if code > 255:
        raise ValueError("no kind codes left")
    return code


def ported_ip_protocols() -> dict[int, Protocol]:
    """Registered protocols carried in IP with ports, by IP protocol number."""
    return {p.ip_proto: p for p in PROTOCOLS.values() if p.ip_proto is not None}


def ip_kinds() -> tuple[int, ...]:
    """Kind codes of every IP-carried conversation family (the core ones and registered ones)."""
    return (Kind.TCP, Kind.UDP, Kind.ICMP, Kind.ICMPV6, Kind.IP,
            *(p.kind for p in ported_ip_protocols().values()))


def kinds_with_ports() -> tuple[int, ...]:
    return tuple(p.kind for p in PROTOCOLS.values() if p.ports)


def by_kind(kind: int) -> Protocol | None:
    return _BY_KIND.get(int(kind))


def lookup(word: str) -> Protocol | None:
    """The protocol a user means by ``word`` (its name or an alias, any case)."""
    word = word.lower()
    for p in PROTOCOLS.values():
        if word == p.name or word in p.aliases:
            return p
    return None


#: names for other IP protocols (``Kind.IP``), as Wireshark's protocol column shows them
IP_PROTOCOL_NAMES = {
    0: "hopopt", 2: "igmp", 4: "ipip", 8: "egp", 9: "igp", 41: "ipv6", 46: "rsvp", 47: "gre",
    50: "esp", 51: "ah", 59: "ipv6-nonxt", 88: "eigrp", 89: "ospf", 94: "ipip", 103: "pim",
    112: "vrrp", 115: "l2tp", 124: "isis", 132: "sctp", 136: "udplite", 137: "mpls-in-ip",
}


def protocol_name(kind: int, ip_proto: int) -> str:
    """A conversation's protocol name: the registered name, or for other IP protocols the IP
    protocol's name (``gre``, ``esp``, ``ip-proto-253``)."""
    if kind == Kind.IP:
        return IP_PROTOCOL_NAMES.get(ip_proto, f"ip-proto-{ip_proto}")
    p = _BY_KIND.get(int(kind))
    return p.name if p is not None else "unknown"


def protocol_title(name: str) -> str:
    """How tables show a protocol name (``TCP``, ``ICMPv6``, ``Z-Wave``, ``GRE``)."""
    p = PROTOCOLS.get(name)
    return p.title if p is not None else name.upper()


def known_protocol_names() -> frozenset[str]:
    """Every protocol word a filter may use: registered names, aliases, IP protocol names."""
    words = set(IP_PROTOCOL_NAMES.values())
    for p in PROTOCOLS.values():
        words.add(p.name)
        words.update(p.aliases)
    return frozenset(words)


# -- address families ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AddressFamily:
    """How endpoints of one ``family`` code read and write: ``format(hi, lo)`` gives the text
    tables show; ``parse(text)`` gives ``(hi, lo)`` for a filter term, or None."""

    code: int
    name: str
    format: Callable[[int, int], str]
    parse: Callable[[str], tuple[int, int] | None] | None = None


FAMILIES: dict[int, AddressFamily] = {}


def register_family(family: AddressFamily) -> AddressFamily:
    if family.code in FAMILIES:
        raise ValueError(f"address family {family.code} is registered")
    FAMILIES[family.code] = family
    return family


def unregister_family(code: int) -> None:
    FAMILIES.pop(code, None)


def format_address(family: int, hi: int, lo: int) -> str:
    """Canonical text of an endpoint address (IPv6 compressed, as Wireshark prints it)."""
    f = FAMILIES.get(int(family))
    return f.format(int(hi), int(lo)) if f is not None else f"{hi:x}:{lo:x}"


_U64 = (1 << 64) - 1


def _parse_ip(version: int) -> Callable[[str], tuple[int, int] | None]:
    def parse(text: str) -> tuple[int, int] | None:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return None
        if addr.version != version:
            return None
        return int(addr) >> 64, int(addr) & _U64
    return parse


register_family(AddressFamily(4, "IPv4", lambda hi, lo: str(ipaddress.IPv4Address(lo
                                                                                  & 0xFFFFFFFF)),
                              _parse_ip(4)))
register_family(AddressFamily(6, "IPv6", lambda hi, lo: str(ipaddress.IPv6Address(hi << 64 | lo)),
                              _parse_ip(6)))

# -- the IP families ----------------------------------------------------------------------------
TCP = register_protocol(Protocol(
    "tcp", "TCP", Kind.TCP, "Transmission Control Protocol", ports=True,
    stream_field="tcp.stream", features=frozenset({FOLLOW, TCP_STATES})))
UDP = register_protocol(Protocol(
    "udp", "UDP", Kind.UDP, "User Datagram Protocol", ports=True, stream_field="udp.stream",
    features=frozenset({FOLLOW})))
ICMP = register_protocol(Protocol("icmp", "ICMP", Kind.ICMP, "ICMP for IPv4"))
ICMPV6 = register_protocol(Protocol("icmpv6", "ICMPv6", Kind.ICMPV6, "ICMP for IPv6",
                                    aliases=("icmp6",)))
SCTP = register_protocol(Protocol(
    "sctp", "SCTP", new_kind(), "Stream Control Transmission Protocol (keyed by ports, as "
    "Wireshark's SCTP conversations)", ports=True, ip_proto=132, transport_header=12))
#: other IP protocols (Kind.IP) are not a registered family: each is named by IP_PROTOCOL_NAMES
