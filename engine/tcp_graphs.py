"""The data of Wireshark's five TCP stream graphs for one direction of one connection.

Computed in the engine (a pane asks for it on a worker and only draws it): for the direction's
segments their times, relative sequence ranges, lengths and analysis flags (Stevens, tcptrace);
for the other side's packets the ACK line, the receive window (scaled as Wireshark scales it)
and the SACK blocks (tcptrace, window scaling); goodput over a moving window (throughput); the
round-trip time of each segment, as Wireshark's RTT graph measures it (round-trip time); bytes
in flight (window scaling); and where retransmissions, lost segments and zero windows happened.
Times are seconds since the connection's first packet; sequence numbers are relative, as
Wireshark shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .packet_notes import conversation_packets, expert_of
from .packets import ACK, RST, SYN
from .result import FlowResult
from .tcp import expert_flags as F
from .tcp.optscan import sack_blocks, scan_options

M32 = 0xFFFFFFFF


@dataclass
class StreamGraphData:
    lane: int  # the data direction: 0 = A→B, 1 = B→A
    # the direction's segments (packets that use sequence space)
    seg_t: np.ndarray
    seg_start: np.ndarray  # relative sequence number of the first byte
    seg_end: np.ndarray  # one past the last (SYN/FIN count one)
    seg_len: np.ndarray  # payload bytes
    seg_packet: np.ndarray  # packet index in the capture
    seg_flags: np.ndarray  # analysis flags (engine.tcp.expert_flags)
    # the other side's packets with the ACK flag
    ack_t: np.ndarray
    ack: np.ndarray  # relative acknowledgement number
    window: np.ndarray  # receive window in bytes (scaled as Wireshark scales it)
    ack_packet: np.ndarray
    ack_flags: np.ndarray
    # the other side's SACK blocks
    sack_t: np.ndarray
    sack_left: np.ndarray
    sack_right: np.ndarray
    sack_packet: np.ndarray
    # goodput: new payload bytes per second over a moving window, at each segment's time
    goodput: np.ndarray
    throughput: np.ndarray  # all payload bytes (retransmissions included), the same way
    average_s: float  # the moving window
    # round-trip times as Wireshark's RTT graph measures them (round_trip_times)
    rtt_t: np.ndarray  # the segment's time
    rtt_seq: np.ndarray  # its start
    rtt: np.ndarray  # seconds, to the first ACK that covers its first byte
    rtt_packet: np.ndarray  # that ACK
    rtt_segment: np.ndarray  # the segment
    # bytes in flight after each data segment (Wireshark shows none on some: NaN there)
    flight: np.ndarray

    @property
    def retransmitted(self) -> np.ndarray:
        return (self.seg_flags & (F.RETRANSMISSION_KINDS | F.OUT_OF_ORDER)) != 0

    @property
    def lost(self) -> np.ndarray:
        return (self.seg_flags & F.LOST_SEGMENT) != 0

    @property
    def zero_window(self) -> np.ndarray:
        return (self.ack_flags & F.ZERO_WINDOW) != 0


def moving_window(duration_s: float) -> float:
    """The goodput's averaging window: a twentieth of the connection, 1 ms to 1 s."""
    return min(1.0, max(duration_s / 20, 0.001))


def stream_graph_data(result: FlowResult, conversation: int, lane: int) -> StreamGraphData:
    """Everything the five graphs draw for direction ``lane`` of TCP conversation
    ``conversation``."""
    p = conversation_packets(result, conversation)
    e = expert_of(result)
    t = (p.ts_ns - p.ts_ns.min()).astype(np.float64) / 1e9 if len(p) else np.zeros(0)
    mine = p.direction == lane
    rst = (p.flags & RST) != 0
    seg = np.flatnonzero(mine & (p.seg_len > 0) & ~rst)
    peer = np.flatnonzero(~mine & p.has_ack & (mine.any()))
    window = _scaled_windows(result, p.index, p.direction, p.flags)
    sack_i, left, right = sack_blocks(result.inner_view(), result.source, p.index[~mine])
    rows = np.searchsorted(p.index, sack_i)
    base = e.bases(np.full(rows.size, conversation), np.full(rows.size, lane), sack_i)
    ok = base >= 0
    rows, left, right, base = rows[ok], left[ok], right[ok], base[ok]
    seg_len = p.payload[seg]
    dur = float(t.max()) if t.size else 0.0
    avg = moving_window(dur)
    new = (p.notes[seg] & F.RETRANSMISSION_KINDS) == 0
    sack_rel = (rows, ((left - base) & M32).astype(np.int64),
                ((right - base) & M32).astype(np.int64))
    rtt_rows, seg_rows = round_trip_times(p.rel_seq, p.rel_ack, p.payload, seg, peer, sack_rel)
    flight = p.bytes_in_flight[seg].astype(np.float64)
    flight[flight == 0] = np.nan
    return StreamGraphData(
        lane=lane, seg_t=t[seg], seg_start=p.rel_seq[seg].astype(np.float64),
        seg_end=(p.rel_seq[seg] + p.seg_len[seg]).astype(np.float64), seg_len=seg_len,
        seg_packet=p.index[seg], seg_flags=p.notes[seg],
        ack_t=t[peer], ack=p.rel_ack[peer].astype(np.float64),
        window=window[peer].astype(np.float64), ack_packet=p.index[peer],
        ack_flags=p.notes[peer],
        sack_t=t[rows], sack_left=((left - base) & M32).astype(np.float64),
        sack_right=((right - base) & M32).astype(np.float64), sack_packet=p.index[rows],
        goodput=_rate(t[seg], np.where(new, seg_len, 0), avg),
        throughput=_rate(t[seg], seg_len, avg), average_s=avg,
        rtt_t=t[seg_rows], rtt_seq=p.rel_seq[seg_rows].astype(np.float64),
        rtt=(p.ts_ns[rtt_rows] - p.ts_ns[seg_rows]) / 1e9, rtt_packet=p.index[rtt_rows],
        rtt_segment=p.index[seg_rows], flight=flight)


def round_trip_times(rel_seq: np.ndarray, rel_ack: np.ndarray, payload: np.ndarray,
                     seg: np.ndarray, acks: np.ndarray,
                     sacks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(ACK row, segment row) pairs by the rule of Wireshark's round-trip time graph
    (ui/qt/tcp_stream_dialog.cpp, fillRoundTripTime), vectorised: each segment with payload
    whose first byte no earlier, still unacknowledged segment covers, and the first later ACK of
    the other side (rows ``acks``, in packet order) whose number is past that byte or one of
    whose SACK blocks (``sacks``: rows, left and right edges, relative) overlaps the segment.
    Not reproduced: the graph's further points for the rest of a segment acknowledged in parts
    (partial ACKs of GSO-sized segments, SACK blocks), and SACK blocks freeing a range early."""
    seg = seg[payload[seg] > 0]
    if not seg.size or not acks.size:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    a = rel_ack[acks]
    top = np.maximum.accumulate(a)
    seq = rel_seq[seg]
    end = seq + payload[seg]
    first = np.searchsorted(acks, seg)  # the first ACK after each segment
    acked = np.where(first > 0, top[np.maximum(first - 1, 0)], np.iinfo(np.int64).min)
    # covered by an earlier segment that is still unacknowledged (acked <= seq < its end)
    reach = np.maximum.accumulate(end)
    before = np.r_[np.iinfo(np.int64).min, reach[:-1]]
    covered = _covered_by_earlier(seq, end, acked, reach,
                                  np.flatnonzero((acked <= seq) & (seq < before)))
    keep = ~covered
    seg, seq, first, acked = seg[keep], seq[keep], first[keep], acked[keep]
    at = np.searchsorted(top, seq, side="right")  # the first ACK past seq, among all
    found = np.where(acked <= seq, at, -1)
    late = np.flatnonzero(acked > seq)  # data already acknowledged: the first later ACK past it
    found[late] = _first_above(a, first[late], seq[late])
    ack_row = np.where(found < a.size, acks[np.minimum(found, a.size - 1)], np.iinfo(np.int64).max)
    if sacks is not None and sacks[0].size:
        ack_row = _first_sack(seg, seq, seq + payload[seg], ack_row, *sacks)
    ok = ack_row < np.iinfo(np.int64).max
    return ack_row[ok], seg[ok]


#: (earlier segment, segment) pairs compared at once when looking for a covering segment
PAIRS_PER_CHUNK = 1 << 20
#: ACKs looked at one step at a time before the rest are searched one segment at a time
SCAN_STEPS = 16


def _covered_by_earlier(seq: np.ndarray, end: np.ndarray, acked: np.ndarray,
                        reach: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Per segment: whether one of the candidates ``cand`` has its first byte inside an earlier
    segment sent after everything ``acked`` covered (``reach``: running maximum of the ends, so
    the segments before the first that reaches past ``acked`` are all acknowledged). The pairs
    (earlier segment, candidate) are compared in chunks of whole-column operations."""
    covered = np.zeros(seq.size, dtype=bool)
    if not cand.size:
        return covered
    lo = np.searchsorted(reach, acked[cand], side="right")
    width = np.maximum(cand - lo, 0)
    chunk = np.cumsum(width) // PAIRS_PER_CHUNK
    for part in np.split(np.arange(cand.size), np.flatnonzero(np.diff(chunk)) + 1):
        k, w, first = cand[part], width[part], lo[part]
        total = int(w.sum())
        if not total:
            continue
        owner = np.repeat(np.arange(k.size), w)
        j = np.repeat(first, w) + (np.arange(total) - np.repeat(np.cumsum(w) - w, w))
        s = seq[k][owner]
        inside = (seq[j] <= s) & (s < end[j])
        covered[k] = np.bincount(owner[inside], minlength=k.size) > 0
    return covered


def _first_above(a: np.ndarray, start: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Per query: the first position ``p >= start`` with ``a[p] > value`` (``a.size`` when
    none). Usually the first ACK already is: a short step-by-step scan, then one search per
    query left."""
    found = np.full(start.size, a.size, dtype=np.int64)
    todo = np.arange(start.size)
    pos = start.astype(np.int64)
    for _ in range(SCAN_STEPS):
        if not todo.size:
            return found
        p = pos[todo]
        inside = p < a.size
        hit = inside & (a[np.minimum(p, max(a.size - 1, 0))] > value[todo])
        found[todo[hit]] = p[hit]
        todo = todo[inside & ~hit]
        pos[todo] += 1
    for k in todo.tolist():
        later = np.flatnonzero(a[pos[k]:] > value[k])
        found[k] = pos[k] + later[0] if later.size else a.size
    return found


def _first_sack(seg: np.ndarray, seq: np.ndarray, end: np.ndarray, ack_row: np.ndarray,
                rows: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``ack_row``, or an earlier packet after the segment with a SACK block overlapping it."""
    lo = np.searchsorted(rows, seg, side="right")
    hi = np.searchsorted(rows, ack_row, side="left")
    out = ack_row.copy()
    for k in np.flatnonzero(hi > lo).tolist():
        w = slice(int(lo[k]), int(hi[k]))
        hit = np.flatnonzero((left[w] < end[k]) & (right[w] > seq[k]) & (left[w] < right[w]))
        if hit.size:
            out[k] = rows[w][hit[0]]
    return out


def _rate(t: np.ndarray, size: np.ndarray, window: float) -> np.ndarray:
    """Bytes per second over the ``window`` seconds up to each time (``t`` in capture order,
    which may step back: the sums use time order)."""
    if not t.size:
        return np.zeros(0)
    order = np.argsort(t, kind="stable")
    ts, cum = t[order], np.concatenate(([0.0], np.cumsum(size[order].astype(np.float64))))
    start = np.searchsorted(ts, ts - window, side="right")
    rate = np.empty(t.size)
    rate[order] = (cum[1:] - cum[start]) / window
    return rate


def _scaled_windows(result: FlowResult, index: np.ndarray, lane: np.ndarray,
                    flags: np.ndarray) -> np.ndarray:
    """The receive window each packet advertises, in bytes, as Wireshark scales it: by the
    sender's window-scale shift when the handshake told it, never on a SYN, raw otherwise."""
    p = result.inner_view()
    raw = p.win[index].astype(np.int64)
    opts = scan_options(p, result.source, index[p.tcp_hlen[index] > 20])
    shift_of = dict(zip(opts.index.tolist(), opts.wscale.tolist(), strict=True))
    syn = (flags & SYN) != 0
    events = np.flatnonzero(syn | np.isin(index, opts.index[opts.wscale >= 0]))
    scale = [-1, -1]  # per lane: -1 unknown, -2 none, else the shift
    out = raw.copy()
    k_prev = 0
    for k in events.tolist():
        _apply(out, raw, syn, lane, scale, k_prev, k)
        d = int(lane[k])
        ws = shift_of.get(int(index[k]), -1)
        if ws >= 0:
            scale[d] = ws
        if syn[k]:
            if scale[d] == -1:
                scale[d] = scale[1 - d] = -2
            elif flags[k] & ACK and scale[1 - d] == -2:
                scale[d] = -2
        k_prev = k
    _apply(out, raw, syn, lane, scale, k_prev, index.size)
    return out


def _apply(out: np.ndarray, raw: np.ndarray, syn: np.ndarray, lane: np.ndarray,
           scale: list[int], lo: int, hi: int) -> None:
    """Scale rows ``lo`` (inclusive: an event row is scaled by the state before its own
    options) to ``hi`` by the current state."""
    for d in (0, 1):
        if scale[d] >= 0:
            sel = np.flatnonzero((lane[lo:hi] == d) & ~syn[lo:hi]) + lo
            out[sel] = raw[sel] << scale[d]
