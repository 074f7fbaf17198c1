"""The TCP packets of some conversations as columns, grouped by conversation, file order inside.

Everything the TCP analyses need per packet is gathered once here: direction, flags, sequence and
acknowledgement numbers relative to each direction's base (unwrapped past 2^32), payload length
(from the IP length) and how much of it was captured. Relative numbers follow Wireshark: a
direction's base is the sequence number of its first packet if that is a SYN, else one less.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..cancel import checkpoint
from ..packet_store import take
from ..packets import ACK, PAYLOAD_REASSEMBLED, SYN, Kind, PacketTable
from ..table import ConversationTable

_MASK32 = np.int64((1 << 32) - 1)


@dataclass
class TcpPackets:
    """Rows = TCP packets of ``convs`` (table rows), grouped by conversation in ``convs`` order."""

    convs: np.ndarray  # int64, the conversations (table rows) covered
    bounds: np.ndarray  # int64, len(convs)+1: rows of conversation k are bounds[k]:bounds[k+1]
    index: np.ndarray  # int64, packet index in the capture
    local: np.ndarray  # int64, position of the packet's conversation in ``convs``
    lane: np.ndarray  # uint8, 0 = sent by A, 1 = sent by B
    flags: np.ndarray  # uint16
    seq: np.ndarray  # uint32, raw
    ack: np.ndarray  # uint32, raw
    rel: np.ndarray  # int64, sequence number relative to the sender's base, unwrapped
    ack_rel: np.ndarray  # int64, ack relative to the receiver's base (if that side sent any)
    plen: np.ndarray  # int64, payload bytes from the IP length
    wire: np.ndarray  # int64, the same, but never past the frame's on-wire length (Wireshark's
    #                   segment length when a frame is shorter than its IP header claims)
    cap: np.ndarray  # int64, payload bytes captured (<= plen)
    win: np.ndarray  # uint16, raw window field
    base: np.ndarray  # int64 (len(convs), 2): raw base sequence number per lane, -1 = no packet
    ts_source: np.ndarray  # PacketTable.ts_ns (times are gathered only when asked for)

    def __len__(self) -> int:
        return int(self.index.size)

    @property
    def nconv(self) -> int:
        return int(self.convs.size)

    def first_of_conv(self) -> np.ndarray:
        """Boolean mask of each conversation's first packet."""
        first = np.zeros(len(self), dtype=bool)
        starts = self.bounds[:-1][self.bounds[:-1] < self.bounds[1:]]
        first[starts] = True
        return first

    def has(self, bit: int) -> np.ndarray:
        """Rows with TCP flag ``bit`` set (computed once per flag; do not modify)."""
        masks = self.__dict__.setdefault("_flag_masks", {})
        mask = masks.get(bit)
        if mask is None:
            mask = masks[bit] = (self.flags & bit) != 0
        return mask

    def lane_rows(self, lane: int) -> np.ndarray:
        """Rows sent by A (0) or B (1), in order (computed once; do not modify)."""
        rows = self.__dict__.setdefault("_lane_rows", {})
        if lane not in rows:
            rows[lane] = np.flatnonzero(self.lane == lane)
        return rows[lane]

    def of_lane(self, lane: int) -> np.ndarray:
        """Boolean mask of the rows sent by ``lane`` (computed once; do not modify)."""
        masks = self.__dict__.setdefault("_lane_masks", {})
        if lane not in masks:
            masks[lane] = self.lane == lane
        return masks[lane]

    @cached_property
    def ts(self) -> np.ndarray:
        """int64 ns per row."""
        return take(self.ts_source, self.index)

    def per_row(self, values: np.ndarray) -> np.ndarray:
        """Expand one value per conversation to one per row (faster than ``values[local]``)."""
        return np.repeat(values, np.diff(self.bounds))

    @cached_property
    def row_index(self) -> np.ndarray:
        """0, 1, 2, … (one per row)."""
        return np.arange(len(self), dtype=np.int64)

    @cached_property
    def row_start(self) -> np.ndarray:
        """First row of each row's conversation."""
        return self.per_row(self.bounds[:-1])

    @cached_property
    def row_end(self) -> np.ndarray:
        """One past the last row of each row's conversation."""
        return self.per_row(self.bounds[1:])

    def last_at_or_before(self, mask: np.ndarray) -> np.ndarray:
        """For each row, the last row at or before it (same conversation) where ``mask`` is
        set; -1 where there is none."""
        n = len(self)
        idx = np.where(mask, np.arange(n, dtype=np.int64), -1)
        last = np.maximum.accumulate(idx) if n else idx
        return np.where(last >= self.row_start, last, -1)

    def prev_same(self) -> np.ndarray:
        """The previous row sent by the same side in the same conversation, -1 if none
        (computed once; do not modify)."""
        out = self.__dict__.get("_prev_same")
        if out is None:
            out = self.__dict__["_prev_same"] = np.full(len(self), -1, dtype=np.int64)
            for lane in (0, 1):
                rows = self.lane_rows(lane)
                g = self.local[rows]
                same = np.flatnonzero(g[1:] == g[:-1])
                out[rows[same + 1]] = rows[same]
        return out

    def prev_other(self) -> np.ndarray:
        """The last row before each row sent by the other side (same conversation), -1 if
        none: the row before the start of the row's run of same-side packets (computed once;
        do not modify)."""
        out = self.__dict__.get("_prev_other")
        if out is None:
            n = len(self)
            change = np.ones(n, dtype=bool)
            change[1:] = (self.lane[1:] != self.lane[:-1]) | (self.local[1:] != self.local[:-1])
            run_start = np.maximum.accumulate(np.where(change, np.arange(n, dtype=np.int64), 0))
            before = run_start - 1
            out = self.__dict__["_prev_other"] = np.where(before >= self.row_start, before, -1)
        return out


def tcp_conversations(table: ConversationTable) -> np.ndarray:
    return np.flatnonzero(table.kind == Kind.TCP)


def conversation_packets(p: PacketTable, table: ConversationTable, convs: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Packet indices of ``convs`` grouped in that order (file order inside), and the number of
    packets of each."""
    if table.packet_index is not None and table.packet_start is not None:
        start, stop = table.packet_start[convs], table.packet_start[convs + 1]
        lengths = stop - start
        ends = np.cumsum(lengths)
        shift = np.repeat(start - (ends - lengths), lengths)
        index = table.packet_index[np.arange(int(ends[-1]) if ends.size else 0,
                                             dtype=np.int64) + shift]
        return index, lengths
    pos = np.full(len(table), -1, dtype=np.int64)
    pos[convs] = np.arange(convs.size)
    rows = np.flatnonzero(p.conv >= 0)
    rows = rows[pos[p.conv[rows]] >= 0]
    local = pos[p.conv[rows]]
    order = np.argsort(local, kind="stable")
    return rows[order], np.bincount(local, minlength=convs.size)


def gather_tcp(p: PacketTable, table: ConversationTable, convs: np.ndarray) -> TcpPackets:
    """Columns of the packets of the TCP conversations ``convs`` (table rows)."""
    convs = np.asarray(convs, dtype=np.int64)
    index, counts = conversation_packets(p, table, convs)
    checkpoint()
    local = np.repeat(np.arange(convs.size, dtype=np.int64), counts)
    bounds = np.zeros(convs.size + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    lane = take(p.direction, index)
    flags = take(p.tcp_flags, index)
    raw_seq = take(p.seq, index)
    seq = raw_seq.astype(np.int64)
    ack = take(p.ack, index)
    plen = np.maximum(take(p.payload_len, index), 0).astype(np.int64)
    poff = take(p.payload_off, index).astype(np.int64)
    # a payload reassembled from IP fragments was all captured (else it would not be one)
    room = np.where(poff >= 0, take(p.caplen, index) - poff,
                    np.where(poff == PAYLOAD_REASSEMBLED, plen, 0))
    cap = np.minimum(np.maximum(room, 0), plen)
    wire = np.where(poff >= 0, np.minimum(np.maximum(take(p.origlen, index) - poff, 0), plen),
                    plen)
    checkpoint()

    base = np.full((convs.size, 2), -1, dtype=np.int64)
    rel = np.zeros(index.size, dtype=np.int64)
    ack_rel = np.zeros(index.size, dtype=np.int64)
    lanes = [np.flatnonzero(lane == d) for d in (0, 1)]
    per_lane = [np.bincount(local[rows], minlength=convs.size) for rows in lanes]
    for d, rows in enumerate(lanes):
        checkpoint()
        g = local[rows]
        first = group_starts(g)
        s = seq[rows[first]]
        syn = (flags[rows[first]] & SYN) != 0
        base[g[first], d] = np.where(syn, s, (s - 1) & _MASK32)
    _acknowledged_isns(base, local, lanes, flags, seq, ack)
    for d, rows in enumerate(lanes):
        rel[rows] = unwrap(seq[rows] - np.repeat(base[:, d], per_lane[d]),
                           group_starts(local[rows]))
    # acks of lane d are relative to the other lane's base; only packets with the ACK flag
    # carry a meaningful number, so only they are chained when unwrapping (the others are read
    # on their own, for the modular comparisons Follow makes with them)
    acked = (flags & ACK) != 0
    for d, rows in enumerate(lanes):
        checkpoint()
        other = np.maximum(np.repeat(base[:, 1 - d], per_lane[d]), 0)
        diff = ack[rows].astype(np.int64) - other
        ack_rel[rows] = signed32(diff)
        real = acked[rows]
        if real.any():
            chain = rows[real]
            ack_rel[chain] = unwrap(diff[real], group_starts(local[chain]))
    return TcpPackets(convs=convs, bounds=bounds, index=index, local=local, lane=lane,
                      flags=flags, seq=raw_seq, ack=ack, rel=rel, ack_rel=ack_rel,
                      plen=plen, wire=wire, cap=cap, win=take(p.win, index), base=base,
                      ts_source=p.ts_ns)


def _acknowledged_isns(base: np.ndarray, local: np.ndarray, lanes: list[np.ndarray],
                       flags: np.ndarray, seq: np.ndarray, ack: np.ndarray) -> None:
    """Where one side sent SYNs with different ISNs (several SYN-ACKs answering one SYN), base
    its sequence space on the ISN the other side's first matching ACK acknowledges, so the bytes
    that follow it are not lost; with no such ACK, on the last one (Wireshark's choice: every
    SYN resets its sender's base). Only such conversations are visited, in Python."""
    syn = (flags & SYN) != 0
    acked = (flags & ACK) != 0
    for d, rows in enumerate(lanes):
        syns = rows[syn[rows]]
        if syns.size < 2:
            continue
        g = local[syns]
        starts = group_starts(g)
        several = np.minimum.reduceat(seq[syns], starts) != np.maximum.reduceat(seq[syns], starts)
        other = lanes[1 - d]
        for conv in g[starts[several]].tolist():
            isns = seq[syns[g == conv]].tolist()
            answers = other[(local[other] == conv) & acked[other]]
            chosen = isns[-1]
            for value in ack[answers].tolist():
                if (value - 1) & 0xFFFFFFFF in isns:
                    chosen = (value - 1) & 0xFFFFFFFF
                    break
            base[conv, d] = chosen


def stray_syns(t: TcpPackets) -> np.ndarray:
    """SYNs whose sequence number is not their side's base: the SYN-ACKs of a handshake the
    other side did not take (see ``_acknowledged_isns``)."""
    base = t.base[t.local, t.lane]
    return t.has(SYN) & (t.seq.astype(np.int64) != base)


def group_starts(groups: np.ndarray) -> np.ndarray:
    """Positions where a run of equal group ids begins (groups are contiguous)."""
    first = np.ones(groups.size, dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    return np.flatnonzero(first)


def signed32(x: np.ndarray) -> np.ndarray:
    """Values mod 2^32 read as signed 32-bit numbers (int64)."""
    return ((x + (1 << 31)) & _MASK32) - (1 << 31)


def unwrap(diff: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Unwrap 32-bit sequence offsets within groups beginning at ``starts``: each value is the
    previous one plus the signed 32-bit step between them (the first of a group is read signed).
    """
    steps = np.empty(diff.size, dtype=np.int64)
    if not diff.size:
        return steps
    steps[0] = 0
    steps[1:] = signed32(diff[1:] - diff[:-1])
    steps[starts] = signed32(diff[starts])
    total = np.cumsum(steps)
    lengths = np.diff(np.append(starts, diff.size))
    offset = total[starts] - steps[starts]
    return total - np.repeat(offset, lengths)


def segmented_running_max(values: np.ndarray, starts: np.ndarray, exclusive: bool,
                          floor: int) -> np.ndarray:
    """Running maximum of ``values`` restarting at each group start; ``exclusive`` gives the
    maximum of the values before each element (``floor`` for a group's first element)."""
    n = values.size
    out = np.empty(n, dtype=np.int64)
    if not n:
        return out
    lengths = np.diff(np.append(starts, n))
    lo = int(values.min())
    span = int(values.max()) - lo + 2
    groups = starts.size
    if span * groups < (1 << 62):
        gid = np.repeat(np.arange(groups, dtype=np.int64), lengths)
        key = gid * span + (values - lo + 1)
        run = np.maximum.accumulate(key) - gid * span + lo - 1
    else:  # astronomically long sequence spaces: one group at a time
        run = np.concatenate([np.maximum.accumulate(values[a:b]) for a, b in
                              zip(starts, np.append(starts[1:], n), strict=True)])
    if not exclusive:
        return run
    out[1:] = run[:-1]
    out[starts] = floor
    return out

