"""TCP: per-endpoint RFC 793 states, Zeek-style summaries, and the reassembled byte streams.

At load, every TCP conversation gets summary columns (``analysis``). Views ask for the rest::

    from engine.tcp import tcp_timeline, reassemble, find_tcp_stream
    timeline = tcp_timeline(result, row)          # [(ts_ns, packet, endpoint, state), ...]
    with reassemble(result, find_tcp_stream(result, 0)) as stream:
        stream.data(0), stream.data(1)            # A→B and B→A bytes, as Wireshark's Follow
        stream.chunks, stream.gaps                # who sent what when; what is missing
"""

from __future__ import annotations

from .state import TcpState
from .stream import Chunks, DirectionCounters, Gap, TcpStream, find_tcp_stream, reassemble
from .timeline import Endpoint, StateChange, Timeline, tcp_timeline

__all__ = [
    "Chunks",
    "DirectionCounters",
    "Endpoint",
    "Gap",
    "StateChange",
    "TcpState",
    "TcpStream",
    "Timeline",
    "find_tcp_stream",
    "reassemble",
    "tcp_timeline",
]
