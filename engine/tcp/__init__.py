"""TCP: per-endpoint RFC 793 states, Zeek-style summaries, and the reassembled byte streams.

At load, every TCP conversation gets summary columns (``analysis``). Views ask for the rest::

    from engine.tcp import tcp_timeline, reassemble, find_tcp_stream
    timeline = tcp_timeline(result, row)          # [(ts_ns, packet, endpoint, state), ...]
    with reassemble(result, find_tcp_stream(result, 0)) as stream:
        stream.data(0), stream.data(1)            # A→B and B→A bytes, as Wireshark's Follow
        stream.chunks, stream.gaps                # who sent what when; what is missing
"""

from __future__ import annotations

import importlib
from typing import Any

# The views' modules load on first use: a headless conversation list needs only the summary.
_WHERE = {
    "TcpState": "state", "Chunks": "stream", "DirectionCounters": "stream", "Gap": "stream",
    "TcpStream": "stream", "find_tcp_stream": "stream", "reassemble": "stream",
    "Endpoint": "timeline", "StateChange": "timeline", "Timeline": "timeline",
    "tcp_timeline": "timeline",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'engine.tcp' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)

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
