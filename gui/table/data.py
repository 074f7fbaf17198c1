"""The engine's result plus the derived columns the table shows, prepared off the GUI thread.

Everything here is a whole-column numpy operation done once per load (in the loader's worker),
so the model's ``data()`` only indexes arrays and the GUI thread never walks a million rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import FlowResult
from engine.columns import ColumnSpec, extra_columns
from engine.filter import FilterColumns
from engine.protocols import protocol_name, protocol_title
from engine.table import ConversationTable
from engine.tunnels import outer_level

__all__ = ["ConversationData", "ProtocolCount", "protocol_title"]


@dataclass(frozen=True)
class ProtocolCount:
    name: str
    conversations: int
    packets: int


class ConversationData:
    """One loaded capture as the views see it; never changed after construction."""

    def __init__(self, result: FlowResult) -> None:
        self.result = result
        t: ConversationTable = result.conversations
        self.table = t
        first = result.capture.first_ns
        if first is None:
            first = int(t.start_ns.min()) if len(t) else 0
        self.first_ns = int(first)
        self.packets = t.packets
        #: the packets each conversation adds to the capture's count (none for those inside
        #: UDP tunnels: their frames are their tunnel's)
        self.frame_packets = np.where(outer_level(t), self.packets, 0)
        self.bytes = t.bytes
        self.rel_start_ns = t.start_ns - self.first_ns
        self.duration_ns = t.duration_ns
        self.bps_ab = t.bits_per_second("ab")
        self.bps_ba = t.bits_per_second("ba")
        codes = t.kind.astype(np.uint16) << 8 | t.ip_proto
        unique_codes, inverse = np.unique(codes, return_inverse=True)
        names = np.array([protocol_name(int(c) >> 8, int(c) & 0xFF) for c in unique_codes],
                         dtype=str)
        #: protocol name per conversation (a fixed-width string array, shared names)
        self.protocol = names[inverse.reshape(-1)] if names.size else np.zeros(0, dtype=str)
        self.protocols = self._count_protocols(names, inverse.reshape(-1))
        present = {p.name for p in self.protocols}
        #: registered columns this table has, for protocols it has (no TCP columns for a
        #: Z-Wave capture): an analysis may add its columns to every table
        self.extra_columns: list[ColumnSpec] = [
            c for c in extra_columns()
            if c.name in t.extra and (not c.protocols or present.intersection(c.protocols))]
        #: the columns as the filter language reads them (it keeps what it computes)
        self.filter_columns = FilterColumns(t, self.first_ns)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def total_packets(self) -> int:
        """Packets in the capture, including those in no conversation."""
        return int(self.result.capture.packets)

    def _count_protocols(self, names: np.ndarray, inverse: np.ndarray) -> list[ProtocolCount]:
        """Conversations and packets per protocol, the most common first."""
        convs = np.bincount(inverse, minlength=names.size)
        packets = np.bincount(inverse, weights=self.packets, minlength=names.size)
        order = sorted(range(names.size), key=lambda k: (-int(convs[k]), str(names[k])))
        return [ProtocolCount(str(names[k]), int(convs[k]), int(packets[k])) for k in order]
