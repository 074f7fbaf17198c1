"""Writes pcap and pcapng files byte by byte, so tests control every field (byte order,
resolutions, block types) independently of the reader under test."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from scapy.packet import Packet


def frame(pkt: Packet) -> bytes:
    return bytes(pkt)


def pcap_bytes(records: list[tuple[bytes, int]], linktype: int = 1, big: bool = False,
               nano: bool = False, snaplen: int = 262144, modified: bool = False,
               origlens: list[int] | None = None, major: int = 2) -> bytes:
    """A classic pcap file; ``records`` are (frame bytes, timestamp in ns)."""
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else (0xA1B2CD34 if modified else 0xA1B2C3D4)
    out = [struct.pack(e + "IHHiIII", magic, major, 4, 0, 0, snaplen, linktype)]
    for k, (data, ts) in enumerate(records):
        sec, frac = divmod(ts, 1_000_000_000)
        if not nano:
            frac //= 1000
        orig = origlens[k] if origlens else len(data)
        out.append(struct.pack(e + "IIII", sec, frac, len(data), orig))
        if modified:
            out.append(struct.pack(e + "IHBB", 0, 0, 0, 0))
        out.append(data)
    return b"".join(out)


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _block(e: str, btype: int, body: bytes) -> bytes:
    body = _pad(body)
    size = len(body) + 12
    return struct.pack(e + "II", btype, size) + body + struct.pack(e + "I", size)


def _option(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + _pad(value)


@dataclass
class Iface:
    linktype: int = 1
    snaplen: int = 262144
    tsresol: int | None = None  # if_tsresol byte (None = default µs)
    tsoffset: int | None = None  # if_tsoffset seconds
    name: str | None = None


@dataclass
class Section:
    big: bool = False
    interfaces: list[Iface] = field(default_factory=lambda: [Iface()])
    #: ("epb", iface, ts_units, data) | ("spb", data) | ("pb", iface, ts_units, data)
    #: | ("raw", block_type, body) | ("idb", Iface) (an interface added mid-section)
    blocks: list[tuple] = field(default_factory=list)


def _idb(e: str, iface: Iface) -> bytes:
    opts = b""
    if iface.name:
        opts += _option(e, 2, iface.name.encode())
    if iface.tsresol is not None:
        opts += _option(e, 9, bytes([iface.tsresol]))
    if iface.tsoffset is not None:
        opts += _option(e, 14, struct.pack(e + "q", iface.tsoffset))
    if opts:
        opts += _option(e, 0, b"")
    return _block(e, 1, struct.pack(e + "HHI", iface.linktype, 0, iface.snaplen) + opts)


def pcapng_bytes(sections: list[Section]) -> bytes:
    out = []
    for sec in sections:
        e = ">" if sec.big else "<"
        out.append(_block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1)))
        for iface in sec.interfaces:
            out.append(_idb(e, iface))
        for blk in sec.blocks:
            kind = blk[0]
            if kind == "epb":
                _, iface, ts, data = blk
                body = struct.pack(e + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                   len(data)) + _pad(data)
                out.append(_block(e, 6, body))
            elif kind == "pb":
                _, iface, ts, data = blk
                body = struct.pack(e + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                   len(data)) + _pad(data)
                out.append(_block(e, 2, body))
            elif kind == "spb":
                _, data = blk
                out.append(_block(e, 3, struct.pack(e + "I", len(data)) + _pad(data)))
            elif kind == "raw":
                _, btype, body = blk
                out.append(_block(e, btype, body))
            elif kind == "idb":
                out.append(_idb(e, blk[1]))
    return b"".join(out)
