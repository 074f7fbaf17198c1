"""How the TCP analysis is kept: a few compact per-packet columns plus sparse extras.

Per packet (all packets of the capture, zero for non-TCP ones): the flag bits (uint16), the
bytes in flight (uint32, 0 = not shown) and how many packets back the segment it acknowledges
lies (int32, 0 = none; the ACK RTT is the difference of the two timestamps). Duplicate ACKs (a
minority) keep their number and the ACK they repeat in sparse arrays; each conversation keeps
its initial RTT, the packet where the handshake completed and Wireshark's base sequence numbers.
10 bytes a packet in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import expert_flags as F

NO_IRTT = np.iinfo(np.int64).min

#: key of the analysis in ``FlowResult.plugin_data``
KEY = "tcp_expert"


@dataclass
class TcpExpert:
    flags: np.ndarray  # uint16 per packet
    bytes_in_flight: np.ndarray  # uint32 per packet
    acked_back: np.ndarray  # int32 per packet: packet index - acknowledged packet's index
    dup_index: np.ndarray  # int64, packets that are duplicate ACKs (sorted)
    dup_num: np.ndarray  # int64, their number (#1, #2, …)
    dup_of: np.ndarray  # int64, the packet index of the ACK they repeat (-1: none)
    irtt_ns: np.ndarray  # int64 per conversation, NO_IRTT where unknown
    irtt_at: np.ndarray  # int64 per conversation: packet index that completed the handshake
    base: np.ndarray  # int64 (conversations, 2): Wireshark's base sequence number per direction
    #                   (relative numbers are (raw - base) mod 2^32; -1 where unknown)
    #: rare later changes of a base, as Wireshark makes them: (packet index, conversation,
    #: direction, new base or -1), sorted by packet index
    base_changes: np.ndarray

    @classmethod
    def empty(cls, packets: int, conversations: int,
              column: Callable[[str, Any], np.ndarray] | None = None) -> TcpExpert:
        """All "nothing found"; the per-packet arrays from ``column(name, dtype)`` (zeroed)
        when given: the packet store's spill folder on a big capture."""
        def per_packet(name: str, dtype: Any) -> np.ndarray:
            return np.zeros(packets, dtype=dtype) if column is None else column(name, dtype)

        return cls(flags=per_packet("tcp_expert_flags", np.uint16),
                   bytes_in_flight=per_packet("tcp_expert_bytes_in_flight", np.uint32),
                   acked_back=per_packet("tcp_expert_acked_back", np.int32),
                   dup_index=np.zeros(0, dtype=np.int64), dup_num=np.zeros(0, dtype=np.int64),
                   dup_of=np.zeros(0, dtype=np.int64),
                   irtt_ns=np.full(conversations, NO_IRTT, dtype=np.int64),
                   irtt_at=np.full(conversations, -1, dtype=np.int64),
                   base=np.full((conversations, 2), -1, dtype=np.int64),
                   base_changes=np.zeros((0, 4), dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, k).nbytes) for k in self.__dataclass_fields__)

    def bases(self, conv: np.ndarray, lane: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The base sequence number of direction ``lane`` of ``conv`` when Wireshark
        dissected packet ``index`` (-1 where unknown)."""
        out = self.base[conv, lane]
        for i, c, d, b in self.base_changes.tolist():
            later = (conv == c) & (lane == d) & (index >= i)
            out = np.where(later, b, out)
        return out

    def acked(self, index: np.ndarray) -> np.ndarray:
        """The packet each of ``index`` acknowledges (-1 where none)."""
        back = self.acked_back[index].astype(np.int64)
        return np.where(back > 0, index - back, -1)

    def ack_rtt_ns(self, ts_ns: np.ndarray, index: np.ndarray) -> np.ndarray:
        """ACK RTT of ``index`` in ns; -1 where Wireshark shows none (nothing acknowledged, or
        the same timestamp: a zero RTT is not shown)."""
        back = self.acked_back[index].astype(np.int64)
        rtt = ts_ns[index] - ts_ns[np.maximum(index - back, 0)]
        return np.where((back > 0) & (rtt != 0), rtt, -1)

    def duplicate_acks(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(number, repeated packet index) for ``index``: 0 / -1 where not a duplicate ACK."""
        num = np.zeros(index.size, dtype=np.int64)
        of = np.full(index.size, -1, dtype=np.int64)
        if not self.dup_index.size:
            return num, of
        pos = np.minimum(np.searchsorted(self.dup_index, index), self.dup_index.size - 1)
        hit = self.dup_index[pos] == index
        num[hit] = self.dup_num[pos[hit]]
        of[hit] = self.dup_of[pos[hit]]
        return num, of

    def initial_rtt_shown(self, conv: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Whether Wireshark prints the initial RTT on packets ``index`` (of conversations
        ``conv``): on packets with an analysis record from the handshake's end on."""
        at = self.irtt_at[conv]
        return ((self.flags[index] & F.HAS_RECORD) != 0) & (at >= 0) & (index >= at)


def duplicate_ack_rows(index: np.ndarray, rows: np.ndarray, num: np.ndarray, of: np.ndarray
                       ) -> np.ndarray:
    """The (packet, number, repeated packet or -1) rows :attr:`TcpExpert.dup_index` and its
    companions are made of, for the duplicate ACKs at ``rows`` of a batch whose packets are
    ``index`` (``of``: the rows of the ACKs they repeat, -1 for none)."""
    return np.stack([index[rows], num, np.where(of >= 0, index[np.maximum(of, 0)], -1)], axis=1)
