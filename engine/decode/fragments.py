"""IP fragments counted the way Wireshark counts them.

Wireshark reassembles a fragmented datagram and hands the transport header to TCP/UDP only in the
frame that completes it; that frame (with its own frame length) is the one packet the conversation
counts, and the other fragments belong to no conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cancel import every
from ..packets import PacketTable, Reason
from .exact import Fragment, transport_fields
from .fast import store_fields


@dataclass
class _Datagram:
    ranges: list[tuple[int, int]] = field(default_factory=list)  # [start, end) received
    total: int | None = None  # payload length, known once the last fragment arrived
    head: bytes = b""  # the start of the payload (from the offset-0 fragment)

    def add(self, frag: Fragment) -> None:
        self.ranges.append((frag.offset, frag.offset + frag.length))
        if not frag.more:
            self.total = frag.offset + frag.length
        if frag.offset == 0 and frag.data and not self.head:  # first-seen bytes win
            self.head = frag.data

    def complete(self) -> bool:
        if self.total is None or not self.head:
            return False
        reach = 0
        for start, end in sorted(self.ranges):
            if start > reach:
                return False
            reach = max(reach, end)
            if reach >= self.total:
                return True
        return reach >= self.total


Pending = dict[tuple[int, int, int, int, int], _Datagram]


def resolve_fragments(fragments: list[tuple[int, Fragment]], packets: PacketTable,
                      pending: Pending | None = None, first_index: int = 0) -> int:
    """Give each completing frame its datagram's transport fields; returns datagrams completed.

    Chunk by chunk: ``packets`` holds packets ``first_index`` on, and ``pending`` keeps the
    incomplete datagrams from one chunk to the next (the completing frame is always the
    current one).
    """
    if pending is None:
        pending = {}
    done = 0
    for k in every(len(fragments), 1 << 10):
        index, frag = fragments[k]
        key = (frag.family, frag.src, frag.dst, frag.ident, frag.proto)
        datagram = pending.setdefault(key, _Datagram())
        datagram.add(frag)
        if not datagram.complete():
            continue
        del pending[key]
        fields = transport_fields(datagram.head, frag.family, frag.src, frag.dst, frag.proto,
                                  datagram.total or 0)
        if fields.reason == Reason.NONE:
            row = index - first_index
            fields.ethertype = int(packets.ethertype[row])
            store_fields(packets, row, fields)
            done += 1
    return done
