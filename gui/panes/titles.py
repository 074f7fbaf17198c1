"""Short texts that name a conversation and its endpoints in the detail panes."""

from __future__ import annotations

from engine.result import FlowResult
from engine.table import Conversation
from gui.table.data import protocol_title


def endpoint(conv: Conversation, side: str) -> str:
    """``10.0.0.1:80``, ``[2001:db8::1]:443``, ``C4A815CD/6``; ``side`` is "A" or "B"."""
    address, port = conv.a if side == "A" else conv.b
    if port is None:
        return address
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def title(result: FlowResult, conversation: int) -> str:
    """``TCP 10.0.0.1:51234 ↔ 10.0.0.2:80 (conversation 7)``."""
    conv = result.conversations[conversation]
    return (f"{protocol_title(conv.protocol)} {endpoint(conv, 'A')} ↔ {endpoint(conv, 'B')} "
            f"(conversation {conversation})")


def packet_time(seconds: float) -> str:
    """Seconds since the conversation began, to the microsecond."""
    return f"{seconds:.6f} s"
