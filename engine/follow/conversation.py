"""The byte stream of any conversation that has one, whole or as a quick preview of its start.

TCP conversations are reassembled as Wireshark's Follow does (:mod:`.tcp`); UDP conversations
give their datagrams in order (:mod:`.udp`). Both come back as a
:class:`~engine.follow.model.FollowStream`, so views and Follow exports treat them alike.
Which protocols have a stream is the protocol registry's ``FOLLOW`` feature.

A preview (``first_packets=N``) follows only the conversation's first N packets. Follow emits
bytes in packet order and holds back only what cannot be placed yet, so the preview's chunks are
the first chunks of the whole stream: a view can show its first screen long before a stream of
hundreds of thousands of packets is reassembled. (It may miss bytes still held at packet N; the
whole stream replaces it.)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..capture import CancelFn
from ..errors import ConversationNotFound
from ..packets import Kind, PacketTable
from ..protocols import FOLLOW, PROTOCOLS, by_kind, protocol_name, protocol_title
from ..result import FlowResult
from ..table import COLUMN_NAMES
from .model import FollowStream, StreamProgressFn
from .tcp import reassemble
from .udp import datagram_stream


def has_stream(result: FlowResult, conversation: int) -> bool:
    table = result.conversations
    if not 0 <= conversation < len(table):
        return False
    protocol = by_kind(int(table.kind[conversation]))
    return protocol is not None and FOLLOW in protocol.features


def no_stream_reason(result: FlowResult, conversation: int) -> str:
    """Why a conversation shows no stream, as a sentence (empty if it has one)."""
    table = result.conversations
    if not 0 <= conversation < len(table):
        return f"There is no conversation {conversation} in this capture."
    if has_stream(result, conversation):
        return ""
    name = protocol_name(int(table.kind[conversation]), int(table.ip_proto[conversation]))
    having = " and ".join(p.title for p in PROTOCOLS.values() if FOLLOW in p.features)
    return f"Streams are shown for {having} conversations; this one is {protocol_title(name)}."


def conversation_stream(result: FlowResult, conversation: int, cancel: CancelFn | None = None,
                        progress: StreamProgressFn | None = None,
                        first_packets: int | None = None) -> FollowStream:
    """The stream of a TCP or UDP conversation (a table row); close it when done."""
    if not has_stream(result, conversation):
        raise ConversationNotFound(no_stream_reason(result, conversation))
    kind = int(result.conversations.kind[conversation])
    packets = None
    if first_packets is not None:
        packets = result.packets_of(conversation)[:max(first_packets, 0)]
    if kind == Kind.UDP:
        return datagram_stream(result, conversation, cancel, progress, packets)
    if packets is None:
        return reassemble(result, conversation, cancel, progress)
    stream = reassemble(_OneConversation(result, conversation, packets), 0, cancel, progress)
    stream.conversation = conversation
    return stream


def conversation_packet_count(result: FlowResult, conversation: int) -> int:
    table = result.conversations
    return int(table.packets_ab[conversation] + table.packets_ba[conversation])


class _OneConversation(FlowResult):
    """The same capture seen through a one-row conversation table listing only ``packets``:
    reassembly then reads exactly those packets (nothing is copied but that row)."""

    def __init__(self, base: FlowResult, conversation: int, packets: np.ndarray) -> None:
        # deliberately not FlowResult.__init__: it would recount the unassigned packets
        table = base.conversations
        row = np.array([conversation])
        one = dataclasses.replace(
            table, **{name: getattr(table, name)[row] for name in COLUMN_NAMES},
            packet_index=np.asarray(packets, dtype=np.int64),
            packet_start=np.array([0, len(packets)], dtype=np.int64), extra={})
        self.capture = base.capture
        self.packets = base.packets
        self.conversations = one
        self.quoted = base.quoted
        self.source = base.source
        self.config = base.config
        self.unassigned = base.unassigned
        self.reassembled = base.reassembled
        self.inner = base.inner
        self._base, self._conversation = base, conversation

    def packet_view(self, conversation: int | None = None) -> PacketTable:
        """Row 0 is the base result's ``conversation``: its view."""
        return self._base.packet_view(self._conversation)

    def close(self) -> None:
        """The source belongs to the base result."""
