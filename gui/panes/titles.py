"""Short texts that name a conversation and its endpoints in the detail panes, with the user's
numbers (the protocol and Wireshark's stream number, as the table shows them), never the
engine's row ids."""

from __future__ import annotations

from engine.protocols import protocol_name, protocol_title
from engine.result import FlowResult
from engine.table import Conversation


def conversation_protocol(result: FlowResult, conversation: int) -> str:
    """The registry name of a conversation's protocol (``tcp``, ``zwave``, ``gre``)."""
    t = result.conversations
    return protocol_name(int(t.kind[conversation]), int(t.ip_proto[conversation]))


def endpoint(conv: Conversation, side: str) -> str:
    """``10.0.0.1:80``, ``[2001:db8::1]:443``, ``C4A815CD/6``; ``side`` is "A" or "B"."""
    address, port = conv.a if side == "A" else conv.b
    if port is None:
        return address
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def name(result: FlowResult, conversation: int) -> str:
    """``TCP stream 2``; ``ICMP 10.0.0.1 ↔ 10.0.0.2`` for protocols without stream numbers."""
    conv = result.conversations[conversation]
    proto = protocol_title(conv.protocol)
    stream = int(result.conversations.stream[conversation])
    if stream >= 0:
        return f"{proto} stream {stream}"
    return f"{proto} {endpoint(conv, 'A')} ↔ {endpoint(conv, 'B')}"


def title(result: FlowResult, conversation: int) -> str:
    """``TCP 10.0.0.1:51234 ↔ 10.0.0.2:80 (stream 7)``."""
    conv = result.conversations[conversation]
    stream = int(result.conversations.stream[conversation])
    text = f"{protocol_title(conv.protocol)} {endpoint(conv, 'A')} ↔ {endpoint(conv, 'B')}"
    return f"{text} (stream {stream})" if stream >= 0 else text


def packet_time(seconds: float) -> str:
    """Seconds since the conversation began, to the microsecond."""
    return f"{seconds:.6f} s"
