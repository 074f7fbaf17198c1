"""UDP tunnel headers (VXLAN, Geneve, GTP-U): where the packet inside starts, and what it is.

Wireshark shows a tunnelled packet twice — the outer UDP datagram and the packet inside — so the
decoders keep both: the frame's own row describes the outer UDP datagram, and a row of
:class:`engine.packets.InnerPackets` the packet inside. This module only reads the tunnel
headers: :func:`inner_start` for one packet (the exact decoder), :func:`inner_starts` for many at
once (the vectorised decoder), with the same answers.
"""

from __future__ import annotations

import struct

import numpy as np

from .layers import (
    ETH_IPV4,
    ETH_IPV6,
    ETH_TEB,
    GENEVE,
    GENEVE_HEADER,
    GTP_HEADER,
    GTP_OPTIONAL,
    GTP_OPTIONS,
    GTP_PT,
    GTP_T_PDU,
    GTP_U,
    GTP_VERSION_1,
    UDP_TUNNEL_PORTS,
    VXLAN,
    VXLAN_HEADER,
)

#: what a tunnel carries: an Ethernet frame or an IP packet (0: nothing Flowscope decodes)
INNER_ETHERNET, INNER_IP = 1, 2
#: payload bytes :func:`inner_starts` looks at (longer headers go to the exact decoder)
HEAD = GTP_HEADER + GTP_OPTIONAL
_GTP_EXTENSION = 0x04  # the E flag: extension headers follow the optional fields
_GTP_FLAGS = 0xF0  # version (3 bits) and protocol type: GTP version 1, not GTP'

_PORTS = np.zeros(1 << 16, dtype=np.uint8)
for _port, _tunnel in UDP_TUNNEL_PORTS.items():
    _PORTS[_port] = _tunnel


def tunnel_of(sport: int, dport: int) -> int:
    """The tunnel a UDP datagram's ports say it carries (0: none). Like Wireshark, the lower
    port is tried first."""
    low, high = min(sport, dport), max(sport, dport)
    return UDP_TUNNEL_PORTS.get(low) or UDP_TUNNEL_PORTS.get(high, 0)


def tunnels_of(sport: np.ndarray, dport: np.ndarray) -> np.ndarray:
    """:func:`tunnel_of` for many datagrams."""
    low = _PORTS[np.minimum(sport, dport)]
    return np.where(low > 0, low, _PORTS[np.maximum(sport, dport)])


def inner_start(data: bytes, start: int, end: int, tunnel: int) -> tuple[int, int] | None:
    """(INNER_ETHERNET or INNER_IP, where it starts) for the tunnel payload ``data[start:end]``;
    None when the header is cut short or says it carries something else."""
    if tunnel == VXLAN:
        return (INNER_ETHERNET, start + VXLAN_HEADER) if end >= start + VXLAN_HEADER else None
    if tunnel == GENEVE:
        if end < start + GENEVE_HEADER or data[start] >> 6:  # version 0 only
            return None
        at = start + GENEVE_HEADER + (data[start] & 0x3F) * 4
        proto = struct.unpack_from(">H", data, start + 2)[0]
        if proto == ETH_TEB:
            return INNER_ETHERNET, at
        return (INNER_IP, at) if proto in (ETH_IPV4, ETH_IPV6) else None
    if tunnel == GTP_U:
        if end < start + GTP_HEADER:
            return None
        flags = data[start]
        if flags & _GTP_FLAGS != (GTP_VERSION_1 | GTP_PT) or data[start + 1] != GTP_T_PDU:
            return None
        at = start + GTP_HEADER
        if flags & GTP_OPTIONS:
            at += GTP_OPTIONAL
            if end < at:
                return None
            following = data[at - 1] if flags & _GTP_EXTENSION else 0
            while following:  # extension headers: a length in 4-byte words, the next type last
                if end <= at or data[at] == 0 or end < at + data[at] * 4:
                    return None
                size = data[at] * 4
                following = data[at + size - 1]
                at += size
        return INNER_IP, at
    return None


def inner_starts(head: np.ndarray, avail: np.ndarray, tunnel: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`inner_start` for many payloads at once: ``head`` holds their first HEAD bytes
    (rows), ``avail`` how many of them are payload. Returns the inner kind (0: none), where it
    starts (relative to the payload), and which rows need the exact decoder (GTP extension
    headers)."""
    n = tunnel.size
    kind = np.zeros(n, dtype=np.uint8)
    at = np.zeros(n, dtype=np.int64)
    exact = np.zeros(n, dtype=bool)

    vxlan = (tunnel == VXLAN) & (avail >= VXLAN_HEADER)
    kind[vxlan] = INNER_ETHERNET
    at[vxlan] = VXLAN_HEADER

    first = head[:, 0]
    proto = (head[:, 2].astype(np.uint16) << 8) | head[:, 3]
    geneve = (tunnel == GENEVE) & (avail >= GENEVE_HEADER) & ((first >> 6) == 0)
    at_g = GENEVE_HEADER + (first & 0x3F).astype(np.int64) * 4
    eth = geneve & (proto == ETH_TEB)
    ip = geneve & ((proto == ETH_IPV4) | (proto == ETH_IPV6))
    kind[eth] = INNER_ETHERNET
    kind[ip] = INNER_IP
    at[eth | ip] = at_g[eth | ip]

    gtp = ((tunnel == GTP_U) & (avail >= GTP_HEADER) & (head[:, 1] == GTP_T_PDU)
           & ((first & _GTP_FLAGS) == (GTP_VERSION_1 | GTP_PT)))
    options = (first & GTP_OPTIONS) != 0
    extension = (first & _GTP_EXTENSION) != 0
    plain = gtp & ~options
    optional = gtp & options & ~extension & (avail >= GTP_HEADER + GTP_OPTIONAL)
    kind[plain | optional] = INNER_IP
    at[plain] = GTP_HEADER
    at[optional] = GTP_HEADER + GTP_OPTIONAL
    # extension headers may follow (the E flag, with a next type): the exact decoder walks them
    exact[gtp & options & extension] = True
    return kind, at, exact
