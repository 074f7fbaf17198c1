"""Wireshark 4.0's TCP sequence analysis, one packet at a time: the exact statement of the rules.

This is the readable version of what ``tcp.analysis.*`` means in tshark 4.0.17 with default
preferences (checked against it: ``tests/engine/test_tcp_expert_*``). The vectorised analysis in
:mod:`engine.tcp.expert` computes the same thing over whole captures; it hands the rare
conversations it cannot vectorise (see ``expert.needs_exact``) to :func:`analyse_conversation`.

Per direction the state is what the sender has shown so far: ``nextseq`` (the highest sequence
end seen, not moved by zero-window probes), ``maxseqtobeacked`` (where the contiguous stream is
known to reach), the last ACK, window and time, the duplicate-ACK counter, and the list of
segments not yet acknowledged (for RTTs and bytes in flight). All sequence arithmetic is on raw
32-bit numbers, with the wrap-aware comparisons of TCP; "unset" is 0, as in Wireshark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..packets import ACK, FIN, RST, SYN
from . import expert_flags as F

M32 = 0xFFFFFFFF
#: Wireshark stops remembering unacknowledged segments past this many (per direction)
MAX_UNACKED = 10000
#: SACK blocks remembered per packet for bytes in flight (Wireshark keeps the first three)
MAX_SACK_BLOCKS = 3
FAST_RETRANS_NS = 20_000_000
OOO_DEFAULT_NS = 3_000_000
_U64 = (1 << 64) - 1
_UNKNOWN_SCALE, _NO_SCALE = -1, -2


def _s32(x: int) -> int:
    x &= M32
    return x - (1 << 32) if x & 0x80000000 else x


def gt(a: int, b: int) -> bool:
    return _s32(a - b) > 0


def lt(a: int, b: int) -> bool:
    return _s32(a - b) < 0


def le(a: int, b: int) -> bool:
    return _s32(a - b) <= 0


@dataclass
class ConversationInput:
    """One TCP conversation's packets in capture order (everything raw, as on the wire)."""

    ts: np.ndarray  # int64 ns
    lane: np.ndarray  # 0 = sent by A, 1 = by B
    seq: np.ndarray  # uint32
    ack: np.ndarray  # uint32
    flags: np.ndarray  # TCP flag bits
    win: np.ndarray  # raw window field
    seglen: np.ndarray  # payload bytes (Wireshark's reported length minus the header)
    wscale: np.ndarray  # window-scale option shift (capped at 14), -1 when absent
    sack: np.ndarray  # bytes the packet's SACK blocks cover (first three, 32-bit sum)
    sack_count: np.ndarray  # SACK blocks in the packet (0 = no SACK option)
    reused: bool = False  # the first packet reopens a 4-tuple (tshark's "reused ports")


@dataclass
class ConversationResult:
    flags: np.ndarray  # uint16, expert_flags bits (HAS_RECORD included)
    acked: np.ndarray  # int64 row of the segment this packet acknowledges, -1 = none
    dupack_num: np.ndarray  # int64, 0 = not a duplicate ACK
    dupack_of: np.ndarray  # int64 row of the ACK it duplicates (-1 = frame 0, none)
    bytes_in_flight: np.ndarray  # int64, 0 = not shown
    irtt_ns: int | None  # the connection's initial RTT, once known
    irtt_row: int  # the row that completed the handshake (rows from there on with an analysis
    #                record show the initial RTT); -1 when never
    #: (row, lane, base): where each lane's base sequence number was set or changed (-1: unset
    #: again, when Wireshark starts a new conversation)
    base_events: list[tuple[int, int, int]]


@dataclass
class _Segment:
    row: int
    seq: int
    nextseq: int
    ts: int


@dataclass
class _Flow:
    base_set: bool = False
    base: int = 0
    nextseq: int = 0
    nextseq_ts: int = 0
    maxseqtobeacked: int = 0
    lastack: int = 0
    lastack_ts: int = 0
    window: int = M32
    win_scale: int = _UNKNOWN_SCALE
    is_first_ack: bool = False
    lastsegmentflags: int = 0
    dupacknum: int = 0
    lastnondupack: int = -1
    valid_bif: bool = True
    sack: int = 0
    sack_count: int = 0
    segments: list[_Segment] = field(default_factory=list)  # oldest first
    #: the listed segments' lowest start and highest end relative to ``base`` (None: work them
    #: out again), so a long list is not walked for every data segment
    span: tuple[int, int] | None = None


def analyse_conversation(c: ConversationInput) -> ConversationResult:
    """Every packet's analysis, as tshark 4.0 computes it in its single pass."""
    n = int(c.ts.size)
    out_flags = np.zeros(n, dtype=np.uint16)
    acked = np.full(n, -1, dtype=np.int64)
    dup_num = np.zeros(n, dtype=np.int64)
    dup_of = np.full(n, -1, dtype=np.int64)
    bif = np.zeros(n, dtype=np.int64)
    flows = (_Flow(), _Flow())
    mru_syn = 0
    events: list[tuple[int, int, int]] = []
    irtt: int | None = None
    irtt_row = -1
    for i in range(n):
        lane = int(c.lane[i])
        fwd, rev = flows[lane], flows[1 - lane]
        ts = int(c.ts[i])
        seq, ack = int(c.seq[i]), int(c.ack[i])
        fl, win, seglen = int(c.flags[i]), int(c.win[i]), int(c.seglen[i])
        f = F.REUSED_PORTS if (i == 0 and c.reused) else 0
        record = f != 0
        if (fl & (SYN | ACK)) == SYN and fwd.base_set:
            if seq != fwd.base:  # Wireshark starts a new conversation here
                flows = (_Flow(), _Flow())
                fwd, rev = flows[lane], flows[1 - lane]
                events.append((i, 1 - lane, -1))
                mru_syn, irtt = 0, None
                f |= F.REUSED_PORTS
            else:  # a repeated SYN: back to where the contiguous stream was
                fwd.nextseq = fwd.maxseqtobeacked
            record = True
        if (fl & (SYN | ACK)) == SYN | ACK and fwd.base_set and seq != fwd.base:
            fwd.base = seq  # a SYN-ACK with a sequence number the server never used
            fwd.span = None
            events.append((i, lane, seq))
            f |= F.REUSED_PORTS
            record = True
        fwd.sack, fwd.sack_count = 0, 0
        if seglen >= 0:
            if not fwd.base_set:
                events.append((i, lane, seq if fl & SYN else (seq - 1) & M32))
            if not rev.base_set and fl & ACK:
                events.append((i, 1 - lane, (ack - 1) & M32))
            f, record = _analyse(i, ts, seq, ack, fl, win, seglen, fwd, rev, f, record, irtt,
                                 acked, dup_num, dup_of, bif)
        # after the sequence analysis: the handshake's timestamps and window-scale bookkeeping
        if fl & SYN:
            if not fl & ACK:
                mru_syn = ts
            fwd.is_first_ack = True
        if (fl & (SYN | ACK)) == ACK and mru_syn != 0 and irtt is None and ts != mru_syn:
            irtt, irtt_row = ts - mru_syn, i
        if (fl & (SYN | ACK)) == ACK:
            fwd.is_first_ack = False
        if int(c.wscale[i]) >= 0:
            fwd.win_scale = int(c.wscale[i])
        if int(c.sack_count[i]):
            fwd.sack, fwd.sack_count = int(c.sack[i]), int(c.sack_count[i])
        out_flags[i] = f | (F.HAS_RECORD if record else 0)
        if fl & SYN:
            _verify_window_scaling(bool(fl & ACK), fwd, rev)
    return ConversationResult(out_flags, acked, dup_num, dup_of, bif, irtt, irtt_row, events)


def _verify_window_scaling(synack: bool, fwd: _Flow, rev: _Flow) -> None:
    if fwd.win_scale == _UNKNOWN_SCALE:
        fwd.win_scale = rev.win_scale = _NO_SCALE
    elif synack and rev.win_scale == _NO_SCALE:
        fwd.win_scale = _NO_SCALE


def _analyse(i: int, ts: int, seq: int, ack: int, fl: int, win: int, seglen: int, fwd: _Flow,
             rev: _Flow, f: int, record: bool, irtt: int | None, acked: np.ndarray,
             dup_num: np.ndarray, dup_of: np.ndarray, bif: np.ndarray) -> tuple[int, bool]:
    """tshark's tcp_analyze_sequence_number for one packet; returns (flags, has record)."""
    if not fwd.base_set:
        fwd.base = seq if fl & SYN else (seq - 1) & M32
        fwd.base_set = True
    if not rev.base_set and fl & ACK:
        rev.base = (ack - 1) & M32
        rev.base_set = True
    if fl & ACK:
        rev.valid_bif = True
    sfr = fl & (SYN | FIN | RST)
    zwp = seglen == 1 and seq == fwd.nextseq and rev.window == 0
    if zwp:
        f |= F.ZERO_WINDOW_PROBE
    else:
        if win == 0 and not sfr:
            f |= F.ZERO_WINDOW
        if fwd.nextseq and gt(seq, fwd.nextseq) and not fl & RST:
            f |= F.LOST_SEGMENT
            fwd.valid_bif = False
        if seglen <= 1 and seq == (fwd.nextseq - 1) & M32 and not sfr:
            f |= F.KEEP_ALIVE
        same = seq == fwd.nextseq and ack == fwd.lastack and not sfr and seglen == 0
        if same and win and win != fwd.window:
            f |= F.WINDOW_UPDATE
        if seglen > 0 and rev.win_scale != _UNKNOWN_SCALE and not sfr:
            shift = 0 if (rev.is_first_ack or rev.win_scale == _NO_SCALE) else rev.win_scale
            if (seq + seglen) & M32 == (rev.lastack + ((rev.window << shift) & M32)) & M32:
                f |= F.WINDOW_FULL
        if same and win and win == fwd.window and rev.lastsegmentflags & F.KEEP_ALIVE:
            f |= F.KEEP_ALIVE_ACK
        elif same and win == 0 and fwd.window == 0 and rev.lastsegmentflags & F.ZERO_WINDOW_PROBE:
            f |= F.ZERO_WINDOW_PROBE_ACK
        elif same and win and win == fwd.window:
            fwd.dupacknum = 1 if fwd.dupacknum == M32 else (fwd.dupacknum + 1) & M32
            f |= F.DUPLICATE_ACK
            dup_num[i] = fwd.dupacknum
            dup_of[i] = fwd.lastnondupack
    # finished_fwd
    if ack != fwd.lastack:
        fwd.lastnondupack = i
        fwd.dupacknum = 0
    if rev.maxseqtobeacked and gt(ack, rev.maxseqtobeacked) and fl & ACK:
        record = True
        if lt(rev.maxseqtobeacked, rev.nextseq):
            rev.maxseqtobeacked = rev.nextseq
            f |= F.ACK_LOST_SEGMENT
        else:  # flagged once until the other side's ACK number moves
            if rev.dupacknum == 0:
                f |= F.ACK_LOST_SEGMENT
            rev.dupacknum = M32  # Wireshark's unsigned -1: counts as ">= 2" for fast retransmission
    if (seglen > 0 or fl & (SYN | FIN)) and not f & F.KEEP_ALIVE:
        f = _retransmission(ts, seq, seglen, fl, fwd, rev, f, irtt)
    nextseq = (seq + seglen) & M32
    added = (seglen or fl & (SYN | FIN)) and len(fwd.segments) < MAX_UNACKED
    if added:
        if fl & (SYN | FIN):
            nextseq = (nextseq + 1) & M32
        fwd.segments.append(_Segment(i, seq, nextseq, ts))
        if fwd.span is not None:
            lo, hi = fwd.span
            fwd.span = (min(lo, (seq - fwd.base) & M32), max(hi, (nextseq - fwd.base) & M32))
    if (gt(nextseq, fwd.nextseq) or not fwd.nextseq) and not f & F.ZERO_WINDOW_PROBE:
        fwd.nextseq, fwd.nextseq_ts = nextseq, ts
    if (seq == fwd.maxseqtobeacked or not fwd.maxseqtobeacked) and not f & F.ZERO_WINDOW_PROBE:
        fwd.maxseqtobeacked = fwd.nextseq
    fwd.window, fwd.lastack, fwd.lastack_ts = win, ack, ts
    if f:
        record = True
    fwd.lastsegmentflags = f
    # the segments of the other direction this acknowledges (newest first, as Wireshark walks)
    kept: list[_Segment] = []
    match = -1
    changed = False
    for seg in reversed(rev.segments):
        if ack == seg.nextseq:
            match = seg.row
            changed = True
            continue
        if gt(ack, seg.seq) and le(ack, seg.nextseq):
            seg.seq = ack
            changed = True
        if gt(seg.nextseq, ack):
            kept.append(seg)
        else:
            changed = True
    if changed:
        kept.reverse()
        rev.segments = kept
        rev.span = None
    if match >= 0:
        record = True
        acked[i] = match
    if seglen and fwd.segments and fwd.valid_bif:
        record = True
        if fwd.span is None:
            fwd.span = (min((s.seq - fwd.base) & M32 for s in fwd.segments),
                        max((s.nextseq - fwd.base) & M32 for s in fwd.segments))
        first, last = fwd.span
        in_flight = (last - first) & M32
        if rev.sack_count:
            in_flight = (in_flight - rev.sack) & M32
        if 0 < in_flight < 2_000_000_000:
            bif[i] = in_flight - (1 if fl & (SYN | FIN) else 0)
    return f, record


def _retransmission(ts: int, seq: int, seglen: int, fl: int, fwd: _Flow, rev: _Flow, f: int,
                    irtt: int | None) -> int:
    """Retransmission, fast or spurious retransmission, or out-of-order (one of them)."""
    not_advanced = fwd.nextseq != 0 and lt(seq, fwd.nextseq)
    if seglen > 1 and (fwd.nextseq - 1) & M32 == seq:
        not_advanced = False
    if seglen > 0 and rev.lastack and le((seq + seglen) & M32, rev.lastack):
        return f | F.SPURIOUS_RETRANSMISSION
    since_ack = (ts - rev.lastack_ts) & _U64
    if not_advanced and rev.dupacknum >= 2 and rev.lastack == seq and since_ack < FAST_RETRANS_NS:
        return f | F.FAST_RETRANSMISSION
    since_next = (ts - fwd.nextseq_ts) & _U64
    threshold = OOO_DEFAULT_NS if irtt is None else irtt & _U64
    end = (seq + seglen + (1 if fl & (SYN | FIN) else 0)) & M32
    if not_advanced and since_next < threshold and fwd.nextseq != end:
        return f | F.OUT_OF_ORDER
    if not_advanced:
        return f | F.RETRANSMISSION
    return f
