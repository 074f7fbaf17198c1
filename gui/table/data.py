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
from engine.load import Partial
from engine.protocols import protocol_name, protocol_title
from engine.table import ConversationTable
from engine.tunnels import TUNNEL_COLUMNS, outer_level

__all__ = ["ConversationData", "ProtocolCount", "protocol_title"]


@dataclass(frozen=True)
class ProtocolCount:
    name: str
    conversations: int
    packets: int


#: placeholder values of a column an analysis fills only when the load is complete
_NOT_YET = {"text": "", "float": np.nan, "rate": np.nan}


class ConversationData:
    """One loaded capture as the views see it; never changed after construction.

    While a capture loads, :meth:`partial` gives the conversations found so far (``result`` is
    None, ids are running ids: in order of first packet; analysis columns are still empty).
    """

    def __init__(self, result: FlowResult | None, table: ConversationTable | None = None,
                 first_ns: int | None = None, packets: int = 0,
                 inner: np.ndarray | None = None) -> None:
        self.result = result
        t: ConversationTable = result.conversations if result is not None else table
        self.table = t
        self._packets_read = packets
        #: while loading: which rows are conversations inside a UDP tunnel
        self._inner = inner
        first = result.capture.first_ns if result is not None else first_ns
        if first is None:
            first = int(t.start_ns.min()) if len(t) else 0
        self.first_ns = int(first)
        self.packets = t.packets
        #: the packets each conversation adds to the capture's count (none for those inside
        #: UDP tunnels: their frames are their tunnel's)
        self.frame_packets = np.where(outer_level(t) if inner is None else ~inner, self.packets, 0)
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
        #: while loading, the columns the finished table will have: the tunnel columns only
        #: with conversations inside tunnels
        absent = TUNNEL_COLUMNS if inner is not None and not inner.any() else ()
        self.extra_columns: list[ColumnSpec] = [
            c for c in extra_columns()
            if (c.name in t.extra or (result is None and c.name not in absent))
            and (not c.protocols or present.intersection(c.protocols))]
        for c in self.extra_columns:
            if c.name not in t.extra:
                fill = _NOT_YET.get(c.format, -1)
                t.extra[c.name] = np.full(len(t), fill, dtype=np.asarray(fill).dtype)
        #: the columns as the filter language reads them (it keeps what it computes)
        self.filter_columns = FilterColumns(t, self.first_ns)

    @classmethod
    def partial(cls, p: Partial) -> ConversationData:
        """The conversations found so far in a capture being loaded."""
        return cls(None, p.conversations, p.first_ns, p.packets, p.inner)

    def _keys(self) -> np.ndarray:
        """What names a conversation across a load: its first packet, and whether it is the
        conversation inside a tunnel (that one and its tunnel's may start at the same frame)."""
        t = self.table
        if self._inner is not None:
            inner = self._inner
        else:
            inner = t.extra.get("tunnel_conversation", np.full(len(t), -1)) >= 0
        return t.first_packet.astype(np.int64) * 2 + inner

    @property
    def loading(self) -> bool:
        return self.result is None

    @property
    def unassigned(self) -> int:
        return self.result.unassigned.total if self.result is not None else 0

    def running_to_final(self, final: ConversationData) -> np.ndarray:
        """For a partial table: the final id of each of its rows (a conversation keeps its
        first packet), so a selection made while loading survives the end of the load."""
        fp, mine = final._keys(), self._keys()
        order = np.argsort(fp, kind="stable")
        pos = np.searchsorted(fp[order], mine)
        pos = np.minimum(pos, max(fp.size - 1, 0))
        found = order[pos] if fp.size else np.zeros(0, dtype=np.int64)
        ok = fp[found] == mine if fp.size else np.zeros(0, dtype=bool)
        return np.where(ok, found, -1)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def total_packets(self) -> int:
        """Packets in the capture, including those in no conversation."""
        if self.result is None:
            return self._packets_read
        return int(self.result.capture.packets)

    def _count_protocols(self, names: np.ndarray, inverse: np.ndarray) -> list[ProtocolCount]:
        """Conversations and packets per protocol, the most common first."""
        convs = np.bincount(inverse, minlength=names.size)
        packets = np.bincount(inverse, weights=self.packets, minlength=names.size)
        order = sorted(range(names.size), key=lambda k: (-int(convs[k]), str(names[k])))
        return [ProtocolCount(str(names[k]), int(convs[k]), int(packets[k])) for k in order]
