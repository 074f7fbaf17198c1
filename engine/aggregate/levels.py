"""Both conversation levels, chunk by chunk: the frames, and the packets inside UDP tunnels.

Wireshark lists a tunnel's outer UDP conversation *and* the conversation inside it, a tunnelled
frame counting in both (:mod:`engine.tunnels`). :class:`Levels` feeds the running table each
chunk's frames with their inner packets interleaved in file order (each inner packet right after
its frame), as :func:`engine.tunnels.build_levels` does for the whole capture, so stream numbers
come out as Wireshark's. The running table counts *positions* in that interleaved order (without
tunnels a position is a packet index) and reports packet indices (frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..conversations import QuotedLinks
from ..decode.exact import Quoted
from ..packets import DTYPES, InnerPackets, PacketTable
from ..table import ConversationTable
from .running import RunningTable
from .tuples import ChunkGroups


@dataclass
class Grouped:
    """What the grouping leaves at the end of a load."""

    table: ConversationTable  # ids by start time, then first position
    links: QuotedLinks  # every ICMP error (by frame) and the conversation it quotes
    new_id: np.ndarray  # final id of every running id (-1: not listed)
    inner: InnerPackets  # the packets inside tunnels, ``conv`` in final ids
    inner_rank: np.ndarray  # each inner packet's place in its conversation (with ranks)


class Levels:
    """The running table over frames and the packets inside tunnels."""

    def __init__(self, udp_gap_ns: int | None, icmp_gap_ns: int | None) -> None:
        self.running = RunningTable(udp_gap_ns, icmp_gap_ns)
        self.position = 0
        self._inner: list[InnerPackets] = []
        self._inner_rank: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.running)

    def add(self, part: PacketTable, first_index: int, quoted: list[tuple[int, Quoted]],
            rank: np.ndarray | None = None, inner: list[InnerPackets] | None = None,
            inner_quoted: list[tuple[int, Quoted]] | None = None,
            groups: ChunkGroups | None = None) -> None:
        """Group the chunk ``part`` (packets ``first_index`` on), its ICMP errors ``quoted``
        (by packet index), the packets inside its tunnels and their ICMP errors (by frame).
        Writes ``conv`` (running ids) and ``direction`` of the chunk's packets and of the inner
        ones; ``rank`` receives each packet's place in its conversation. ``groups``: the
        chunk's rows already grouped by tuple (used when no packet is inside a tunnel)."""
        inside = InnerPackets.concat(inner) if inner else None
        if inside is None or not len(inside):
            shift = self.position - first_index
            if shift:
                quoted = [(i + shift, q) for i, q in quoted]
            self.running.add(part, self.position, quoted, rank, first_index, groups=groups)
            self.position += len(part)
            return
        self._add_both(part, first_index, quoted, rank, inside, inner_quoted or [])

    def _add_both(self, part: PacketTable, first_index: int, quoted: list[tuple[int, Quoted]],
                  rank: np.ndarray | None, inner: InnerPackets,
                  inner_quoted: list[tuple[int, Quoted]]) -> None:
        n, m = len(part), len(inner)
        local = inner.frame - first_index
        outer_at = np.arange(n, dtype=np.int64) + np.searchsorted(local, np.arange(n))
        inner_at = local + np.arange(1, m + 1, dtype=np.int64)
        both = PacketTable.empty(n + m)
        for name in DTYPES:
            column = getattr(both, name)
            column[outer_at] = getattr(part, name)
            column[inner_at] = getattr(inner.packets, name)
        frames = np.empty(n + m, dtype=np.int64)
        frames[outer_at] = first_index + np.arange(n)
        frames[inner_at] = inner.frame
        is_inner = np.zeros(n + m, dtype=bool)
        is_inner[inner_at] = True
        first = self.position
        k = np.searchsorted(inner.frame, np.array([f for f, _ in inner_quoted], dtype=np.int64))
        refs = [(first + int(outer_at[f - first_index]), q) for f, q in quoted]
        refs += [(first + int(inner_at[j]), q)
                 for j, (_, q) in zip(k.tolist(), inner_quoted, strict=True)]
        refs.sort(key=lambda ref: ref[0])
        both_rank = np.zeros(n + m, dtype=np.uint32) if rank is not None else None
        self.running.add(both, first, refs, both_rank, frames, is_inner)
        part.conv[:], part.direction[:] = both.conv[outer_at], both.direction[outer_at]
        inner.packets.conv[:] = both.conv[inner_at]
        inner.packets.direction[:] = both.direction[inner_at]
        if rank is not None and both_rank is not None:
            rank[:] = both_rank[outer_at]
            self._inner_rank.append(both_rank[inner_at])
        self._inner.append(inner)
        self.position += n + m

    def snapshot(self) -> tuple[ConversationTable, np.ndarray]:
        """See :meth:`RunningTable.snapshot`."""
        return self.running.snapshot()

    def finish(self) -> Grouped:
        """The final table; the inner packets renumbered to final ids."""
        table, links, new_id = self.running.finish()
        inner = InnerPackets.concat(self._inner)
        rank = (np.concatenate(self._inner_rank) if self._inner_rank
                else np.zeros(len(inner), dtype=np.uint32))
        self._inner, self._inner_rank = [], []
        tunnelled = inner.packets.conv >= 0
        inner.packets.conv[tunnelled] = new_id[inner.packets.conv[tunnelled]]
        return Grouped(table, links, new_id, inner, rank)
