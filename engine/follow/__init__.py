"""Follow: the bytes of a conversation as Wireshark's Follow Stream shows them.

- :mod:`.model` — :class:`FollowStream` (both directions' bytes, chunks in emission order,
  turns, gaps), shared by every protocol that has a byte stream;
- :mod:`.store` — append-only byte stores that spill to disk past a memory budget;
- :mod:`.tcp_plan` — which captured bytes make up each TCP direction (Wireshark's rules);
- :mod:`.tcp` — TCP reassembly into a FollowStream; :mod:`.udp` — UDP datagrams as one;
- :mod:`.conversation` — the stream of any conversation (a table row), whole or a preview.

Exports of a stream (raw, hex, ASCII, C arrays, YAML) are in ``engine.export.follow``.
"""

from __future__ import annotations

from .conversation import conversation_stream, has_stream, no_stream_reason
from .model import Chunks, DirectionCounters, FollowStream, Gap, Turns
from .tcp import find_tcp_stream, reassemble
from .udp import datagram_stream

__all__ = [
    "Chunks",
    "DirectionCounters",
    "FollowStream",
    "Gap",
    "Turns",
    "conversation_stream",
    "datagram_stream",
    "find_tcp_stream",
    "has_stream",
    "no_stream_reason",
    "reassemble",
]
