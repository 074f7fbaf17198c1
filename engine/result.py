"""What an analysis returns: the capture's description, packets, conversations, leftovers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .capture import ByteSource, Interface
from .capture import linktypes as lt
from .capture.files import describe_files
from .capture.ranges import read_pieces
from .config import FlowConfig
from .conversations import QuotedLinks
from .decode.fragments import Reassembled
from .packet_store import PacketStore
from .packets import PAYLOAD_REASSEMBLED, REASON_TEXT, InnerPackets, Kind, PacketTable, Reason
from .sets import distinct
from .table import Conversation, ConversationTable

#: EtherTypes named in the unassigned breakdown
ETHERTYPE_NAMES = {
    0x0806: "ARP", 0x8035: "RARP", 0x88CC: "LLDP", 0x888E: "EAPOL",
    0x8863: "PPPoE discovery", 0x8864: "PPPoE session", 0x8847: "MPLS", 0x8848: "MPLS",
    0x88F7: "PTP", 0x8809: "Slow protocols (LACP)", 0x9000: "Loopback", 0x88E5: "MACsec",
    0x8100: "802.1Q", 0x88A8: "802.1ad", 0x22F0: "AVTP", 0x8899: "Realtek", 0x88E1: "HomePlug",
    0x893A: "IEEE 1905", 0x0842: "Wake-on-LAN", 0x22EA: "SRP", 0x8870: "Jumbo LLC",
}


def ethertype_name(value: int) -> str:
    """A readable name; values below 0x0600 are 802.3 length fields (an LLC frame follows)."""
    if value < 0x0600:
        return "802.3 LLC"
    return ETHERTYPE_NAMES.get(value, f"0x{value:04x}")


@dataclass
class CaptureInfo:
    """The file and how reading it went."""

    path: Path | None
    format: str  # pcap, pcap-ns, pcapng (+ ".gz"), or "memory"
    packets: int
    interfaces: list[Interface]
    first_ns: int | None
    last_ns: int | None
    warnings: list[str] = field(default_factory=list)
    file_bytes: int = 0
    #: records with no captured bytes that are counted in ``packets`` (and as unassigned) but
    #: have no row in the packet table (see engine.capture.reader.MAX_LISTED_EMPTY)
    unlisted_empty: int = 0
    #: the files read, in the order given (several: one capture merged by time, like mergecap)
    files: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.files and self.path is not None:
            self.files = [self.path]

    @property
    def link_types(self) -> list[int]:
        return sorted({i.linktype for i in self.interfaces})

    @property
    def title(self) -> str:
        """The capture as a person reads it: the file as given, "3 files: a, b, c", or
        "packets" for packets handed over in memory."""
        if len(self.files) > 1:
            return describe_files(self.files)
        if self.path is not None:
            return str(self.path)
        return "packets"


@dataclass
class Unassigned:
    """Packets in no conversation, and why (the Σ invariant: conversations + these = all)."""

    total: int
    by_reason: dict[str, int]
    by_ethertype: dict[str, int]  # non-IP packets by EtherType name
    by_linktype: dict[str, int]  # undecoded link types by name


class FlowResult:
    """The result of one analysis. Behaves like the seed's list of conversations (``len``,
    iteration and indexing give :class:`Conversation` views) and keeps the columns.

    Holds the capture's byte source open for payload reads; ``close()`` (or ``with``) releases it
    and removes any decompressed copy.
    """

    def __init__(self, capture: CaptureInfo, packets: PacketTable,
                 conversations: ConversationTable, quoted: QuotedLinks, source: ByteSource,
                 config: FlowConfig, reassembled: Reassembled | None = None,
                 inner: InnerPackets | None = None) -> None:
        self.capture = capture
        self.packets = packets
        self.conversations = conversations
        self.quoted = quoted
        self.source = source
        self.config = config
        #: where the payloads of datagrams reassembled from IP fragments are in the capture
        self.reassembled = reassembled if reassembled is not None else Reassembled()
        #: the packets inside UDP tunnels, with their (inner) conversations
        self.inner = inner if inner is not None else InnerPackets.empty()
        self._inner_view: PacketTable | None = None
        self.unassigned = _unassigned(packets, capture.unlisted_empty)
        #: what each link plug-in kept of this analysis (its per-frame columns), by plug-in name
        self.plugin_data: dict[str, Any] = {}
        #: where the per-packet columns live (memory or spilled files); closed with the result
        self.packet_store: PacketStore | None = None

    # the seed's list-of-conversations face
    def __len__(self) -> int:
        return len(self.conversations)

    def __iter__(self) -> Any:
        return iter(self.conversations)

    def __getitem__(self, i: int) -> Conversation:
        return self.conversations[i]

    def packets_of(self, conversation: int) -> np.ndarray:
        """Packet indices of ``conversation`` in file order (from the stored packet lists, or
        found in the packet columns when ``store_packet_indices`` was off)."""
        table = self.conversations
        if table.packet_index is not None:
            return table.packets_of(conversation)
        return np.flatnonzero(self.packet_view(conversation).conv == conversation)

    def is_inner(self, conversation: int) -> bool:
        """Whether ``conversation`` is one inside a UDP tunnel (its packets are inner ones)."""
        if not len(self.inner):
            return False
        first = int(self.conversations.first_packet[conversation])
        k = int(np.searchsorted(self.inner.frame, first))
        return (k < len(self.inner) and int(self.inner.frame[k]) == first
                and int(self.inner.packets.conv[k]) == conversation)

    def packet_view(self, conversation: int | None = None) -> PacketTable:
        """The packet columns as ``conversation``'s packets read: the frames' own for one in
        the open, :meth:`inner_view` for one inside a UDP tunnel. Without a conversation: the
        inner view, which serves every conversation but the tunnels' outer UDP ones."""
        if conversation is not None and not self.is_inner(conversation):
            return self.packets
        return self.inner_view()

    def inner_view(self) -> PacketTable:
        """The packet table with every tunnelled frame's row replaced by the packet inside it
        (built once, when first asked; the frames' table itself when nothing is tunnelled).
        Columns the two share are not copied."""
        if not len(self.inner):
            return self.packets
        if self._inner_view is None:
            inner = self.inner.packets
            frame = self.inner.frame
            cols = {}
            for f in fields(PacketTable):
                own, theirs = getattr(self.packets, f.name), getattr(inner, f.name)
                if np.array_equal(own[frame], theirs):
                    cols[f.name] = own
                else:
                    cols[f.name] = own.copy()
                    cols[f.name][frame] = theirs
            self._inner_view = PacketTable(**cols)
        return self._inner_view

    def packet_bytes(self, i: int) -> bytes:
        """The captured bytes of packet ``i`` (read back from the capture)."""
        return self.source.read(int(self.packets.offset[i]), int(self.packets.caplen[i]))

    def packet_files(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Which of ``capture.files`` each packet (or each of ``rows``) was read from."""
        offsets = self.packets.offset if rows is None else self.packets.offset[rows]
        locate = getattr(self.source, "locate", None)
        if locate is None:
            return np.zeros(offsets.size, dtype=np.int64)
        files, _ = locate(offsets)
        return np.asarray(files, dtype=np.int64)

    _file_numbers: np.ndarray | None = None

    def packet_origins(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``rows``: the file it was read from (index into ``capture.files``) and
        its packet number in that file, as Wireshark numbers it when it opens the file alone
        (the numbers are worked out once, for all packets, on the first call)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(self.capture.files) <= 1:
            return np.zeros(rows.size, dtype=np.int64), rows + 1
        files = self.packet_files()
        if self._file_numbers is None:
            numbers = np.empty(files.size, dtype=np.int64)
            for f in distinct(files).tolist():
                mine = files == f
                numbers[mine] = np.arange(1, int(mine.sum()) + 1)
            self._file_numbers = numbers
        return files[rows], self._file_numbers[rows]

    def payload_bytes(self, i: int) -> bytes:
        """The captured part of packet ``i``'s transport payload (empty if none was captured;
        read from its fragments when it completes a reassembled IP datagram)."""
        off = int(self.packets.payload_off[i])
        size = int(self.packets.payload_len[i])
        if off >= 0:
            size = min(size, max(int(self.packets.caplen[i]) - off, 0))
        elif off != PAYLOAD_REASSEMBLED:
            return b""
        one = np.array([i], dtype=np.int64)
        offsets, lengths, _ = self.payload_ranges(one, np.zeros(1, np.int64),
                                                  np.array([size], np.int64))
        return b"".join(bytes(piece) for piece in read_pieces(self.source, offsets, lengths))

    def payload_ranges(self, packets: np.ndarray, skip: np.ndarray, size: np.ndarray,
                       view: PacketTable | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where bytes [skip, skip+size) of each of ``packets``' transport payloads are in the
        capture, ``size`` already limited to what was captured: (offsets, lengths, owner) with
        ``owner`` the position in ``packets`` of each range, in payload order. A packet with its
        payload in one frame is one range; one completing a reassembled datagram is a range per
        fragment piece. ``view``: the packet columns to read (:meth:`packet_view`)."""
        p = self.packets if view is None else view
        packets = np.asarray(packets, dtype=np.int64)
        off = p.payload_off[packets].astype(np.int64)
        owner = np.arange(packets.size, dtype=np.int64)
        split = off == PAYLOAD_REASSEMBLED
        if not split.any():
            return p.offset[packets] + off + skip, size, owner
        whole = ~split
        parts = np.flatnonzero(split)
        f_off, f_len, f_owner = self.reassembled.ranges(packets[parts], skip[parts], size[parts])
        offsets = np.concatenate((p.offset[packets[whole]] + off[whole] + skip[whole], f_off))
        lengths = np.concatenate((size[whole], f_len))
        owners = np.concatenate((owner[whole], parts[f_owner]))
        order = np.argsort(owners, kind="stable")
        return offsets[order], lengths[order], owners[order]

    def conversation_of_stream(self, kind: Kind, stream: int) -> list[int]:
        """Conversation ids with Wireshark stream number ``stream`` (several if split by an idle
        timeout)."""
        return self.conversations.rows_with_stream(kind, stream).tolist()

    def close(self) -> None:
        self.source.close()
        if self.packet_store is not None:
            self.packet_store.close()

    def __enter__(self) -> FlowResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _unassigned(p: PacketTable, unlisted_empty: int = 0) -> Unassigned:
    rows = p.kind == Kind.UNASSIGNED
    reasons = np.bincount(p.reason[rows], minlength=max(REASON_TEXT) + 1)
    reasons[Reason.TRUNCATED] += unlisted_empty  # no bytes at all: cut short like the listed
    by_reason = {REASON_TEXT.get(r, f"reason {r}"): int(c) for r, c in enumerate(reasons)
                 if c and r}
    non_ip = rows & (p.reason == Reason.NON_IP)
    by_ethertype: dict[str, int] = {}
    if non_ip.any():
        values, counts = np.unique(p.ethertype[non_ip], return_counts=True)
        for v, c in zip(values.tolist(), counts.tolist(), strict=True):
            name = ethertype_name(v)
            by_ethertype[name] = by_ethertype.get(name, 0) + c
    links = rows & (p.reason == Reason.LINKTYPE)
    by_linktype: dict[str, int] = {}
    if links.any():
        values, counts = np.unique(p.linktype[links], return_counts=True)
        by_linktype = {lt.name(v): c for v, c in zip(values.tolist(), counts.tolist(),
                                                        strict=True)}
    return Unassigned(int(rows.sum()) + unlisted_empty, by_reason, by_ethertype, by_linktype)
