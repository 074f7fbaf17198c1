"""Capture files for tests, byte by byte, from the engine's own file layouts
(:mod:`engine.capture.writer`), so a test controls every field — byte order, resolutions,
block types, blocks of its own — independently of the reader under test."""

from __future__ import annotations

from dataclasses import dataclass, field

from scapy.packet import Packet

from engine.capture import writer as w


def frame(pkt: Packet) -> bytes:
    return bytes(pkt)


def pcap_bytes(records: list[tuple[bytes, int]], linktype: int = 1, big: bool = False,
               nano: bool = False, snaplen: int = 262144, modified: bool = False,
               origlens: list[int] | None = None, major: int = 2) -> bytes:
    """A classic pcap file; ``records`` are (frame bytes, timestamp in ns)."""
    out = [w.pcap_header(linktype, snaplen, nano=nano, big=big, modified=modified,
                         major=major)]
    for k, (data, ts) in enumerate(records):
        out.append(w.pcap_record(ts, data, origlens[k] if origlens else None, nano=nano,
                                 big=big, modified=modified))
    return b"".join(out)


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


def _idb(iface: Iface, big: bool) -> bytes:
    return w.pcapng_interface(iface.linktype, iface.snaplen, tsresol=iface.tsresol,
                              tsoffset=iface.tsoffset, name=iface.name, big=big)


def pcapng_bytes(sections: list[Section]) -> bytes:
    out = []
    for sec in sections:
        big = sec.big
        out.append(w.pcapng_section(big=big))
        out.extend(_idb(iface, big) for iface in sec.interfaces)
        for blk in sec.blocks:
            kind = blk[0]
            if kind == "epb":
                _, iface, ts, data = blk
                out.append(w.pcapng_packet(iface, ts, data, big=big))
            elif kind == "pb":
                _, iface, ts, data = blk
                out.append(w.pcapng_obsolete_packet(iface, ts, data, big=big))
            elif kind == "spb":
                out.append(w.pcapng_simple_packet(blk[1], big=big))
            elif kind == "raw":
                _, btype, body = blk
                out.append(w.pcapng_block(btype, body, big=big))
            elif kind == "idb":
                out.append(_idb(blk[1], big))
    return b"".join(out)
