"""Packets of a capture written to a new pcap file, with their original timestamps and link type.

The packets' bytes are read back from the capture by offset in large blocks. One link type gives
a classic pcap (microsecond timestamps when every timestamp allows, else the nanosecond variant,
so times are never rounded); packets of several link types (a multi-interface pcapng), or a
destination named ``*.pcapng``, give a pcapng file with one interface per link type. The file
is written atomically: an error or a cancel leaves no partial file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..atomic import atomic_write
from ..capture import CancelFn
from ..capture.ranges import read_ranges
from ..capture.writer import (
    TSRESOL_NS,
    pcap_header,
    pcap_record,
    pcapng_interface,
    pcapng_packet,
    pcapng_section,
)
from ..errors import ConversationNotFound, ExportError, LoadCancelled
from ..result import FlowResult
from ..sets import distinct

#: progress(packets written, packets total)
PacketProgressFn = Callable[[int, int], None]

_BATCH = 4096


def write_packets(result: FlowResult, packets: np.ndarray, path: str | Path,
                  progress: PacketProgressFn | None = None, cancel: CancelFn | None = None,
                  ) -> str:
    """Write ``packets`` (packet indices, kept in the given order) to ``path``. Returns the
    format written: "pcap", "pcap-ns" or "pcapng"."""
    packets = np.asarray(packets, dtype=np.int64)
    p = result.packets
    if packets.size and (packets.min() < 0 or packets.max() >= len(p)):
        raise ExportError("Some of the packets to export are not in this capture.")
    linktypes = p.linktype[packets]
    kinds = distinct(linktypes)
    ts = p.ts_ns[packets]
    snaplen = max(int(p.caplen[packets].max()) if packets.size else 0, 65535)
    as_pcapng = kinds.size > 1 or Path(path).suffix.lower() == ".pcapng"
    if not kinds.size:
        kinds = np.array([_default_linktype(result)])
    with atomic_write(path) as out:
        if not as_pcapng:
            nano = bool((ts % 1000 != 0).any())
            linktype = int(kinds[0])
            out.write(pcap_header(linktype, snaplen, nano=nano))
            _records(result, packets, out, _pcap_record(nano), progress, cancel)
            fmt = "pcap-ns" if nano else "pcap"
        else:
            iface_of = {int(k): i for i, k in enumerate(kinds.tolist())}
            out.write(_pcapng_header(kinds.tolist(), snaplen))
            _records(result, packets, out, _pcapng_record(iface_of), progress, cancel)
            fmt = "pcapng"
    return fmt


def export_conversation(result: FlowResult, conversation: int, path: str | Path,
                        progress: PacketProgressFn | None = None,
                        cancel: CancelFn | None = None) -> str:
    """Write the packets of conversation ``conversation`` (a table row) to ``path``."""
    table = result.conversations
    if not 0 <= conversation < len(table):
        raise ConversationNotFound(f"There is no conversation {conversation}.")
    return write_packets(result, result.packets_of(conversation), path, progress, cancel)


def _default_linktype(result: FlowResult) -> int:
    links = result.capture.link_types
    return links[0] if links else 1


RecordFn = Callable[[int, int, int, int, bytes], bytes]


def _pcap_record(nano: bool) -> RecordFn:
    def record(ts: int, caplen: int, origlen: int, linktype: int, data: bytes) -> bytes:
        del caplen, linktype  # the caplen is the data's length
        return pcap_record(ts, data, origlen, nano=nano)
    return record


def _pcapng_header(linktypes: list[int], snaplen: int) -> bytes:
    """A section with one nanosecond interface per link type."""
    return pcapng_section() + b"".join(pcapng_interface(linktype, snaplen, tsresol=TSRESOL_NS)
                                       for linktype in linktypes)


def _pcapng_record(iface_of: dict[int, int]) -> RecordFn:
    def record(ts: int, caplen: int, origlen: int, linktype: int, data: bytes) -> bytes:
        del caplen
        return pcapng_packet(iface_of[linktype], ts, data, origlen)
    return record


def _records(result: FlowResult, packets: np.ndarray, out: BinaryIO, record: RecordFn,
             progress: PacketProgressFn | None, cancel: CancelFn | None) -> None:
    p = result.packets
    total = int(packets.size)
    for start in range(0, total, _BATCH):
        rows = packets[start : start + _BATCH]
        parts = []
        datas = read_ranges(result.source, p.offset[rows], p.caplen[rows])
        for ts, cap, orig, link, data in zip(p.ts_ns[rows].tolist(), p.caplen[rows].tolist(),
                                             p.origlen[rows].tolist(), p.linktype[rows].tolist(),
                                             datas, strict=True):
            if len(data) != cap:
                raise ExportError("The capture file changed or became unreadable during the "
                                  "export.")
            parts.append(record(ts, cap, orig, link, bytes(data)))
        out.write(b"".join(parts))
        if cancel is not None and cancel():
            raise LoadCancelled("The export was cancelled.")
        if progress is not None:
            progress(min(start + _BATCH, total), total)
