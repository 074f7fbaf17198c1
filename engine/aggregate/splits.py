"""Where a chunk's packets start conversations, with each tuple's state carried across chunks.

The rules are :mod:`engine.stream_numbers`' (Wireshark's): a tuple's first packet starts one; a
UDP (or ICMP, other IP) packet after an idle gap longer than the configured timeout starts one;
a TCP SYN without ACK starts one when its sender already has a base sequence number in the
current stream and the SYN's differs, or when the stream was closed (FIN both ways, or RST).
What a rule needs from before the chunk (the last packet's time, each side's base sequence
number, FINs and RSTs seen) is kept per tuple in :class:`TcpCarry` and ``last_ts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cancel import every
from ..packets import ACK, FIN, RST, SYN, Kind
from .growing import Growing

NEVER = np.iinfo(np.int64).max

#: what each tuple carries into the next chunk
TUPLE_STATE = {
    "conv": (np.int64, -1),  # its current conversation (running id), -1 = none yet
    "head": (np.int64, -1),  # its first conversation
    "alloc": (np.int64, -1),  # its stream number (TCP/UDP), -1 = not handed out yet
    "last_ts": (np.int64, 0),  # time of its latest packet
    "base0": (np.int64, -1),  # TCP: base sequence number of each side in the current stream
    "base1": (np.int64, -1),
    "fin0": (np.bool_, False),  # TCP: a FIN from each side since the current stream began
    "fin1": (np.bool_, False),
    "rst": (np.bool_, False),  # TCP: a RST since the current stream began
}


def new_tuple_state() -> Growing:
    return Growing(TUPLE_STATE)


@dataclass
class Sorted:
    """A chunk's IP packets grouped by tuple (file order inside), with what the rules read."""

    prow: np.ndarray  # chunk row of each position
    run: np.ndarray  # run (tuple) number of each position
    run_start: np.ndarray  # first position of each run
    run_end: np.ndarray  # one past the last
    tid: np.ndarray  # tuple number of each run
    forward: np.ndarray  # bool per position: sent the way of its tuple's key
    kind: np.ndarray  # per position
    ts: np.ndarray
    flags: np.ndarray
    seq: np.ndarray  # int64

    @property
    def size(self) -> int:
        return int(self.prow.size)


def _seq_base(seq: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """A side's base sequence number from its first packet: a SYN's own, else one less."""
    return np.where((flags & SYN) != 0, seq, (seq - 1) & 0xFFFFFFFF)


class ChunkStarts:
    """The conversation starts of one chunk, and the per-position helpers the state update
    reuses."""

    def __init__(self, s: Sorted, state: Growing, udp_gap_ns: int | None,
                 icmp_gap_ns: int | None) -> None:
        self.s = s
        m = s.size
        st = state.cols
        conv = st["conv"][s.tid]
        self.known = conv >= 0  # per run: the tuple had a conversation before this chunk
        new = np.zeros(m, dtype=bool)
        new[s.run_start[~self.known]] = True
        self._gaps(new, st, udp_gap_ns, icmp_gap_ns)
        # the next position of each side at or after every position; running FIN/RST counts
        self.nxt = []
        for lane in (False, True):
            idx = np.where(s.forward == lane, np.arange(m), m)
            self.nxt.append(np.minimum.accumulate(idx[::-1])[::-1] if m else idx)
        self.fin = [np.concatenate(([0], np.cumsum(((s.flags & FIN) != 0) & (s.forward == lane))))
                    for lane in (False, True)]
        self.rst = np.concatenate(([0], np.cumsum((s.flags & RST) != 0)))
        self._syn_cuts(new, st)
        self.new = new

    def _gaps(self, new: np.ndarray, st: dict[str, np.ndarray], udp_gap_ns: int | None,
              icmp_gap_ns: int | None) -> None:
        s = self.s
        if (udp_gap_ns is None and icmp_gap_ns is None) or not s.size:
            return
        prev = np.empty(s.size, dtype=np.int64)
        prev[1:] = s.ts[:-1]
        prev[s.run_start] = st["last_ts"][s.tid]
        has_prev = np.ones(s.size, dtype=bool)
        has_prev[s.run_start[~self.known]] = False
        limit = np.full(s.size, NEVER, dtype=np.int64)
        if udp_gap_ns is not None:
            limit[s.kind == Kind.UDP] = udp_gap_ns
        if icmp_gap_ns is not None:
            limit[(s.kind != Kind.UDP) & (s.kind != Kind.TCP)] = icmp_gap_ns
        new |= has_prev & (s.ts - prev > limit)

    def _syn_cuts(self, new: np.ndarray, st: dict[str, np.ndarray]) -> None:
        """Visit the SYNs (in Python: about one per connection) that may start a TCP stream."""
        s = self.s
        syn_only = np.flatnonzero(((s.flags & (SYN | ACK)) == SYN) & ~new & (s.kind == Kind.TCP))
        if not syn_only.size:
            return
        bases = (st["base0"], st["base1"])
        fins = (st["fin0"], st["fin1"])
        current: dict[int, int] = {}  # run -> start of its current stream in this chunk
        syns = syn_only.tolist()
        for k in every(len(syns), 1 << 12):
            i = syns[k]
            r = int(s.run[i])
            rs = int(s.run_start[r])
            t = int(s.tid[r])
            began = current.get(r, rs if not self.known[r] else -1)  # -1: before this chunk
            sender = int(s.forward[i])
            lo = rs if began < 0 else began
            if began < 0 and bases[sender][t] >= 0:
                base = int(bases[sender][t])
            else:
                first = int(self.nxt[sender][lo])
                if first >= i:
                    continue  # the SYN's sender has no base sequence number yet in this stream
                base = int(_seq_base(s.seq[first : first + 1], s.flags[first : first + 1])[0])
            carried = began < 0
            rst = self.rst[i] - self.rst[lo] > 0 or (carried and bool(st["rst"][t]))
            fin_both = all(self.fin[lane][i] - self.fin[lane][lo] > 0
                           or (carried and bool(fins[lane][t])) for lane in (0, 1))
            if int(s.seq[i]) != base or rst or fin_both:
                new[i] = True
                current[r] = i

    def carry(self, state: Growing) -> None:
        """Update each touched tuple's TCP state and last time for the next chunk."""
        s, st = self.s, state.cols
        if not s.size:
            return
        last = s.run_end - 1
        st["last_ts"][s.tid] = s.ts[last]
        idx = np.where(self.new, np.arange(s.size), -1)
        latest = np.maximum.accumulate(idx)[last]  # the final stream's start, if in the chunk
        fresh = latest >= s.run_start
        lo = np.where(fresh, latest, s.run_start)
        end = s.run_end
        for lane, base_name, fin_name in ((0, "base0", "fin0"), (1, "base1", "fin1")):
            first = self.nxt[lane][lo]
            seen = first < end
            safe = np.minimum(first, s.size - 1)
            base = np.where(seen, _seq_base(s.seq[safe], s.flags[safe]), -1)
            old = st[base_name][s.tid]
            st[base_name][s.tid] = np.where(fresh | (old < 0), base, old)
            fin = self.fin[lane][end] - self.fin[lane][lo] > 0
            st[fin_name][s.tid] = fin | (~fresh & st[fin_name][s.tid])
        rst = self.rst[end] - self.rst[lo] > 0
        st["rst"][s.tid] = rst | (~fresh & st["rst"][s.tid])
