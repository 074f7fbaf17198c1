"""Decoding captured frames into the per-packet columns.

- :mod:`.layers` — protocol numbers and header geometry, named once;
- :mod:`.fast` — the vectorised decoder: whole chunks at once with numpy;
- :mod:`.exact` — one packet at a time, for every shape the fast path hands over (tunnels,
  PPPoE, MPLS, IPv6 extension headers, fragments, ICMP errors); also the fast path's reference;
- :mod:`.fragments` — which frame completes each fragmented IP datagram.
"""
