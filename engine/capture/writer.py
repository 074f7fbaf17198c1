"""Writing pcap and pcapng: the file layouts, named once.

One set of pieces serves every writer in the project: the packet export
(:mod:`engine.export.packets`), the Z-Wave capture generator (:mod:`engine.zwave.synth`) and the
tests, which also build unusual and damaged files from the same pieces (other byte orders,
resolutions, obsolete block types, blocks of their own). Each function returns bytes; the
``write_*`` helpers stream records to an open binary file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import BinaryIO

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAP_MAGIC_MODIFIED = 0xA1B2CD34  # Kuznetzov's patched libpcap: 8 more bytes per record
DEFAULT_SNAPLEN = 262_144

# pcapng block types and options
SHB, IDB, OBSOLETE_PB, SPB, EPB = 0x0A0D0D0A, 1, 2, 3, 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END, IF_NAME, IF_TSRESOL, IF_TSOFFSET = 0, 2, 9, 14
TSRESOL_NS = 9  # if_tsresol value for nanoseconds

_NS = 1_000_000_000
_FLUSH = 1 << 20  # bytes gathered before a write


def _order(big: bool) -> str:
    return ">" if big else "<"


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


# -- pcap ---------------------------------------------------------------------------------------
def pcap_header(linktype: int, snaplen: int = DEFAULT_SNAPLEN, *, nano: bool = False,
                big: bool = False, modified: bool = False, major: int = 2,
                minor: int = 4) -> bytes:
    """The 24-byte file header of a classic pcap."""
    magic = PCAP_MAGIC_NS if nano else (PCAP_MAGIC_MODIFIED if modified else PCAP_MAGIC_US)
    return struct.pack(_order(big) + "IHHiIII", magic, major, minor, 0, 0, snaplen, linktype)


def pcap_record(ts_ns: int, data: bytes, origlen: int | None = None, *, nano: bool = False,
                big: bool = False, modified: bool = False) -> bytes:
    """One record: timestamp (µs or ns resolution), captured and original lengths, the bytes."""
    sec, frac = divmod(ts_ns, _NS)
    if not nano:
        frac //= 1000
    e = _order(big)
    head = struct.pack(e + "IIII", sec, frac, len(data),
                       len(data) if origlen is None else origlen)
    if modified:
        head += struct.pack(e + "IHBB", 0, 0, 0, 0)  # ifindex, protocol, pkt_type, pad
    return head + data


def write_pcap(out: BinaryIO, linktype: int, records: Iterable[tuple[int, bytes]],
               *, nano: bool = True, snaplen: int = DEFAULT_SNAPLEN) -> int:
    """``(ts_ns, frame)`` records as a pcap of one link type; returns the record count."""
    out.write(pcap_header(linktype, snaplen, nano=nano))
    return _stream(out, (pcap_record(ts, frame, nano=nano) for ts, frame in records))


# -- pcapng -------------------------------------------------------------------------------------
def pcapng_block(block_type: int, body: bytes, *, big: bool = False) -> bytes:
    """A block: type, total length, the body padded to 32 bits, the total length again."""
    body = _pad(body)
    e = _order(big)
    size = len(body) + 12
    return struct.pack(e + "II", block_type, size) + body + struct.pack(e + "I", size)


def pcapng_option(code: int, value: bytes, *, big: bool = False) -> bytes:
    return struct.pack(_order(big) + "HH", code, len(value)) + _pad(value)


def pcapng_section(*, big: bool = False) -> bytes:
    """A section header block (version 1.0, section length unknown)."""
    return pcapng_block(SHB, struct.pack(_order(big) + "IHHq", BYTE_ORDER_MAGIC, 1, 0, -1),
                        big=big)


def pcapng_interface(linktype: int, snaplen: int = DEFAULT_SNAPLEN, *,
                     tsresol: int | None = None, tsoffset: int | None = None,
                     name: str | None = None, big: bool = False) -> bytes:
    """An interface description block; ``tsresol`` is the raw if_tsresol byte (None: µs)."""
    e = _order(big)
    options = b""
    if name:
        options += pcapng_option(IF_NAME, name.encode(), big=big)
    if tsresol is not None:
        options += pcapng_option(IF_TSRESOL, bytes([tsresol]), big=big)
    if tsoffset is not None:
        options += pcapng_option(IF_TSOFFSET, struct.pack(e + "q", tsoffset), big=big)
    if options:
        options += pcapng_option(OPT_END, b"", big=big)
    return pcapng_block(IDB, struct.pack(e + "HHI", linktype, 0, snaplen) + options, big=big)


def pcapng_packet(interface: int, ts_units: int, data: bytes, origlen: int | None = None, *,
                  big: bool = False) -> bytes:
    """An enhanced packet block; ``ts_units`` counts the interface's timestamp units."""
    body = struct.pack(_order(big) + "IIIII", interface, ts_units >> 32, ts_units & 0xFFFFFFFF,
                       len(data), len(data) if origlen is None else origlen)
    return pcapng_block(EPB, body + data, big=big)


def pcapng_simple_packet(data: bytes, origlen: int | None = None, *, big: bool = False) -> bytes:
    """A simple packet block (interface 0, no timestamp)."""
    return pcapng_block(SPB, struct.pack(_order(big) + "I", len(data) if origlen is None
                                         else origlen) + data, big=big)


def pcapng_obsolete_packet(interface: int, ts_units: int, data: bytes, *,
                           big: bool = False) -> bytes:
    """The obsolete packet block (type 2) that old writers still produce."""
    body = struct.pack(_order(big) + "HHIIII", interface, 0, ts_units >> 32,
                       ts_units & 0xFFFFFFFF, len(data), len(data))
    return pcapng_block(OBSOLETE_PB, body + data, big=big)


def write_pcapng(out: BinaryIO, linktypes: list[int],
                 records: Iterable[tuple[int, int, bytes]],
                 *, snaplen: int = DEFAULT_SNAPLEN) -> int:
    """``(interface, ts_ns, frame)`` records as a pcapng with one nanosecond interface per entry
    of ``linktypes``; returns the record count."""
    out.write(pcapng_section())
    for linktype in linktypes:
        out.write(pcapng_interface(linktype, snaplen, tsresol=TSRESOL_NS))
    return _stream(out, (pcapng_packet(iface, ts, frame) for iface, ts, frame in records))


def _stream(out: BinaryIO, pieces: Iterable[bytes]) -> int:
    """Write ``pieces`` in batches of about a megabyte; returns how many there were."""
    count = 0
    pending: list[bytes] = []
    size = 0
    for piece in pieces:
        pending.append(piece)
        size += len(piece)
        count += 1
        if size >= _FLUSH:
            out.write(b"".join(pending))
            pending.clear()
            size = 0
    out.write(b"".join(pending))
    return count
