"""IP fragments counted and reassembled the way Wireshark does it.

Wireshark reassembles a fragmented datagram and hands the transport header to TCP/UDP only in the
frame that completes it; that frame (with its own frame length) is the one packet the conversation
counts, and the other fragments belong to no conversation. It reassembles only fragments whose
bytes are all in the capture (see :func:`engine.decode.exact.parse_ip`).

Payloads are never copied at load: a completed datagram is remembered as the pieces of the capture
that hold its transport payload (:class:`Reassembled`), read back when a stream is followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cancel import every
from ..packets import PacketTable, Reason
from .exact import FRAGMENT_HEAD, Fragment, transport_fields
from .fast import store_fields


@dataclass
class Reassembled:
    """Where the transport payload of each reassembled datagram is in the capture.

    ``packet`` lists the completing packets (ascending); the payload of ``packet[k]`` is the
    concatenation of the capture ranges ``offset[start[k]:start[k+1]]`` (with their ``length``),
    overlaps already removed (in offset order, the earlier fragment's bytes win, as Wireshark's
    reassembly keeps them).
    """

    packet: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    offset: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    length: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.packet.size)

    def ranges(self, packets: np.ndarray, skip: np.ndarray, size: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The capture ranges holding bytes [skip, skip+size) of the payload of each of
        ``packets`` (which must be reassembled ones): (offsets, lengths, owner), ``owner`` being
        the position in ``packets`` each range belongs to, ranges in payload order."""
        k = np.searchsorted(self.packet, packets)
        count = self.start[k + 1] - self.start[k]
        owner = np.repeat(np.arange(packets.size, dtype=np.int64), count)
        first = np.repeat(np.cumsum(count) - count, count)  # the owner's first range, here
        piece = self.start[k][owner] + np.arange(owner.size, dtype=np.int64) - first
        length = self.length[piece]
        begin = np.cumsum(length) - length
        begin -= begin[first]  # where each range starts in its owner's payload
        a = np.clip(skip[owner] - begin, 0, length)
        b = np.clip((skip + size)[owner] - begin, 0, length)
        keep = b > a
        return self.offset[piece][keep] + a[keep], (b - a)[keep], owner[keep]


@dataclass
class _Datagram:
    # (offset in the datagram, length, arrival, where its payload is in the capture, fragment)
    # of every fragment received
    parts: list[tuple[int, int, int, int, Fragment]] = field(default_factory=list)
    total: int | None = None  # payload length, known once the last fragment arrived

    def add(self, frag: Fragment, where: int) -> None:
        self.parts.append((frag.offset, frag.length, len(self.parts), where, frag))
        if not frag.more:
            self.total = frag.offset + frag.length

    def complete(self) -> bool:
        if self.total is None:
            return False
        reach = 0
        for start, end in sorted((o, o + n) for o, n, *_ in self.parts):
            if start > reach:
                return False
            reach = max(reach, end)
            if reach >= self.total:
                return True
        return reach >= self.total

    def pieces(self) -> list[tuple[int, int, int, int, Fragment]]:
        """(datagram offset, length, skip, capture offset, fragment) covering the payload once:
        in offset order, bytes already covered by an earlier piece are left out."""
        out = []
        reach = 0
        for offset, length, _, where, frag in sorted(self.parts, key=lambda p: p[:3]):
            end = min(offset + length, self.total or 0)
            if end <= reach:
                continue
            skip = max(reach - offset, 0)
            out.append((offset + skip, end - offset - skip, skip, where, frag))
            reach = end
        return out


def _head(pieces: list[tuple[int, int, int, int, Fragment]]) -> bytes:
    """The datagram's first FRAGMENT_HEAD bytes, from the fragments that carry them."""
    head = bytearray()
    for offset, length, skip, _, frag in pieces:
        if offset >= FRAGMENT_HEAD:
            break
        head += frag.head[skip : skip + length]
    return bytes(head)


class Fragments:
    """Datagrams being put together from their fragments, chunk by chunk.

    :meth:`add` takes one chunk's fragments (the completing frame of a datagram is always in
    the chunk being added; the others may be in earlier ones, so where each fragment's bytes are
    in the capture is noted when it arrives); :meth:`reassembled` says where the completed
    datagrams' payloads are.
    """

    def __init__(self) -> None:
        self.pending: dict[tuple[int, int, int, int, int], _Datagram] = {}
        self._done: list[int] = []
        self._offsets: list[int] = []
        self._lengths: list[int] = []
        self._counts: list[int] = []

    def add(self, fragments: list[tuple[int, Fragment]], packets: PacketTable,
            first_index: int = 0) -> None:
        """Give each completing frame its datagram's transport fields; ``packets`` holds the
        packets ``first_index`` on (the chunk of ``fragments``)."""
        pending = self.pending
        for k in every(len(fragments), 1 << 10):
            index, frag = fragments[k]
            if not frag.captured:
                continue  # Wireshark leaves it out of reassembly: its datagram never completes
            row = index - first_index
            key = (frag.family, frag.src, frag.dst, frag.ident, frag.proto)
            datagram = pending.setdefault(key, _Datagram())
            datagram.add(frag, int(packets.offset[row]) + frag.at)
            if not datagram.complete():
                continue
            del pending[key]
            pieces = datagram.pieces()
            fields, payload_start = transport_fields(_head(pieces), frag.family, frag.src,
                                                     frag.dst, frag.proto, datagram.total or 0)
            if fields.reason not in (Reason.NONE, Reason.TCP_HEADER):
                continue
            fields.ethertype = int(packets.ethertype[row])
            store_fields(packets, row, fields)
            if payload_start < 0 or fields.reason != Reason.NONE:
                continue
            n = 0
            for offset, length, skip, where, _ in pieces:
                cut = max(payload_start - offset, 0)  # the transport header is not payload
                if cut >= length:
                    continue
                self._offsets.append(where + skip + cut)
                self._lengths.append(length - cut)
                n += 1
            self._done.append(index)
            self._counts.append(n)

    def reassembled(self) -> Reassembled:
        """Where the transport payloads of the datagrams completed so far are."""
        if not self._done:
            return Reassembled()
        start = np.zeros(len(self._done) + 1, dtype=np.int64)
        np.cumsum(self._counts, out=start[1:])
        # fragments come in packet order, so the completing packets are already ascending
        return Reassembled(np.array(self._done, dtype=np.int64), start,
                           np.array(self._offsets, dtype=np.int64),
                           np.array(self._lengths, dtype=np.int64))


def resolve_fragments(fragments: list[tuple[int, Fragment]], packets: PacketTable
                      ) -> Reassembled:
    """All of a capture's fragments at once (see :class:`Fragments`)."""
    found = Fragments()
    found.add(fragments, packets)
    return found.reassembled()
