"""The first payload-carrying packets of every TCP and UDP conversation, as columns.

At load, application detection looks only at how each direction starts (like nDPI's few "DPI
packets"): :func:`openings` finds, for every conversation and direction, its first few packets
that carry payload — for TCP in sequence order, retransmitted copies dropped — and
:func:`head_matrix` gathers the first bytes of the first one into a fixed-width matrix that
signatures test column by column. Parsers then read the few messages they need with
:class:`PayloadReader`; a direction whose first packets leave a hole (or hold too little) is read
through the engine's Follow reassembly instead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..capture.ranges import read_pieces
from ..capture.source import source_array
from ..errors import FlowError
from ..packet_store import MAPPED_PIECE, RELEASE_EVERY, release_pages, release_range, take
from ..packets import Kind, PacketTable
from ..result import FlowResult
from ..sets import distinct

#: payload packets remembered per direction
DEPTH = 4
#: bytes of each direction's first payload kept for the signatures
WIDTH = 64

#: captures up to this size are read through their memory map in passes over many packets
SCATTERED_MAP_LIMIT = 1 << 30


@dataclass
class Openings:
    """Row i describes conversation ``rows[i]``; direction 0 is A→B, 1 is B→A."""

    rows: np.ndarray  # int64 [n]: conversation ids (TCP and UDP conversations with payload)
    packets: np.ndarray  # int32 [n, 2, DEPTH]: packet indices in stream order, -1 = none
    skip: np.ndarray  # int32 [n, 2, DEPTH]: leading bytes already given by earlier packets (TCP)
    contiguous: np.ndarray  # bool [n, 2]: the packets' bytes join without a hole
    more: np.ndarray  # bool [n, 2]: the direction has payload packets beyond these
    tcp: np.ndarray  # bool [n]

    def __len__(self) -> int:
        return int(self.rows.size)


def conversation_packets(result: FlowResult, rows: np.ndarray) -> np.ndarray:
    """The packets of the conversations ``rows`` (sorted), grouped by conversation in that
    order, each conversation's in file order."""
    t = result.conversations
    rows = np.asarray(rows, dtype=np.int64)
    if t.packet_index is not None and t.packet_start is not None:
        if not rows.size:
            return np.zeros(0, dtype=np.int64)
        starts, ends = t.packet_start[rows], t.packet_start[rows + 1]
        lengths = ends - starts
        shift = np.repeat(starts - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
        return t.packet_index[np.arange(int(lengths.sum())) + shift]
    chosen = np.flatnonzero(np.isin(result.inner_view().conv, rows))
    return chosen[np.argsort(result.inner_view().conv[chosen], kind="stable")]


#: packets whose columns :func:`openings` gathers at once on a big capture (bounds its memory)
BATCH_PACKETS = 1 << 20


def openings(result: FlowResult, depth: int = DEPTH, rows: np.ndarray | None = None
             ) -> Openings:
    """The first ``depth`` payload packets of each direction of every TCP/UDP conversation
    (or of the conversations ``rows``: a second, deeper look at a few)."""
    p = result.inner_view()  # conversations inside UDP tunnels read their inner packets
    table = result.conversations
    if rows is not None:
        order = conversation_packets(result, distinct(rows))
        return _openings(result, p, depth, order[_carries_payload(p, order)])
    if table.packet_index is None or len(p) <= BATCH_PACKETS:
        has_payload = (p.payload_len > 0) & (p.payload_off >= 0) & (p.conv >= 0)
        has_payload &= (p.kind == Kind.TCP) | (p.kind == Kind.UDP)
        if table.packet_index is not None:
            order = table.packet_index[has_payload[table.packet_index]]
        else:
            chosen = np.flatnonzero(has_payload)
            order = chosen[np.argsort(p.conv[chosen], kind="stable")]
        return _openings(result, p, depth, order)
    # a big capture: batches of whole conversations, read through their packet lists
    ported = np.flatnonzero((table.kind == Kind.TCP) | (table.kind == Kind.UDP))
    batch = np.cumsum(table.packets[ported]) // BATCH_PACKETS
    parts = []
    for convs in np.split(ported, np.flatnonzero(np.diff(batch)) + 1):
        order = conversation_packets(result, convs)
        parts.append(_openings(result, p, depth, order[_carries_payload(p, order)]))
        release_pages(p, table.packet_index)
    return Openings(*(np.concatenate([getattr(part, f.name) for part in parts])
                      for f in fields(Openings)))


def _carries_payload(p: PacketTable, order: np.ndarray) -> np.ndarray:
    return (take(p.payload_len, order) > 0) & (take(p.payload_off, order) >= 0)


def _openings(result: FlowResult, p: PacketTable, depth: int, order: np.ndarray) -> Openings:
    """:func:`openings` of the payload packets ``order`` (grouped by conversation)."""
    table = result.conversations
    conv = take(p.conv, order).astype(np.int64)
    runs = np.r_[True, conv[1:] != conv[:-1]] if conv.size else np.zeros(0, dtype=bool)
    rows = conv[runs]  # grouped by conversation in id order, so the runs are the unique ids
    if rows.size > 1 and np.any(rows[1:] <= rows[:-1]):
        rows = distinct(conv)
    n = rows.size
    packets = np.full((n, 2, depth), -1, dtype=np.int32)
    more = np.zeros((n, 2), dtype=bool)
    direction = take(p.direction, order)
    for d in (0, 1):
        mine = direction == d
        sub, sub_conv = order[mine], conv[mine]
        if not sub.size:
            continue
        start = np.flatnonzero(np.r_[True, sub_conv[1:] != sub_conv[:-1]])
        sizes = np.diff(np.r_[start, sub.size])
        rank = np.arange(sub.size) - np.repeat(start, sizes)
        keep = rank < depth
        row = np.searchsorted(rows, sub_conv[keep])
        packets[row, d, rank[keep]] = sub[keep]
        more[np.searchsorted(rows, sub_conv[start[sizes > depth]]), d] = True
    tcp = table.kind[rows] == Kind.TCP
    skip = np.zeros_like(packets)
    contiguous = np.ones((n, 2), dtype=bool)
    if tcp.any():
        _sequence_order(result, packets, skip, contiguous, np.flatnonzero(tcp))
    return Openings(rows, packets, skip, contiguous, more, tcp)


def _sequence_order(result: FlowResult, packets: np.ndarray, skip: np.ndarray,
                    contiguous: np.ndarray, tcp_rows: np.ndarray) -> None:
    """Put each TCP direction's packets in sequence order, drop copies of bytes already
    covered, note overlaps to skip and whether a hole is left (in place, for ``tcp_rows``)."""
    p = result.inner_view()  # conversations inside UDP tunnels read their inner packets
    block = packets[tcp_rows]  # [m, 2, depth]
    valid = block >= 0
    safe = np.where(valid, block, 0)
    seq = take(p.seq, safe).astype(np.int64)
    size = np.where(valid, take(p.payload_len, safe), 0).astype(np.int64)
    off = take(p.payload_off, safe).astype(np.int64)
    short = valid & (take(p.caplen, safe).astype(np.int64) - off < size)  # cut by the snap length
    rel = (seq - seq[:, :, :1]) & 0xFFFFFFFF
    rel = np.where(rel >= 1 << 31, rel - (1 << 32), rel)  # before the first packet: negative
    rel = np.where(valid, rel, np.iinfo(np.int64).max)
    order = np.argsort(rel, axis=2, kind="stable")
    block = np.take_along_axis(block, order, axis=2)
    rel = np.take_along_axis(rel, order, axis=2)
    size = np.take_along_axis(size, order, axis=2)
    short = np.take_along_axis(short, order, axis=2)
    valid = block >= 0
    depth = block.shape[2]
    cut = np.zeros(block.shape, dtype=np.int64)
    hole = np.zeros(block.shape[:2], dtype=bool)
    end = np.where(valid[:, :, 0], rel[:, :, 0] + size[:, :, 0], 0)
    cut_short = short[:, :, 0]
    for k in range(1, depth):
        v = valid[:, :, k]
        covered = v & (rel[:, :, k] + size[:, :, k] <= end)
        block[:, :, k][covered] = -1
        live = v & ~covered
        hole |= live & ((rel[:, :, k] > end) | cut_short)
        cut_short = np.where(live, short[:, :, k], cut_short)
        cut[:, :, k] = np.where(live, np.maximum(end - rel[:, :, k], 0), 0)
        end = np.where(live, np.maximum(end, rel[:, :, k] + size[:, :, k]), end)
    # close up the dropped copies so the kept packets come first
    order = np.argsort(block < 0, axis=2, kind="stable")
    packets[tcp_rows] = np.take_along_axis(block, order, axis=2)
    skip[tcp_rows] = np.take_along_axis(cut, order, axis=2)
    contiguous[tcp_rows] = ~hole


class PayloadReader:
    """Packet payloads of one result, read from a memory map of the capture when possible."""

    def __init__(self, result: FlowResult) -> None:
        self.result = result
        self.p = result.inner_view()  # conversations inside UDP tunnels read their inner packets
        self.array = source_array(result.source)
        #: the same bytes for slicing (a numpy slice of a memory map costs far more)
        self.view = memoryview(self.array.data) if self.array is not None else None
        #: the map, for passes that read many scattered packets at once — only on a capture
        #: small enough that mapping all of it is fine: a read through the map maps the page
        #: cache's folio around it (hundreds of kB), so one pass over a big capture's packets
        #: would hold hundreds of MB; those are read with pread instead
        self.scattered_view = (self.view if self.view is not None
                               and len(self.view) <= SCATTERED_MAP_LIMIT else None)
        #: the capture's pages are let go only when it is larger than the memory the packet
        #: columns may use: letting them go costs the refaults of every later read (an eighth
        #: of the analysis on a 100 MB capture of short conversations)
        budget = result.config.packet_budget
        self._release_capture = (self.array is not None and budget is not None
                                 and len(self.array) > budget)
        self._reads = 0

    def touched(self, reads: int) -> None:
        """Count reads through the map; every :data:`RELEASE_EVERY` its pages are let go."""
        self._reads += reads
        if self._reads >= RELEASE_EVERY:
            self.release()

    def release(self) -> None:
        """Let go of the mapped pages of the capture and of spilled packet columns (they stay
        in the page cache)."""
        self._reads = 0
        if self._release_capture:
            release_pages(self.array)
        release_pages(self.p)

    def payload(self, packet: int, skip: int = 0) -> bytes:
        """The captured payload of ``packet`` (after its first ``skip`` bytes)."""
        p = self.p
        off = int(p.payload_off[packet])
        if off < 0:
            return b""
        size = min(int(p.payload_len[packet]), int(p.caplen[packet]) - off) - skip
        if size <= 0:
            return b""
        start = int(p.offset[packet]) + off + skip
        if self.scattered_view is not None:
            self.touched(1)
            return bytes(self.scattered_view[start : start + size])
        return self.result.source.read(start, size)

    def captured(self, packets: np.ndarray) -> np.ndarray:
        """Captured payload bytes of each packet (0 for -1 entries)."""
        p = self.p
        safe = np.maximum(packets, 0)
        off = take(p.payload_off, safe).astype(np.int64)
        size = np.minimum(take(p.payload_len, safe).astype(np.int64),
                          take(p.caplen, safe).astype(np.int64) - off)
        return np.where((packets >= 0) & (off >= 0), np.maximum(size, 0), 0)

    def spans(self, packets: np.ndarray) -> tuple[bytes | memoryview, np.ndarray, np.ndarray]:
        """(buffer, starts, sizes): the captured payload of ``packets[k]`` is
        ``buffer[starts[k] : starts[k] + sizes[k]]`` — the capture's own bytes when they are
        memory-mapped, else the payloads read and joined."""
        sizes = self.captured(packets)
        p = self.p
        starts = (take(p.offset, packets) + take(p.payload_off, packets)).astype(np.int64)
        return self.spans_at(np.where(sizes > 0, starts, 0), sizes)

    def spans_at(self, starts: np.ndarray, sizes: np.ndarray
                 ) -> tuple[bytes | memoryview, np.ndarray, np.ndarray]:
        """The capture's bytes ``[starts[k], starts[k] + sizes[k])`` as (buffer, starts,
        sizes): the memory map itself, or those bytes read and joined."""
        if self.scattered_view is not None:
            return self.scattered_view, starts, sizes
        pieces = read_pieces(self.result.source, starts, sizes)  # nearby ones read in blocks
        sizes = np.array([len(piece) for piece in pieces], dtype=np.int64)
        return b"".join(pieces), np.cumsum(sizes) - sizes, sizes

    def head_matrix(self, packets: np.ndarray, width: int = WIDTH
                    ) -> tuple[np.ndarray, np.ndarray]:
        """The first ``width`` payload bytes of each packet (zero-padded) and each packet's
        captured payload size; -1 entries give an empty row and size 0."""
        n = packets.size
        out = np.zeros((n, width), dtype=np.uint8)
        full = self.captured(packets)
        size = np.minimum(full, width)
        rows = np.flatnonzero(size > 0)
        if not rows.size:
            return out, full
        chosen = packets[rows]
        start = (take(self.p.offset, chosen) + take(self.p.payload_off, chosen)).astype(np.int64)
        array = self.array
        if array is not None and array.size >= width:
            windows = np.lib.stride_tricks.sliding_window_view(array, width)
            inside = start <= array.size - width
            fits = np.flatnonzero(inside)
            big = self.scattered_view is None
            if big:  # in file order: a piece of reads maps one short stretch, let go after
                fits = fits[np.argsort(start[fits], kind="stable")]
            step = MAPPED_PIECE if big else RELEASE_EVERY  # a piece at a time: see touched()
            for a in range(0, fits.size, step):
                piece = fits[a : a + step]
                at = start[piece]
                out[rows[piece]] = windows[at]
                if big:
                    release_range(array, int(at[0]), int(at[-1]) + width)
                else:
                    self.touched(piece.size)
            for r, s in zip(rows[~inside].tolist(), start[~inside].tolist(), strict=True):
                tail = array[s : s + width]
                out[r, : tail.size] = tail
        else:  # no memory map (a capture of several files): nearby heads read in blocks
            pieces = read_pieces(self.result.source, start, size[rows])
            for r, data in zip(rows.tolist(), pieces, strict=True):
                out[r, : len(data)] = np.frombuffer(data, dtype=np.uint8)
        beyond = np.arange(width)[None, :] >= size[:, None]
        out[beyond] = 0
        return out, full


class NeedMore(Exception):
    """The remembered packets end inside a message: look again with more packets (raised
    only by a shallow reader; the analysis gives the conversation a deeper look)."""


class DirectionReader:
    """What each side of a conversation sent first, for the parsers: its payload packets
    joined in stream order, read from the capture only when a parser asks. A shallow reader
    (the first pass over every conversation) raises :class:`NeedMore` when a parser wants
    bytes beyond its packets; a deep one falls back to Follow's reassembly."""

    def __init__(self, reader: PayloadReader, openings: Openings, deep: bool = False) -> None:
        self.reader = reader
        self.o = openings
        self.deep = deep
        self._follow: dict[int, tuple[bytes, bytes]] = {}
        # where each remembered packet's new bytes are in the capture, for all rows at once
        p = reader.p
        safe = np.maximum(openings.packets, 0)
        off = take(p.payload_off, safe).astype(np.int64)
        size = np.minimum(take(p.payload_len, safe).astype(np.int64),
                          take(p.caplen, safe).astype(np.int64) - off) - openings.skip
        self._start = take(p.offset, safe) + off + openings.skip
        self._size = np.where((openings.packets >= 0) & (off >= 0), np.maximum(size, 0), 0)
        # the first packet of each direction, which nearly every parser reads, as plain lists
        self._first_start = self._start[:, :, 0].tolist()
        self._first_size = self._size[:, :, 0].tolist()
        self._row = -1
        self._pieces: dict[int, list[bytes]] = {}

    def _read(self, i: int, d: int) -> list[bytes]:
        """The remembered packets' bytes of row ``i``, direction ``d`` (b"" for an absent
        packet), read once while parsers look at that row."""
        if i != self._row:
            self._row, self._pieces = i, {}
        pieces = self._pieces.get(d)
        if pieces is None:
            view, source = self.reader.scattered_view, self.reader.result.source
            pairs = zip(self._start[i, d].tolist(), self._size[i, d].tolist(), strict=True)
            if view is not None:
                pieces = [bytes(view[s : s + n]) if n else b"" for s, n in pairs]
                self.reader.touched(len(pieces))
            else:
                pieces = [source.read(s, n) if n else b"" for s, n in pairs]
            self._pieces[d] = pieces
        return pieces

    def stream_spans(self, rows: list[int]) -> tuple[memoryview, np.ndarray, np.ndarray,
                                                     np.ndarray, np.ndarray] | None:
        """(the capture's memory map, starts and sizes [len(rows), 2, depth] of the remembered
        packets' new bytes, contiguous and more [len(rows), 2]) for a compiled reader of many
        rows; None when the capture is not memory-mapped."""
        if self.reader.view is None:
            return None
        o = self.o
        starts = np.ascontiguousarray(self._start[rows], dtype=np.int64)
        sizes = np.ascontiguousarray(self._size[rows], dtype=np.int64)
        view = self.reader.scattered_view
        if view is None:  # a big capture: the packets' bytes read and joined
            buffer, flat_starts, flat_sizes = self.reader.spans_at(
                np.where(sizes > 0, starts, 0).ravel(), np.maximum(sizes, 0).ravel())
            view = memoryview(buffer)
            starts = np.ascontiguousarray(flat_starts.reshape(starts.shape), dtype=np.int64)
            sizes = np.where(sizes > 0, flat_sizes.reshape(sizes.shape), sizes)
        return (view, starts, np.ascontiguousarray(sizes, dtype=np.int64),
                np.ascontiguousarray(o.contiguous[rows]), np.ascontiguousarray(o.more[rows]))

    def first_spans(self, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(starts, sizes) [len(rows), 2] of the first packet of each direction of ``rows``
        in the capture (size 0: none)."""
        return self._start[rows, :, 0], self._size[rows, :, 0]

    def packets(self, i: int, d: int) -> list[int]:
        return [int(k) for k in self.o.packets[i, d] if k >= 0]

    def first(self, i: int, d: int) -> bytes:
        """The first payload packet of direction ``d`` of row ``i``."""
        size = self._first_size[i][d]
        if not size:
            return b""
        start = self._first_start[i][d]
        # (through the map only where the capture is small: on a big one each read would map
        # the page-cache folio around it, up to megabytes, and keep it until a release)
        view = self.reader.scattered_view
        if view is not None:
            self.reader.touched(1)
            return bytes(view[start : start + size])
        return self.reader.result.source.read(start, size)

    def datagrams(self, i: int, d: int) -> list[bytes]:
        """The first payloads of a direction, each on its own (UDP)."""
        return [piece for piece, k in zip(self._read(i, d), self.o.packets[i, d].tolist(),
                                          strict=True) if k >= 0]

    def more_datagrams(self, i: int) -> None:
        """A parser needs datagrams beyond the remembered ones (a shallow reader asks for a
        deeper look; a deep one has given all it has)."""
        if not self.deep and self.o.more[i].any():
            raise NeedMore

    def _joined(self, i: int, d: int) -> bytes:
        if i != self._row:
            self._row, self._pieces = i, {}
        pieces = self._pieces.get(d)
        if pieces is None and self.reader.scattered_view is not None:
            view = self.reader.scattered_view  # joined straight from the capture's map
            return b"".join([view[s : s + n] for s, n in zip(
                self._start[i, d].tolist(), self._size[i, d].tolist(), strict=True) if n])
        return b"".join(self._read(i, d))

    def stream(self, i: int, d: int, want: int = 0) -> bytes:
        """Direction ``d``'s first bytes in stream order: the remembered packets when they
        join without a hole and hold at least ``want`` bytes (or are all there is)."""
        o = self.o
        if o.contiguous[i, d]:
            data = self._joined(i, d)
            if len(data) >= want or not o.more[i, d]:
                return data
        if not self.deep:
            raise NeedMore
        return self.followed(i)[d]

    def everything(self, i: int, d: int) -> bytes:
        """All the bytes of direction ``d`` this reader holds: a shallow reader asks for the
        deeper look when the direction goes on; a deep one gives its packets (reassembled by
        Follow only when they leave a hole)."""
        o = self.o
        if not self.deep and o.more[i, d]:
            raise NeedMore
        if o.contiguous[i, d]:
            return self._joined(i, d)
        return self.followed(i)[d]

    def followed(self, i: int, packets: int = 64) -> tuple[bytes, bytes]:
        """Both directions of the conversation's first ``packets`` packets, reassembled."""
        cached = self._follow.get(i)
        if cached is not None:
            return cached
        from ..follow import conversation_stream  # (7 ms of imports, for gapped openings)

        try:
            with conversation_stream(self.reader.result, int(self.o.rows[i]),
                                     first_packets=packets) as s:
                both = (s.data(0), s.data(1))
        except FlowError:
            both = (b"", b"")
        self._follow[i] = both
        return both
