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

This module only decides *which* bytes go where (chunks referencing the capture); ``stream``
reads them. While no segment is ever held and nothing is cut short, the plan is computed with
numpy; from the first held or cut segment on it is the sequential emulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..capture import CancelFn
from ..config import FlowConfig
from ..errors import LoadCancelled
from ..packets import SYN
from .segments import TcpPackets, segmented_running_max

_HALF = 1 << 31
_MASK = (1 << 32) - 1

GAP_MISSING = "missing"  # acknowledged by the peer but never captured (tshark's gap marker)
GAP_TRUNCATED = "truncated"  # in a captured packet, beyond the snap length
GAP_LIMIT = "limit"  # skipped because too many segments were held (FlowConfig.max_ooo_segments)


def _diff(a: int, b: int) -> int:
    """``a - b`` as a signed 32-bit sequence difference."""
    return ((a - b + _HALF) & _MASK) - _HALF


@dataclass
class Plan:
    """Chunks and gaps in the order Follow emits them; bytes are referenced, not read."""

    lane: list[int] = field(default_factory=list)
    row: list[int] = field(default_factory=list)  # row in the TcpPackets
    data_off: list[int] = field(default_factory=list)  # first byte within the packet payload
    length: list[int] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)  # relative sequence number of the first byte
    # gaps: (lane, chunk position it precedes, missing bytes, kind, row that revealed it)
    gaps: list[tuple[int, int, int, str, int]] = field(default_factory=list)
    # dropped captured bytes: (lane, row, data_off, length, seq, whole segment dropped)
    drops: list[tuple[int, int, int, int, int, bool]] = field(default_factory=list)
    held_max: list[int] = field(default_factory=lambda: [0, 0])
    limit_hits: list[str] = field(default_factory=list)


class _Emulation:
    """The sequential Follow state for both directions."""

    def __init__(self, plan: Plan, config: FlowConfig) -> None:
        self.plan = plan
        self.next_seq = [0, 0]
        self.written = [0, 0]  # tshark's bytes_written (only the direct path counts)
        self.held: list[list[list[int]]] = [[], []]  # [seq, row, data_off, length]
        self.max_held = max(1, config.max_ooo_segments)

    def emit(self, lane: int, row: int, off: int, length: int, seq: int) -> None:
        p = self.plan
        p.lane.append(lane)
        p.row.append(row)
        p.data_off.append(off)
        p.length.append(length)
        p.seq.append(seq)

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
                self.plan.drops.append((lane, row, 0, first_cap, first_seq, True))
            return
        if offset:
            self.plan.drops.append((lane, row, 0, offset, first_seq, False))
        if _diff(sequence, nxt[lane]) == 0:
            self.emit(lane, row, offset, captured, nxt[lane])
            nxt[lane] = nxt[lane] + length
            self.written[lane] += captured
            if captured < length:
                self.plan.gaps.append((lane, len(self.plan.lane), length - captured,
                                       GAP_TRUNCATED, row))
            while self.check(lane, 0, row, False):
                pass
            return
        held = self.held[lane]
        held.append([sequence, row, offset, captured])
        self.plan.held_max[lane] = max(self.plan.held_max[lane], len(held))
        if len(held) > self.max_held:
            self.plan.limit_hits.append(
                f"more than {self.max_held} out-of-order segments waited in one direction; "
                "the oldest gap was given up")
            while len(held) > self.max_held and self.check(lane, 0, row, False, True):
                pass

    def check(self, lane: int, ack: int, row: int, use_ack: bool, force: bool = False) -> bool:
        """Apply one held segment that fits or is dated, or declare the gap before the lowest
        one when ``ack`` passes it (or ``force``). False when nothing could be done."""
        held = self.held[lane]
        if not held:
            return False
        nxt = self.next_seq[lane]
        lowest = held[0][0]
        for k, (seq, hrow, off, length) in enumerate(held):
            if _diff(lowest, seq) > 0:
                lowest = seq
            gap = _diff(seq, nxt)
            if gap < 0:
                end = seq + length
                if _diff(end, nxt) > 0:
                    skip = _diff(nxt, seq)
                    self.emit(lane, hrow, off + skip, length - skip, nxt)
                    self.plan.drops.append((lane, hrow, off, skip, seq, False))
                    self.next_seq[lane] = nxt + length - skip
                else:
                    self.plan.drops.append((lane, hrow, off, length, seq, True))
                del held[k]
                return True
            if gap == 0:
                if length > 0:
                    self.emit(lane, hrow, off, length, nxt)
                self.next_seq[lane] = nxt + length
                del held[k]
                return True
        if force or (use_ack and _diff(ack, lowest) > 0):
            missing = _diff(lowest, nxt)
            self.plan.gaps.append((lane, len(self.plan.lane), missing,
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
    start, next_seq = _fast_prefix(t, sequence, plan)
    if start >= n:
        return plan
    emu = _Emulation(plan, config)
    emu.next_seq = next_seq
    for lane in (0, 1):
        emu.written[lane] = sum(ln for d, ln in zip(plan.lane, plan.length, strict=True)
                                if d == lane)
    lanes, seqs, lens, caps = (t.lane.tolist(), sequence.tolist(), t.wire.tolist(),
                               t.cap.tolist())
    acks = t.ack_rel.tolist()
    for i in range(start, n):
        if cancel is not None and not i & 0x3FFF and cancel():
            raise LoadCancelled("Reassembly was cancelled.")
        emu.packet(lanes[i], i, seqs[i], lens[i], caps[i], acks[i])
    return plan


def _fast_prefix(t: TcpPackets, sequence: np.ndarray, plan: Plan) -> tuple[int, list[int]]:
    """Plan the packets before the first one that would be held or was cut short, with numpy.

    Returns that packet's row (``len(t)`` when there is none) and each direction's next
    expected sequence number after the prefix (0 = not set yet).
    """
    n = len(t)
    end = sequence + t.wire
    data = t.cap > 0
    stop = n
    lane_rows = []
    for lane in (0, 1):
        rows = np.flatnonzero(t.lane == lane)
        lane_rows.append(rows)
        if not rows.size:
            continue
        first = int(sequence[rows[0]])
        if first & _MASK == 0:
            return 0, [0, 0]
        span = int(end[rows].max()) - int(sequence[rows].min())
        if span >= _HALF:  # modular and plain comparisons could disagree: go exact
            return 0, [0, 0]
        d = rows[data[rows]]
        if not d.size:
            continue
        prev = segmented_running_max(end[d], np.zeros(1, dtype=np.int64), exclusive=True,
                                     floor=first)
        prev = np.maximum(prev, first)
        bad = (sequence[d] > prev) | (t.cap[d] < t.wire[d])
        if bad.any():
            stop = min(stop, int(d[np.argmax(bad)]))
    next_seq = [0, 0]
    chunks = []
    for lane, rows in enumerate(lane_rows):
        rows = rows[rows < stop]
        if not rows.size:
            continue
        first = int(sequence[rows[0]])
        d = rows[data[rows]]
        next_seq[lane] = max(first, int(end[d].max())) if d.size else first
        if not d.size:
            continue
        prev = np.maximum(segmented_running_max(end[d], np.zeros(1, dtype=np.int64),
                                                exclusive=True, floor=first), first)
        s, e = sequence[d], end[d]
        lo = np.maximum(s, prev)
        new = e > lo
        chunks.append((d[new], lane, lo[new] - s[new], (e - lo)[new], lo[new]))
        old = s < prev
        for row, seq0, cut, whole in zip(d[old].tolist(), s[old].tolist(),
                                         (np.minimum(e, prev) - s)[old].tolist(),
                                         (e <= prev)[old].tolist(), strict=True):
            plan.drops.append((lane, row, 0, cut, seq0, whole))
    if chunks:
        rows = np.concatenate([c[0] for c in chunks])
        order = np.argsort(rows, kind="stable")
        plan.row = rows[order].tolist()
        plan.lane = np.concatenate([np.full(c[0].size, c[1]) for c in chunks])[order].tolist()
        plan.data_off = np.concatenate([c[2] for c in chunks])[order].tolist()
        plan.length = np.concatenate([c[3] for c in chunks])[order].tolist()
        plan.seq = np.concatenate([c[4] for c in chunks])[order].tolist()
    return stop, next_seq
