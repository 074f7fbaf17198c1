"""Which captured bytes make up each direction of a TCP stream — Wireshark's Follow, exactly.

The rules are those of Wireshark 4.0's Follow TCP Stream (checked byte for byte against tshark
4.0.17 on every TCP stream of the test captures):

- Each direction keeps the next expected sequence number ``S``, set by the direction's first
  packet (its sequence number, plus one for a SYN). Sequence numbers compare modulo 2^32.
- A segment at ``S`` is appended and ``S`` moves by its length (from the IP length; when the
  capture cut the payload short, only the captured bytes are appended: a *truncated* gap).
- A segment starting before ``S`` contributes only its bytes past ``S``; one wholly before ``S``
  is a retransmission and is dropped (first-seen bytes win).
- A segment starting after ``S`` is held (in arrival order) until ``S`` reaches it. Every packet
  of the other direction first offers its acknowledgement number: if it acknowledges data past
  the lowest held segment, the bytes up to that segment were never captured — a *missing* gap,
  where tshark writes "[N bytes missing in capture file]" — and ``S`` jumps to it.
- Keep-alives (one byte below ``S``) and empty segments carry nothing.

This module only decides *which* bytes go where (chunks referencing the capture); :mod:`.tcp`
reads them. While no segment is ever held and nothing is cut short, the plan is computed with
numpy; from the first held or cut segment on it is the sequential emulation.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..capture import CancelFn
from ..config import FlowConfig
from ..errors import LoadCancelled
from ..packets import SYN
from ..tcp.segments import TcpPackets, stray_syns
from .model import GAP_LIMIT, GAP_MISSING, GAP_TRUNCATED

_HALF = 1 << 31
_MASK = (1 << 32) - 1


def _diff(a: int, b: int) -> int:
    """``a - b`` as a signed 32-bit sequence difference."""
    return ((a - b + _HALF) & _MASK) - _HALF


CHUNK_COLUMNS = ("row", "lane", "data_off", "length", "seq")
DROP_COLUMNS = ("row", "lane", "data_off", "length", "seq", "whole")


class _Columns:
    """Int columns built from numpy pieces (the fast path) and Python rows (the emulation)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.rows: list[tuple[int, ...]] = []
        self.count = 0

    def add_row(self, *values: int) -> None:
        self.rows.append(values)
        self.count += 1

    def add_arrays(self, *cols: np.ndarray) -> None:
        self._freeze()
        self.parts.append(cols)
        self.count += int(cols[0].size)

    def _freeze(self) -> None:
        if self.rows:
            block = np.array(self.rows, dtype=np.int64).reshape(-1, len(self.names))
            self.parts.append(tuple(block[:, k] for k in range(len(self.names))))
            self.rows = []

    def arrays(self) -> dict[str, np.ndarray]:
        self._freeze()
        if not self.parts:
            return {n: np.zeros(0, dtype=np.int64) for n in self.names}
        return {n: np.concatenate([np.asarray(p[k], dtype=np.int64) for p in self.parts])
                for k, n in enumerate(self.names)}


@dataclass
class Plan:
    """Chunks and gaps in the order Follow emits them; bytes are referenced, not read.

    ``chunks``: row (in the TcpPackets), lane, data_off (first byte within the packet payload),
    length, seq (relative sequence number of the first byte). ``drops``: captured bytes left
    out because they were already there (whole = the segment brought nothing new).
    """

    chunks: _Columns = field(default_factory=lambda: _Columns(CHUNK_COLUMNS))
    drops: _Columns = field(default_factory=lambda: _Columns(DROP_COLUMNS))
    # gaps: (lane, chunk position it precedes, missing bytes, kind, row that revealed it)
    gaps: list[tuple[int, int, int, str, int]] = field(default_factory=list)
    held_max: list[int] = field(default_factory=lambda: [0, 0])
    limit_hits: list[str] = field(default_factory=list)


class _Held:
    """Segments waiting for the bytes before them.

    Wireshark keeps them in a list and each time takes the first one, in arrival order, that
    starts at or before ``S``; here two heaps give the same choice in O(log n) per segment (by
    sequence number until ``S`` reaches a segment, then by arrival).
    """

    def __init__(self) -> None:
        self.by_seq: list[tuple[int, int, int, int, int]] = []  # seq, arrival, row, off, len
        self.ready: list[tuple[int, int, int, int, int]] = []  # arrival, seq, row, off, len
        self.arrivals = 0

    def __len__(self) -> int:
        return len(self.by_seq) + len(self.ready)

    def add(self, seq: int, row: int, off: int, length: int) -> None:
        heapq.heappush(self.by_seq, (seq, self.arrivals, row, off, length))
        self.arrivals += 1

    def take(self, nxt: int) -> tuple[int, int, int, int] | None:
        """The first-arrived segment starting at or before ``nxt`` (removed), if any."""
        by_seq, ready = self.by_seq, self.ready
        while by_seq and _diff(by_seq[0][0], nxt) <= 0:
            seq, arrival, row, off, length = heapq.heappop(by_seq)
            heapq.heappush(ready, (arrival, seq, row, off, length))
        while ready:
            arrival, seq, row, off, length = heapq.heappop(ready)
            if _diff(seq, nxt) <= 0:
                return seq, row, off, length
            heapq.heappush(by_seq, (seq, arrival, row, off, length))  # S went back
        return None

    def lowest(self) -> int:
        return self.by_seq[0][0]


class _Emulation:
    """The sequential Follow state for both directions."""

    def __init__(self, plan: Plan, config: FlowConfig) -> None:
        self.plan = plan
        self.next_seq = [0, 0]
        self.written = [0, 0]  # tshark's bytes_written (only the direct path counts)
        self.held = (_Held(), _Held())
        self.max_held = max(1, config.max_ooo_segments)

    def emit(self, lane: int, row: int, off: int, length: int, seq: int) -> None:
        self.plan.chunks.add_row(row, lane, off, length, seq)

    def packet(self, lane: int, row: int, sequence: int, length: int, captured: int,
               ack: int) -> None:
        other = 1 - lane
        if self.held[other]:
            while self.check(other, ack, row, True):
                pass
        nxt = self.next_seq
        if self.written[lane] == 0 and nxt[lane] & _MASK == 0:
            nxt[lane] = sequence
        first_seq, first_cap = sequence, captured
        offset = 0
        if _diff(sequence, nxt[lane]) < 0:
            end = sequence + length
            if _diff(end, nxt[lane]) > 0:
                offset = _diff(nxt[lane], sequence)
                captured = max(captured - offset, 0)
                sequence, length = nxt[lane], _diff(end, nxt[lane])
        if captured == 0 or _diff(sequence, nxt[lane]) < 0:
            if first_cap:  # seen before: a retransmission (or a keep-alive byte)
                self.plan.drops.add_row(row, lane, 0, first_cap, first_seq, 1)
            return
        if offset:
            self.plan.drops.add_row(row, lane, 0, offset, first_seq, 0)
        if _diff(sequence, nxt[lane]) == 0:
            self.emit(lane, row, offset, captured, nxt[lane])
            nxt[lane] = nxt[lane] + length
            self.written[lane] += captured
            if captured < length:
                self.plan.gaps.append((lane, self.plan.chunks.count, length - captured,
                                       GAP_TRUNCATED, row))
            while self.check(lane, 0, row, False):
                pass
            return
        held = self.held[lane]
        held.add(sequence, row, offset, captured)
        self.plan.held_max[lane] = max(self.plan.held_max[lane], len(held))
        if len(held) > self.max_held:
            self.plan.limit_hits.append(
                f"more than {self.max_held} out-of-order segments waited in one direction; "
                "the oldest gap was given up")
            while len(held) > self.max_held and self.check(lane, 0, row, False, True):
                pass
            while self.check(lane, 0, row, False):
                pass

    def check(self, lane: int, ack: int, row: int, use_ack: bool, force: bool = False) -> bool:
        """Apply one held segment that fits or is dated, or declare the gap before the lowest
        one when ``ack`` passes it (or ``force``). False when nothing could be done."""
        held = self.held[lane]
        if not held:
            return False
        nxt = self.next_seq[lane]
        item = held.take(nxt)
        if item is not None:
            seq, hrow, off, length = item
            if _diff(seq, nxt) < 0:
                end = seq + length
                if _diff(end, nxt) > 0:
                    skip = _diff(nxt, seq)
                    self.emit(lane, hrow, off + skip, length - skip, nxt)
                    self.plan.drops.add_row(hrow, lane, off, skip, seq, 0)
                    self.next_seq[lane] = nxt + length - skip
                else:
                    self.plan.drops.add_row(hrow, lane, off, length, seq, 1)
            else:
                if length > 0:
                    self.emit(lane, hrow, off, length, nxt)
                self.next_seq[lane] = nxt + length
            return True
        lowest = held.lowest()
        if force or (use_ack and _diff(ack, lowest) > 0):
            missing = _diff(lowest, nxt)
            self.plan.gaps.append((lane, self.plan.chunks.count, missing,
                                   GAP_LIMIT if force else GAP_MISSING, row))
            self.next_seq[lane] = nxt + missing
            return True
        return False


def plan_follow(t: TcpPackets, config: FlowConfig, cancel: CancelFn | None = None) -> Plan:
    """The Follow plan of the single conversation in ``t`` (all its packets)."""
    plan = Plan()
    n = len(t)
    if not n:
        return plan
    sequence = t.rel + t.has(SYN)
    wire, cap = t.wire, t.cap
    stray = stray_syns(t)
    if stray.any():  # a SYN-ACK the client did not take counts as a copy of the one it took
        sequence, wire, cap = sequence.copy(), wire.copy(), cap.copy()
        sequence[stray], wire[stray], cap[stray] = 1, 0, 0
    emu = _Emulation(plan, config)
    lanes, seqs, lens, caps = (t.lane.tolist(), sequence.tolist(), wire.tolist(), cap.tolist())
    acks = t.ack_rel.tolist()
    fast = _FastPath.build(t, sequence, wire, cap)
    pos = 0
    while pos < n:
        stop = pos if fast is None else fast.next_bad(pos)
        if fast is not None:
            fast.splice(plan, emu, pos, stop)
        i = stop
        while i < n:  # emulate until nothing is held and the fast path agrees again
            if cancel is not None and not i & 0x3FFF and cancel():
                raise LoadCancelled("Reassembly was cancelled.")
            emu.packet(lanes[i], i, seqs[i], lens[i], caps[i], acks[i])
            i += 1
            if (fast is not None and not emu.held[0] and not emu.held[1]
                    and fast.agrees(emu.next_seq, i)):
                break
        pos = i
    return plan


class _FastPath:
    """Follow computed with numpy for the packets that cannot be held.

    With nothing held, a direction's next expected sequence number is the highest end seen so
    far (``H``), so a packet starting at or below ``H`` and fully captured simply contributes
    its bytes past ``H``. Packets starting above ``H`` (they will be held) or cut short by the
    snap length are *bad*: the emulation takes over from them until nothing is held and its
    state equals ``H`` again.
    """

    def __init__(self) -> None:
        self.bad: np.ndarray = np.zeros(0, dtype=np.int64)
        self.first_row = [0, 0]
        self.initial = [0, 0]
        self.high: list[np.ndarray] = []  # per lane: highest end up to each row (inclusive)
        self.chunks: tuple[np.ndarray, ...] = ()  # row, lane, data_off, length, seq
        self.drops: tuple[np.ndarray, ...] = ()  # row, lane, length, seq, whole
        self.lane_len: list[np.ndarray] = []  # per lane: running chunk bytes (for written)

    @classmethod
    def build(cls, t: TcpPackets, sequence: np.ndarray, wire: np.ndarray, cap: np.ndarray
              ) -> _FastPath | None:
        n = len(t)
        end = sequence + wire
        data = cap > 0
        fast = cls()
        parts, drops, bad = [], [], []
        for lane in (0, 1):
            rows = np.flatnonzero(t.lane == lane)
            high = np.full(n, _FLOOR, dtype=np.int64)
            fast.high.append(high)
            if not rows.size:
                fast.first_row[lane] = n
                continue
            first = int(sequence[rows[0]])
            if first & _MASK == 0 or int(end[rows].max()) - int(sequence[rows].min()) >= _HALF:
                return None  # tshark's "not set yet" quirk, or modular comparisons matter
            fast.first_row[lane], fast.initial[lane] = int(rows[0]), first
            d = rows[data[rows]]
            if not d.size:
                continue
            run = np.maximum.accumulate(end[d])
            high[d] = run
            np.maximum.accumulate(high, out=high)
            prev = np.empty(d.size, dtype=np.int64)
            prev[0] = first
            prev[1:] = np.maximum(run[:-1], first)
            s, e = sequence[d], end[d]
            bad.append(d[(s > prev) | (cap[d] < wire[d])])
            lo = np.maximum(s, prev)
            new = e > lo
            parts.append((d[new], np.full(int(new.sum()), lane), (lo - s)[new], (e - lo)[new],
                          lo[new]))
            old = s < prev
            drops.append((d[old], np.full(int(old.sum()), lane), (np.minimum(e, prev) - s)[old],
                          s[old], (e <= prev)[old]))
        fast.bad = np.sort(np.concatenate(bad)) if bad else np.zeros(0, dtype=np.int64)
        fast.chunks = _merge(parts, 5)
        fast.drops = _merge(drops, 5)
        lanes, lengths = fast.chunks[1], fast.chunks[3]
        for ln in (0, 1):
            fast.lane_len.append(np.concatenate(([0], np.cumsum(np.where(lanes == ln, lengths,
                                                                         0)))))
        return fast

    def next_bad(self, pos: int) -> int:
        k = int(np.searchsorted(self.bad, pos))
        return int(self.bad[k]) if k < self.bad.size else int(self.high[0].size)

    def expected(self, lane: int, row: int) -> int:
        """The next expected sequence number of ``lane`` before ``row`` (0 = not set)."""
        if self.first_row[lane] >= row:
            return 0
        return max(self.initial[lane], int(self.high[lane][row - 1]))

    def agrees(self, next_seq: list[int], row: int) -> bool:
        return all(next_seq[ln] == self.expected(ln, row) for ln in (0, 1))

    def splice(self, plan: Plan, emu: _Emulation, pos: int, stop: int) -> None:
        """Append the chunks and drops of rows [pos, stop) and move the emulation past them."""
        if stop <= pos:
            return
        row, lane, off, length, seq = self.chunks
        a, b = np.searchsorted(row, (pos, stop))
        if b > a:
            plan.chunks.add_arrays(row[a:b], lane[a:b], off[a:b], length[a:b], seq[a:b])
        for ln in (0, 1):
            emu.written[ln] += int(self.lane_len[ln][b] - self.lane_len[ln][a])
            if self.first_row[ln] < stop:
                emu.next_seq[ln] = self.expected(ln, stop)
        drow, dlane, dlen, dseq, whole = self.drops
        a, b = np.searchsorted(drow, (pos, stop))
        if b > a:
            plan.drops.add_arrays(drow[a:b], dlane[a:b], np.zeros(b - a, dtype=np.int64),
                                  dlen[a:b], dseq[a:b], whole[a:b])


_FLOOR = -(1 << 62)


def _merge(parts: Sequence[tuple[np.ndarray, ...]], width: int) -> tuple[np.ndarray, ...]:
    """Concatenate per-lane column tuples and order them by row."""
    if not parts:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(width))
    cols = [np.concatenate([p[k] for p in parts]) for k in range(width)]
    order = np.argsort(cols[0], kind="stable")
    return tuple(c[order] for c in cols)
