"""Packets handed over in memory (scapy packets or raw records) as record chunks.

The bytes are appended to one arena that then serves as the byte source, so payloads can be read
back exactly as from a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from ..errors import PacketError
from .chunk import PAD, RecordChunk
from .reader import Interface


@dataclass(frozen=True)
class RawPacket:
    """One frame: its bytes, when it was captured (ns since the epoch) and its link type."""

    data: bytes
    ts_ns: int
    linktype: int = 1
    origlen: int | None = None


def _timestamp_ns(value: Any) -> int:
    """Seconds (float, Decimal, scapy's EDecimal) → ns; an ``int`` is taken as nanoseconds."""
    if isinstance(value, int):
        return value
    return int(Decimal(str(value)) * 1_000_000_000)


def as_raw(item: Any) -> RawPacket:
    """Accept a RawPacket, a ``(bytes, timestamp, linktype)`` tuple or a scapy packet."""
    if isinstance(item, RawPacket):
        return item
    if isinstance(item, tuple):
        if len(item) < 2:
            raise PacketError("A raw packet record needs at least (bytes, timestamp).")
        data, ts = item[0], item[1]
        link = item[2] if len(item) > 2 else 1
        return RawPacket(bytes(data), _timestamp_ns(ts), int(link))
    try:
        from scapy.config import conf
    except ImportError:  # pragma: no cover - scapy is a dependency
        raise PacketError(f"Cannot interpret {type(item).__name__} as a packet.") from None
    link = conf.l2types.layer2num.get(type(item))
    if link is None:
        raise PacketError(
            f"A scapy {type(item).__name__} packet has no pcap link type; start packets with a "
            "link layer (Ether(), CookedLinux(), IP(), …).")
    wirelen = getattr(item, "wirelen", None)
    return RawPacket(bytes(item), _timestamp_ns(getattr(item, "time", 0) or 0), int(link),
                     int(wirelen) if wirelen else None)


class MemoryChunker:
    """Turns an iterable of packets into record chunks and keeps their bytes in ``arena``."""

    def __init__(self, packets: Iterable[Any], chunk_bytes: int) -> None:
        self._packets = packets
        self.chunk_bytes = chunk_bytes
        self.arena = bytearray()
        self.interfaces: list[Interface] = []
        self._iface_of: dict[int, int] = {}
        self.warnings: list[str] = []
        self.packets = 0

    def _iface(self, linktype: int) -> int:
        idx = self._iface_of.get(linktype)
        if idx is None:
            idx = self._iface_of[linktype] = len(self.interfaces)
            self.interfaces.append(Interface(linktype=linktype, ts_exponent=9))
        return idx

    def chunks(self) -> Iterator[RecordChunk]:
        batch: list[RawPacket] = []
        size = 0
        for item in self._packets:
            raw = as_raw(item)
            batch.append(raw)
            size += len(raw.data)
            if size >= self.chunk_bytes:
                yield self._chunk(batch)
                batch, size = [], 0
        if batch:
            yield self._chunk(batch)

    def _chunk(self, batch: list[RawPacket]) -> RecordChunk:
        data = b"".join(r.data for r in batch)
        caplen = np.array([len(r.data) for r in batch], dtype=np.uint32)
        starts = np.zeros(len(batch), dtype=np.int64)
        np.cumsum(caplen[:-1], out=starts[1:])
        buf = np.zeros(len(data) + PAD, dtype=np.uint8)
        buf[: len(data)] = np.frombuffer(data, dtype=np.uint8)
        base = len(self.arena)
        self.arena += data
        self.packets += len(batch)
        return RecordChunk(
            buf=buf, base=base, data_off=starts, caplen=caplen,
            origlen=np.array([r.origlen if r.origlen else len(r.data) for r in batch],
                             dtype=np.uint32),
            ts_ns=np.array([r.ts_ns for r in batch], dtype=np.int64),
            iface=np.array([self._iface(r.linktype) for r in batch], dtype=np.uint16))
