"""The per-packet columns every later stage reads: what a packet is, and where its bytes are.

One row per packet read, in file order. Addresses are 128-bit, split into ``hi``/``lo`` uint64
halves (an IPv4 address is ``hi = 0, lo = address``), so IPv4 and IPv6 group the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import numpy as np


class Kind(IntEnum):
    """What conversation family a packet belongs to: the IP families the decoders produce.

    Each is described in :mod:`engine.protocols`; plug-ins register further families there
    with kind codes of their own (Z-Wave does).
    """

    UNASSIGNED = 0
    TCP = 1
    UDP = 2
    ICMP = 3
    ICMPV6 = 4
    IP = 5  # another IP protocol (GRE, ESP, SCTP, OSPF, …): keyed by addresses and protocol


class Reason(IntEnum):
    """Why a packet is in no conversation (``Kind.UNASSIGNED``); plug-ins add codes of their own
    with :func:`register_reason`."""

    NONE = 0
    NON_IP = 1  # ARP, LLDP, STP, …: broken down by EtherType
    LINKTYPE = 2  # a link layer Flowscope does not decode
    TRUNCATED = 3  # captured too short to hold its headers
    MALFORMED = 4  # headers that contradict themselves
    FRAGMENT = 5  # an IP fragment that does not complete a datagram (Wireshark counts it nowhere)
    #: a TCP header Wireshark reads far enough to find its conversation (ports, sequence number,
    #: flags) but then rejects: a data offset below 20 bytes, or more header than the packet has.
    #: Counted nowhere, but it uses up (and may start) a tcp.stream, as in Wireshark.
    TCP_HEADER = 6


#: what the unassigned breakdown calls each reason code
REASON_TEXT: dict[int, str] = {
    Reason.NON_IP: "not IP",
    Reason.LINKTYPE: "link type not decoded",
    Reason.TRUNCATED: "headers cut short by the snap length",
    Reason.MALFORMED: "malformed headers",
    Reason.FRAGMENT: "IP fragment (counted with the frame that completes the datagram)",
    Reason.TCP_HEADER: "TCP header malformed or cut short (it still uses a tcp.stream number)",
}


def register_reason(text: str) -> int:
    """A new reason code (for a plug-in's packets it cannot place), described by ``text``."""
    for code, known in REASON_TEXT.items():
        if known == text:
            return code
    code = max(max(Reason), *REASON_TEXT) + 1
    REASON_TEXT[code] = text
    return code


def unregister_reason(code: int) -> None:
    if code not in {int(r) for r in Reason}:  # the core reasons stay
        REASON_TEXT.pop(code, None)

#: ``payload_off`` of a packet that completes a fragmented IP datagram whose fragments were all
#: captured: its payload is read back from the fragments (``engine.decode.fragments``)
PAYLOAD_REASSEMBLED = -2

# TCP flag bits as in the header (NS is bit 8)
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x100


@dataclass
class PacketTable:
    """Columns, one row per packet in file order."""

    ts_ns: np.ndarray  # int64, nanoseconds since the epoch
    caplen: np.ndarray  # uint32, bytes captured
    origlen: np.ndarray  # uint32, bytes on the wire (what Wireshark's byte counts add up)
    offset: np.ndarray  # int64, position of the packet's first byte in the capture source
    iface: np.ndarray  # uint16, index into CaptureInfo.interfaces
    linktype: np.ndarray  # uint16
    kind: np.ndarray  # uint8, Kind
    reason: np.ndarray  # uint8, Reason (UNASSIGNED rows)
    ethertype: np.ndarray  # uint16, for the non-IP breakdown (0 when not Ethernet-like)
    family: np.ndarray  # uint8, 4 or 6 (0: not IP)
    ip_proto: np.ndarray  # uint8
    src_hi: np.ndarray  # uint64
    src_lo: np.ndarray  # uint64
    dst_hi: np.ndarray  # uint64
    dst_lo: np.ndarray  # uint64
    sport: np.ndarray  # uint16 (0 for protocols without ports)
    dport: np.ndarray  # uint16
    payload_off: np.ndarray  # int32, payload start in the packet; -1 = not in one frame;
    #                          PAYLOAD_REASSEMBLED = in IP fragments (``FlowResult.reassembled``)
    payload_len: np.ndarray  # int32, payload bytes from the IP / UDP length, never the frame length
    tcp_flags: np.ndarray  # uint16
    seq: np.ndarray  # uint32
    ack: np.ndarray  # uint32
    win: np.ndarray  # uint16, raw window field (scaling is the TCP analysis's business)
    tcp_hlen: np.ndarray  # uint8, TCP header length in bytes
    icmp_type: np.ndarray  # uint8
    icmp_code: np.ndarray  # uint8
    icmp_id: np.ndarray  # uint16 (echo identifier)
    icmp_seq: np.ndarray  # uint16 (echo sequence)
    conv: np.ndarray  # int32, conversation id; -1 = unassigned
    direction: np.ndarray  # uint8, 0 = A→B, 1 = B→A

    def __len__(self) -> int:
        return int(self.ts_ns.size)

    @classmethod
    def empty(cls, n: int) -> PacketTable:
        """Zeroed columns for ``n`` packets (conv = -1)."""
        cols: dict[str, np.ndarray] = {f.name: np.zeros(n, dtype=DTYPES[f.name])
                                       for f in fields(cls)}
        cols["conv"][:] = -1
        cols["payload_off"][:] = -1
        return cls(**cols)

    def rows(self, start: int, stop: int) -> PacketTable:
        """A view of rows [start, stop): writes go into this table."""
        return PacketTable(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})


def _zeros(n: int) -> PacketTable:
    """Zeroed columns for ``n`` packets, all in one allocation.

    One block of ~100 bytes a packet is big enough for numpy to ask the kernel for 2 MB pages,
    which column by column it does not (it does from 4 MB; most columns are one or two bytes a
    packet). Filling a million packets' columns took 25,000 page faults with small pages,
    0.1 s of a 1M-packet load on this project's machines, against about 50 with large ones."""
    block = np.zeros(n * ROW_BYTES, dtype=np.uint8)
    return PacketTable(**lay_out(block, n, n, COLUMN_LAYOUT))


def lay_out(block: np.ndarray, capacity: int, n: int, layout: list[tuple[str, Any]],
            start: int = 0) -> dict[str, np.ndarray]:
    """Columns of ``n`` items carved from the byte array ``block`` from ``start`` on, one after
    the other, each with room for ``capacity`` items (``layout``: (name, dtype), largest items
    first, so every column stays aligned)."""
    out: dict[str, np.ndarray] = {}
    offset = start
    for name, dtype in layout:
        size = np.dtype(dtype).itemsize
        out[name] = block[offset : offset + n * size].view(dtype)
        offset += capacity * size
    return out


class PacketTableBuilder:
    """Grows a packet table chunk by chunk without concatenating at the end.

    Columns are allocated zeroed with spare capacity (large zeroed allocations are fresh pages
    from the system: no memory and no work until rows are written) and doubled when full, so
    decoding writes straight into the final arrays. Rows are handed out once, never reused.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._table = _zeros(max(capacity, 1))
        self.size = 0

    @property
    def capacity(self) -> int:
        return len(self._table)

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` rows in total (a hint; growth happens anyway)."""
        if capacity > self.capacity:
            old = self._table
            self._table = _zeros(capacity)
            for name in DTYPES:
                getattr(self._table, name)[: self.size] = getattr(old, name)[: self.size]

    def append(self, n: int) -> PacketTable:
        """The next ``n`` rows, in the "nothing decoded" state, as a writable view."""
        if self.size + n > self.capacity:
            self.reserve(max(self.size + n, self.capacity * 2))
        view = self._table.rows(self.size, self.size + n)
        view.conv.fill(-1)  # every other column starts at zero, as allocated
        view.payload_off.fill(-1)
        self.size += n
        return view

    def finish(self) -> PacketTable:
        return self._table.rows(0, self.size)


DTYPES: dict[str, type] = {
    "ts_ns": np.int64, "caplen": np.uint32, "origlen": np.uint32, "offset": np.int64,
    "iface": np.uint16, "linktype": np.uint16, "kind": np.uint8, "reason": np.uint8,
    "ethertype": np.uint16, "family": np.uint8, "ip_proto": np.uint8,
    "src_hi": np.uint64, "src_lo": np.uint64, "dst_hi": np.uint64, "dst_lo": np.uint64,
    "sport": np.uint16, "dport": np.uint16, "payload_off": np.int32, "payload_len": np.int32,
    "tcp_flags": np.uint16, "seq": np.uint32, "ack": np.uint32, "win": np.uint16,
    "tcp_hlen": np.uint8, "icmp_type": np.uint8, "icmp_code": np.uint8, "icmp_id": np.uint16,
    "icmp_seq": np.uint16, "conv": np.int32, "direction": np.uint8,
}
#: bytes of one packet's columns
ROW_BYTES = sum(np.dtype(d).itemsize for d in DTYPES.values())
#: the packet columns laid out in one block (:func:`lay_out`): largest items first
COLUMN_LAYOUT = sorted(DTYPES.items(), key=lambda item: -np.dtype(item[1]).itemsize)


@dataclass
class InnerPackets:
    """The packets inside UDP tunnels (VXLAN, Geneve, GTP-U): one row per tunnelled frame whose
    inner packet belongs to a conversation, in frame order.

    Wireshark counts such a frame twice: in the outer UDP conversation (the frame's own row of
    the packet table) and in the inner one (its row here). ``packets`` has the inner packet's
    columns — frame-level ones (time, lengths, offset) copied from its frame, ``payload_off``
    counted from the frame's start, ``conv``/``direction`` its inner conversation — so it reads
    like a packet table wherever a conversation's packets are read.
    """

    frame: np.ndarray  # int64, the frame (packet index) each row is inside
    tunnel: np.ndarray  # uint8, which tunnel (engine.decode.layers.TUNNEL_NAMES)
    packets: PacketTable

    def __len__(self) -> int:
        return int(self.frame.size)

    @classmethod
    def empty(cls) -> InnerPackets:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8),
                   PacketTable.empty(0))

    @classmethod
    def concat(cls, parts: list[InnerPackets]) -> InnerPackets:
        """One table from pieces, rows ordered by frame."""
        parts = [part for part in parts if len(part)]
        if not parts:
            return cls.empty()
        frame = np.concatenate([part.frame for part in parts])
        order = np.argsort(frame, kind="stable")
        cols = {f.name: np.concatenate([getattr(part.packets, f.name) for part in parts])[order]
                for f in fields(PacketTable)}
        return cls(frame[order], np.concatenate([part.tunnel for part in parts])[order],
                   PacketTable(**cols))
