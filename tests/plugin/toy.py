"""A plug-in written the way a user of the engine would write one, inside the tests: a made-up
radio protocol, "Toy", carried in link type 147 (LINKTYPE_USER0). It adds a protocol with its
own addresses, one conversation column and one detail pane, and touches no project file.

A Toy frame: source node (u16 BE), destination node (u16 BE), a reading (u8).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from engine.capture import RecordChunk
from engine.columns import ColumnSpec, declare_column, withdraw_column
from engine.config import FlowConfig
from engine.hooks import register_link_plugin, unregister_link_plugin
from engine.packets import Kind, PacketTable, Reason
from engine.protocols import (
    AddressFamily,
    Protocol,
    new_kind,
    register_family,
    register_protocol,
    unregister_family,
    unregister_protocol,
)
from engine.table import ConversationTable

LINKTYPE = 147
FAMILY = 91
FRAME = struct.Struct(">HHB")


def frame(src: int, dst: int, reading: int) -> bytes:
    return FRAME.pack(src, dst, reading)


def _parse_node(text: str) -> tuple[int, int] | None:
    if text.startswith("toy-") and text[4:].isdigit():
        return 0, int(text[4:])
    return None


class ToyPlugin:
    """The link plug-in: decodes Toy frames and groups them by node pair."""

    name = "toy"
    linktypes = frozenset({LINKTYPE})

    def __init__(self) -> None:
        self.readings: list[tuple[np.ndarray, np.ndarray]] = []

    def decode(self, chunk: RecordChunk, rows: np.ndarray, part: PacketTable,
               first_index: int) -> None:
        ok = rows[chunk.caplen[rows] >= FRAME.size]
        part.kind[rows[chunk.caplen[rows] < FRAME.size]] = Kind.UNASSIGNED
        part.reason[rows[chunk.caplen[rows] < FRAME.size]] = Reason.TRUNCATED
        head = np.stack([chunk.buf[chunk.data_off[ok] + k] for k in range(FRAME.size)], axis=1)
        part.kind[ok] = TOY.kind
        part.family[ok] = FAMILY
        part.src_lo[ok] = head[:, 0].astype(np.uint64) << 8 | head[:, 1]
        part.dst_lo[ok] = head[:, 2].astype(np.uint64) << 8 | head[:, 3]
        part.payload_off[ok] = 4
        part.payload_len[ok] = 1
        self.readings.append((first_index + ok, head[:, 4].astype(np.int64)))

    def conversations(self, packets: PacketTable, config: FlowConfig
                      ) -> ConversationTable | None:
        mine = np.flatnonzero(packets.kind == TOY.kind)
        if not mine.size:
            return None
        index = np.concatenate([i for i, _ in self.readings])
        value = np.concatenate([v for _, v in self.readings])
        reading = np.zeros(len(packets), dtype=np.int64)
        reading[index] = value
        src, dst = packets.src_lo[mine], packets.dst_lo[mine]
        pair = np.minimum(src, dst) << np.uint64(16) | np.maximum(src, dst)
        _, first, conv = np.unique(pair, return_index=True, return_inverse=True)
        conv = conv.reshape(-1)
        n = first.size
        a = src[first]
        direction = (src != a[conv]).astype(np.uint8)
        packets.conv[mine] = conv
        packets.direction[mine] = direction
        count = np.bincount(conv, minlength=n)
        ba = np.bincount(conv, weights=direction, minlength=n).astype(np.int64)
        size = packets.origlen[mine].astype(np.int64)
        bytes_ba = np.bincount(conv, weights=size * direction, minlength=n).astype(np.int64)
        bytes_all = np.bincount(conv, weights=size, minlength=n).astype(np.int64)
        ts = packets.ts_ns[mine]
        start = np.full(n, np.iinfo(np.int64).max)
        end = np.full(n, np.iinfo(np.int64).min)
        np.minimum.at(start, conv, ts)
        np.maximum.at(end, conv, ts)
        top = np.zeros(n, dtype=np.int64)
        np.maximum.at(top, conv, reading[mine])
        zeros = np.zeros(n, dtype=np.int64)
        small = np.zeros(n, dtype=np.uint8)
        return ConversationTable(
            kind=np.full(n, TOY.kind, dtype=np.uint8), ip_proto=small, family=small + FAMILY,
            stream=zeros - 1, a_hi=zeros.astype(np.uint64), a_lo=a,
            a_port=np.full(n, -1, dtype=np.int32), b_hi=zeros.astype(np.uint64),
            b_lo=dst[first], b_port=np.full(n, -1, dtype=np.int32),
            packets_ab=count - ba, packets_ba=ba, bytes_ab=bytes_all - bytes_ba,
            bytes_ba=bytes_ba, payload_ab=count - ba, payload_ba=ba, start_ns=start,
            end_ns=end, first_packet=mine[first].astype(np.int64),
            last_packet=zeros, flags_ab=small.astype(np.uint16),
            flags_ba=small.astype(np.uint16), icmp_type=small, icmp_code=small,
            icmp_id=np.full(n, -1, dtype=np.int32), quotes=zeros - 1,
            extra={"toy_max": top})

    def finish(self) -> Any:
        return None


TOY = Protocol("toy", "Toy", 0)  # replaced by the registered one (with its kind) in installed()
MAX_READING = ColumnSpec("toy_max", "Max reading", "count", "the highest reading of the pair",
                         ("toy",), aliases=("toy.max",), text_title="Max")


@contextmanager
def installed() -> Iterator[Protocol]:
    """The plug-in registered for the duration of a test, then removed."""
    global TOY
    family = register_family(AddressFamily(FAMILY, "Toy", lambda hi, lo: f"toy-{lo}",
                                           _parse_node))
    TOY = register_protocol(Protocol("toy", "Toy", new_kind(), "a made-up radio",
                                     aliases=("toybus",)))
    declare_column(MAX_READING)
    register_link_plugin(ToyPlugin)
    try:
        yield TOY
    finally:
        unregister_link_plugin(ToyPlugin)
        withdraw_column(MAX_READING.name)
        unregister_protocol(TOY.name)
        unregister_family(family.code)
