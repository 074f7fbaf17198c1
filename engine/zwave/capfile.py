"""Minimal pcap and pcapng writers for the Z-Wave capture generator (nanosecond timestamps).

Files are written atomically (:func:`engine.atomic.atomic_write`). A pcapng file gets one
interface per link type, in the order given.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from ..atomic import atomic_write

PCAP_NS_MAGIC = 0xA1B23C4D
SNAPLEN = 262_144
_BUFFER = 1 << 20


def write_pcap(path: str | Path, linktype: int, records: Iterable[tuple[int, bytes]]) -> int:
    """Write ``(ts_ns, frame)`` records to a nanosecond pcap; returns the record count."""
    count = 0
    rec = struct.Struct("<IIII")
    with atomic_write(path) as out:
        out.write(struct.pack("<IHHiIII", PCAP_NS_MAGIC, 2, 4, 0, 0, SNAPLEN, linktype))
        pending: list[bytes] = []
        for ts_ns, frame in records:
            sec, ns = divmod(ts_ns, 1_000_000_000)
            pending.append(rec.pack(sec, ns, len(frame), len(frame)))
            pending.append(frame)
            count += 1
            if len(pending) >= _BUFFER // 32:
                out.write(b"".join(pending))
                pending.clear()
        out.write(b"".join(pending))
    return count


def write_pcapng(path: str | Path, linktypes: list[int],
                 records: Iterable[tuple[int, int, bytes]]) -> int:
    """Write ``(interface, ts_ns, frame)`` records to a pcapng with one interface per entry of
    ``linktypes`` (timestamps in nanoseconds); returns the record count."""
    count = 0
    with atomic_write(path) as out:
        _block(out, 0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        for linktype in linktypes:
            tsresol = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
            _block(out, 1, struct.pack("<HHI", linktype, 0, SNAPLEN) + tsresol)
        pending: list[bytes] = []
        for iface, ts_ns, frame in records:
            pad = b"\0" * (-len(frame) % 4)
            body = struct.pack("<IIIII", iface, ts_ns >> 32, ts_ns & 0xFFFFFFFF, len(frame),
                               len(frame)) + frame + pad
            size = 12 + len(body)
            pending.append(struct.pack("<II", 6, size) + body + struct.pack("<I", size))
            count += 1
            if len(pending) >= _BUFFER // 64:
                out.write(b"".join(pending))
                pending.clear()
        out.write(b"".join(pending))
    return count


def _block(out: BinaryIO, block_type: int, body: bytes) -> None:
    size = 12 + len(body)
    out.write(struct.pack("<II", block_type, size) + body + struct.pack("<I", size))
