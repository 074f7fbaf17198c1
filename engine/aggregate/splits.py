"""Where a chunk's packets start conversations, with each tuple's state carried across chunks.

The rules are :mod:`engine.stream_numbers`' (Wireshark's): a tuple's first packet starts one; a
UDP (or ICMP, other IP) packet after an idle gap longer than the configured timeout starts one;
a TCP SYN without ACK starts one when its sender already has a base sequence number in the
current stream and the SYN's differs (a sender's base: the sequence number of its latest SYN or
SYN-ACK there, else one less than that of its first packet there). What a rule needs from before
the chunk (the last packet's time, each side's base) is kept per tuple in ``TUPLE_STATE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cancel import every
from ..packets import ACK, SYN, Kind
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
    #: per position: a packet the conversation counts (None = all of them); the others are TCP
    #: headers Wireshark numbers but leaves out (Reason.TCP_HEADER)
    counted: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.prow.size)


def _first_base(seq: np.ndarray) -> np.ndarray:
    """A side's base sequence number from its first packet (when it sent no SYN): one less."""
    return (seq - 1) & 0xFFFFFFFF


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
        # per side: where its packets are, and where its SYNs (or SYN-ACKs) are; asked at a
        # few positions only (the SYNs, each run's end), so searched rather than running
        # minima and maxima over every position of the chunk
        syn = (s.flags & SYN) != 0
        # each with a sentinel: past the chunk's end, before its start
        self._sent = [np.append(np.flatnonzero(s.forward == lane), m) for lane in (False, True)]
        self._syns = [np.concatenate(([-1], np.flatnonzero((s.forward == lane) & syn)))
                      for lane in (False, True)]
        self._syn_cuts(new, st)
        self.new = new

    def next_sent(self, lane: int, at: Any) -> Any:
        """The first position at or after ``at`` (one or many) that side ``lane`` sent; the
        chunk's size if none."""
        sent = self._sent[lane]
        return sent[np.searchsorted(sent, at, side="left")]

    def last_syn(self, lane: int, at: Any) -> Any:
        """The last position at or before ``at`` (one or many, none below -1) where side
        ``lane`` sent a SYN (or SYN-ACK); -1 if none."""
        syns = self._syns[lane]
        return syns[np.searchsorted(syns, at, side="right") - 1]

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
        current: dict[int, int] = {}  # run -> start of its current stream in this chunk
        syns = syn_only.tolist()
        for k in every(len(syns), 1 << 12):
            i = syns[k]
            r = int(s.run[i])
            rs = int(s.run_start[r])
            began = current.get(r, rs if not self.known[r] else -1)  # -1: before this chunk
            sender = int(s.forward[i])
            lo = rs if began < 0 else began
            last = int(self.last_syn(sender, i - 1)) if i > 0 else -1
            if last >= lo:
                base = int(s.seq[last])
            elif began < 0 and bases[sender][int(s.tid[r])] >= 0:
                base = int(bases[sender][int(s.tid[r])])
            else:
                first = int(self.next_sent(sender, lo))
                if first >= i:
                    continue  # the SYN's sender has no base sequence number yet in this stream
                base = (int(s.seq[first]) - 1) & 0xFFFFFFFF
            if int(s.seq[i]) != base:
                new[i] = True
                current[r] = i

    def carry(self, state: Growing) -> None:
        """Update each touched tuple's TCP bases and last time for the next chunk."""
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
        for lane, name in ((0, "base0"), (1, "base1")):
            syn = self.last_syn(lane, last)
            first = self.next_sent(lane, lo)
            seen = first < end
            from_first = np.where(seen, _first_base(s.seq[np.minimum(first, s.size - 1)]), -1)
            old = st[name][s.tid]
            base = np.where(fresh | (old < 0), from_first, old)
            st[name][s.tid] = np.where(syn >= lo, s.seq[np.maximum(syn, 0)], base)
