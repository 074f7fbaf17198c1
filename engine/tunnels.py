"""Conversations inside UDP tunnels (VXLAN, Geneve, GTP-U), as Wireshark lists them.

tshark's conversation tables list the tunnel's outer UDP conversation *and* the TCP/UDP
conversation inside it, a tunnelled frame counting (with its whole length) in both; the inner
conversations use up ``tcp.stream``/``udp.stream`` numbers in order of appearance, after the
outer one a frame opens (checked with tshark 4.0.17). Flowscope keeps the two levels apart:

- a frame's row of the packet table is its outer packet, so every frame is in exactly one
  *outer-level* conversation or unassigned (Σ outer-level packets + unassigned = packets);
- the packet inside it is a row of :class:`engine.packets.InnerPackets` with its own
  conversation (``conv``); an inner conversation's packets are frames of its outer one;
- the conversation table lists both levels; an inner row's ``tunnel`` column names the
  encapsulation and its ``tunnel_conversation`` the outer conversation of its first packet.

Both levels are grouped in one pass, over the frames and inner packets interleaved in file order
(a frame's inner packet right after it), so stream numbers come out as Wireshark's.
"""

from __future__ import annotations

import numpy as np

from .columns import ColumnSpec, declare_columns
from .config import FlowConfig
from .conversations import QuotedLinks, build_conversations
from .decode.exact import Quoted
from .decode.layers import TUNNEL_NAMES
from .hooks import register_analysis
from .packets import DTYPES, InnerPackets, PacketTable
from .result import FlowResult
from .table import ConversationTable

#: the columns :func:`add_tunnel_columns` adds (only to tables with conversations in tunnels)
TUNNEL_COLUMNS = ("tunnel", "tunnel_conversation")


def build_levels(p: PacketTable, inner: InnerPackets, quoted: list[tuple[int, Quoted]],
                 inner_quoted: list[tuple[int, Quoted]], config: FlowConfig
                 ) -> tuple[ConversationTable, QuotedLinks]:
    """Conversations of both levels; writes ``conv`` and ``direction`` of ``p`` and of
    ``inner.packets``. Returns what :func:`engine.conversations.build_conversations` returns,
    with packet numbers that are frames."""
    n, m = len(p), len(inner)
    # where each frame and each inner packet sit in the interleaved order
    outer_at = np.arange(n, dtype=np.int64) + np.searchsorted(inner.frame, np.arange(n))
    inner_at = inner.frame + np.arange(1, m + 1, dtype=np.int64)
    both = PacketTable.empty(n + m)
    for name in DTYPES:
        column = getattr(both, name)
        column[outer_at] = getattr(p, name)
        column[inner_at] = getattr(inner.packets, name)
    k = np.searchsorted(inner.frame, np.array([f for f, _ in inner_quoted], dtype=np.int64))
    refs = [(int(outer_at[f]), q) for f, q in quoted] + \
        [(int(inner_at[i]), q) for i, (_, q) in zip(k.tolist(), inner_quoted, strict=True)]
    refs.sort(key=lambda ref: ref[0])
    table, links = build_conversations(both, refs, config)
    p.conv[:], p.direction[:] = both.conv[outer_at], both.direction[outer_at]
    inner.packets.conv[:] = both.conv[inner_at]
    inner.packets.direction[:] = both.direction[inner_at]
    frame_of = np.empty(n + m, dtype=np.int64)
    frame_of[outer_at] = np.arange(n)
    frame_of[inner_at] = inner.frame
    table.first_packet = frame_of[table.first_packet]
    table.last_packet = frame_of[table.last_packet]
    if table.packet_index is not None:
        table.packet_index = frame_of[table.packet_index]
    return table, QuotedLinks(frame_of[links.packets], links.conversations)


def add_tunnel_columns(result: FlowResult) -> None:
    """The analysis hook: ``tunnel`` and ``tunnel_conversation`` of every conversation, in
    captures with conversations inside UDP tunnels (others get no such columns)."""
    inner = result.inner
    conv = inner.packets.conv
    mine = conv >= 0
    if not mine.any():
        return
    table = result.conversations
    n = len(table)
    names = np.full(n, "", dtype="<U8")
    outer = np.full(n, -1, dtype=np.int64)
    # an inner conversation's tunnel: where its first packet is (rows are in frame order, so
    # the first row of each conversation is its first packet)
    ids, first = np.unique(conv[mine], return_index=True)
    rows = np.flatnonzero(mine)[first]
    outer[ids] = result.packets.conv[inner.frame[rows]]
    codes = inner.tunnel[rows]
    for code, name in TUNNEL_NAMES.items():
        names[ids[codes == code]] = name
    table.extra["tunnel"] = names
    table.extra["tunnel_conversation"] = outer


def outer_level(table: ConversationTable) -> np.ndarray:
    """Which conversations are not inside a UDP tunnel: their packets add up, with the
    unassigned ones, to the capture's packets (an inner conversation's are counted again)."""
    outer = table.extra.get("tunnel_conversation")
    return np.ones(len(table), dtype=bool) if outer is None else outer < 0


register_analysis(add_tunnel_columns)

declare_columns(
    ColumnSpec("tunnel", "Tunnel", "text",
               "The UDP tunnel a conversation is inside (vxlan, geneve, gtp-u); empty in the open",
               json_key="tunnel.encapsulation", to_json=lambda v: v or None),
    ColumnSpec("tunnel_conversation", "Tunnel conversation", "count",
               "The outer (tunnel) conversation an inner conversation's first packet is in",
               hidden=True, json_key="tunnel.conversation",
               to_json=lambda v: None if v < 0 else int(v)),
)
