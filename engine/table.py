"""The conversation table: one row per conversation, every figure a numpy column.

Rows are sorted by start time (as the seed returns them); a row's id is its position. Views
(:class:`Conversation`) are created on demand, so a million conversations cost only the columns.
Other analyses (TCP state, Z-Wave) add columns to ``extra`` without changing this module; they
declare them in :mod:`engine.columns`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .packets import Kind
from .protocols import format_address, protocol_name
from .sets import distinct


@dataclass
class ConversationTable:
    """Columns of all conversations. Byte counts are frame bytes (``origlen``) unless named
    ``payload_*``; times are int64 nanoseconds since the epoch."""

    kind: np.ndarray  # uint8, packets.Kind
    ip_proto: np.ndarray  # uint8
    family: np.ndarray  # uint8 (4, 6; other values for non-IP families)
    stream: np.ndarray  # int64, Wireshark's tcp.stream / udp.stream; -1 where it has none
    a_hi: np.ndarray  # uint64, endpoint A (sender of the first packet)
    a_lo: np.ndarray
    a_port: np.ndarray  # int32, -1 where the protocol has no ports
    b_hi: np.ndarray
    b_lo: np.ndarray
    b_port: np.ndarray
    packets_ab: np.ndarray  # int64
    packets_ba: np.ndarray
    bytes_ab: np.ndarray
    bytes_ba: np.ndarray
    payload_ab: np.ndarray
    payload_ba: np.ndarray
    start_ns: np.ndarray  # int64 (earliest timestamp)
    end_ns: np.ndarray  # int64 (latest timestamp)
    first_packet: np.ndarray  # int64, packet index of the first packet (file order)
    last_packet: np.ndarray
    flags_ab: np.ndarray  # uint16, TCP flags seen A→B (OR of all)
    flags_ba: np.ndarray
    icmp_type: np.ndarray  # uint8 (ICMP: from the first packet)
    icmp_code: np.ndarray
    icmp_id: np.ndarray  # int32, echo identifier, -1 for non-echo messages
    quotes: np.ndarray  # int64, the conversation an ICMP error quotes, -1 = none
    #: CSR packet lists: the packets of row i are packet_index[packet_start[i]:packet_start[i+1]]
    packet_index: np.ndarray | None = None
    packet_start: np.ndarray | None = None
    #: columns added by other analyses (TCP state, Z-Wave, …), each one value per row
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.kind.size)

    def __iter__(self) -> Iterator[Conversation]:
        for i in range(len(self)):
            yield Conversation(self, i)

    def __getitem__(self, i: int) -> Conversation:
        if not -len(self) <= i < len(self):
            raise IndexError(f"conversation {i} out of range (0..{len(self) - 1})")
        return Conversation(self, i % len(self))

    # -- derived columns (computed when asked, never stored twice) -------------------------
    @property
    def packets(self) -> np.ndarray:
        return self.packets_ab + self.packets_ba

    @property
    def bytes(self) -> np.ndarray:
        return self.bytes_ab + self.bytes_ba

    @property
    def duration_ns(self) -> np.ndarray:
        return self.end_ns - self.start_ns

    def bits_per_second(self, direction: str, rows: Any = slice(None)) -> np.ndarray:
        """Wireshark's Bits/s column: bytes × 8 / duration; NaN when the duration is zero (of
        every row, or of ``rows``)."""
        size = (self.bytes_ab if direction == "ab" else self.bytes_ba)[rows]
        dur = (self.end_ns[rows] - self.start_ns[rows]).astype(np.float64) / 1e9
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(dur > 0, size * 8.0 / np.where(dur > 0, dur, 1.0), np.nan)

    def protocol_names(self, rows: Any = slice(None)) -> np.ndarray:
        """The protocol name of every row, or of ``rows`` (object array; cheap: names are
        shared)."""
        codes = self.kind[rows].astype(np.int64) << 8 | self.ip_proto[rows]
        names = np.empty(codes.size, dtype=object)
        for code in distinct(codes):
            names[codes == code] = protocol_name(int(code) >> 8, int(code) & 0xFF)
        return names

    def address_texts(self, side: str) -> np.ndarray:
        """Endpoint ``side`` ("a" or "b") of every row as text (each distinct address is
        formatted once)."""
        parts = np.stack([self.family.astype(np.uint64), getattr(self, f"{side}_hi"),
                          getattr(self, f"{side}_lo")], axis=1)
        unique, inverse = np.unique(parts, axis=0, return_inverse=True)
        texts = np.array([format_address(int(f), int(h), int(lo)) for f, h, lo in unique.tolist()],
                         dtype=object)
        return texts[inverse.reshape(-1)] if len(texts) else np.zeros(0, dtype=object)

    def packets_of(self, i: int) -> np.ndarray:
        """Packet indices of conversation ``i`` in file order."""
        if self.packet_index is None or self.packet_start is None:
            raise ValueError("packet indices were not stored (FlowConfig.store_packet_indices)")
        return self.packet_index[self.packet_start[i] : self.packet_start[i + 1]]

    def rows_with_stream(self, kind: Kind, stream: int) -> np.ndarray:
        return np.flatnonzero((self.kind == kind) & (self.stream == stream))

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The columns restricted to ``rows`` (for exports of a filtered view)."""
        out = {name: getattr(self, name)[rows] for name in COLUMN_NAMES}
        out.update({name: col[rows] for name, col in self.extra.items()})
        return out


COLUMN_NAMES = [name for name in ConversationTable.__dataclass_fields__
                if name not in ("packet_index", "packet_start", "extra")]


def _fill_value(dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return np.nan
    if dtype.kind in "iu":
        return -1 if dtype.kind == "i" else 0
    if dtype.kind == "U":
        return ""
    return None


def merge_tables(parts: list[ConversationTable]) -> tuple[ConversationTable, list[np.ndarray]]:
    """One table from several (IP conversations, Z-Wave conversations, …), sorted by start time.

    Returns the merged table and, per part, the new id of each of its rows. Extra columns a part
    lacks are filled with "not applicable" (-1, NaN, ""). Packet lists are rebuilt by the caller.
    """
    cols = {n: np.concatenate([getattr(t, n) for t in parts]) for n in COLUMN_NAMES}
    extra_names: dict[str, np.dtype] = {}
    for t in parts:
        for n, col in t.extra.items():
            extra_names.setdefault(n, col.dtype)
    extra = {}
    for n, dtype in extra_names.items():
        pieces = []
        for t in parts:
            if n in t.extra:
                pieces.append(t.extra[n])
            else:
                pieces.append(np.full(len(t), _fill_value(dtype), dtype=dtype))
        extra[n] = np.concatenate(pieces)
    offsets = np.cumsum([0] + [len(t) for t in parts])
    quotes = cols["quotes"].copy()
    for k, t in enumerate(parts):  # quotes point inside their own part: shift them
        sl = slice(offsets[k], offsets[k + 1])
        quotes[sl] = np.where(t.quotes >= 0, t.quotes + offsets[k], -1)
    cols["quotes"] = quotes
    order = np.lexsort((cols["first_packet"], cols["start_ns"]))
    new_id = np.empty(order.size, dtype=np.int64)
    new_id[order] = np.arange(order.size)
    merged = {n: c[order] for n, c in cols.items()}
    merged["quotes"] = np.where(merged["quotes"] >= 0,
                                new_id[np.maximum(merged["quotes"], 0)], -1)
    table = ConversationTable(**merged, extra={n: c[order] for n, c in extra.items()})
    return table, [new_id[offsets[k] : offsets[k + 1]] for k in range(len(parts))]


class Conversation:
    """A light view of one row; attribute access reads the columns."""

    __slots__ = ("id", "table")

    def __init__(self, table: ConversationTable, i: int) -> None:
        self.table = table
        self.id = i

    def __repr__(self) -> str:
        a, b = self.a, self.b
        return (f"<Conversation {self.id} {self.protocol} {a[0]}:{a[1]} ↔ {b[0]}:{b[1]} "
                f"{self.packets} packets>")

    def __getattr__(self, name: str) -> Any:
        table = object.__getattribute__(self, "table")
        if name in table.extra:
            return table.extra[name][self.id].item()
        if name in COLUMN_NAMES:
            return getattr(table, name)[self.id].item()
        raise AttributeError(name)

    @property
    def protocol(self) -> str:
        t = self.table
        return protocol_name(int(t.kind[self.id]), int(t.ip_proto[self.id]))

    @property
    def a(self) -> tuple[str, int | None]:
        t, i = self.table, self.id
        port = int(t.a_port[i])
        return (format_address(int(t.family[i]), int(t.a_hi[i]), int(t.a_lo[i])),
                None if port < 0 else port)

    @property
    def b(self) -> tuple[str, int | None]:
        t, i = self.table, self.id
        port = int(t.b_port[i])
        return (format_address(int(t.family[i]), int(t.b_hi[i]), int(t.b_lo[i])),
                None if port < 0 else port)

    @property
    def packets(self) -> int:
        return int(self.table.packets_ab[self.id] + self.table.packets_ba[self.id])

    @property
    def bytes(self) -> int:
        return int(self.table.bytes_ab[self.id] + self.table.bytes_ba[self.id])

    @property
    def duration_ns(self) -> int:
        return int(self.table.end_ns[self.id] - self.table.start_ns[self.id])

    @property
    def packet_indices(self) -> np.ndarray:
        return self.table.packets_of(self.id)
