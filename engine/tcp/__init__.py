"""TCP: per-endpoint RFC 793 states, Zeek-style summaries, segment bookkeeping.

At load, every TCP conversation gets summary columns (:mod:`.analysis`). The state timeline of
one connection is computed when a view asks::

    from engine.tcp import tcp_timeline
    timeline = tcp_timeline(result, row)          # [(ts_ns, packet, endpoint, state), ...]

The reassembled byte stream (Wireshark's Follow) is :mod:`engine.follow`'s business.
"""

from __future__ import annotations

import importlib
from typing import Any

# The views' modules load on first use: a headless conversation list needs only the summary.
_WHERE = {
    "TcpState": "state", "Endpoint": "timeline", "StateChange": "timeline",
    "Timeline": "timeline", "tcp_timeline": "timeline",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'engine.tcp' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)

__all__ = ["Endpoint", "StateChange", "TcpState", "Timeline", "tcp_timeline"]
