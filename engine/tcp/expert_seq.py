"""The sequence-number half of the vectorised TCP analysis: every flag except those the list of
unacknowledged segments decides, for a whole batch of conversations at once.

Wireshark keeps, per direction, ``nextseq`` (the highest sequence end seen) and
``maxseqtobeacked`` (``M``). Here ``nextseq`` is a per-direction running maximum of segment
ends (zero-window probes excluded: they are found by a short fixed-point iteration, since a probe
is what does not move ``nextseq``). ``M`` equals ``nextseq`` except during *episodes* that begin
when a segment raises ``nextseq`` without starting at it (a hole) and end when a segment starts
exactly at the old value or the peer acknowledges beyond it; the few episodes are chained in
Python, everything else is whole-column numpy. The duplicate-ACK counter is rebuilt from its
events (resets when a side's ACK number moves, increments on duplicate ACKs, Wireshark's -1 when
the peer acknowledges unseen data) and read only where a rule needs it. Conversations whose
numbers cannot be compared this way (sequence spans over 2^31, a ``nextseq`` of exactly 0, a
SYN that Wireshark would treat as a new conversation, …) are marked for the exact pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packets import ACK, FIN, RST, SYN
from ..sets import distinct
from . import expert_flags as F
from .expert_rows import NONE, KeyedMax, Lanes, exclusive_max, gt32, le32, lt32, mark
from .expert_window import NO_SCALING, UNKNOWN, window_state
from .segments import TcpPackets

M32 = 0xFFFFFFFF
FAST_RETRANS_NS = 20_000_000
OOO_DEFAULT_NS = 3_000_000
ZWP_ROUNDS = 8
SEARCH_STEPS = 16
_HALF = 1 << 31


@dataclass
class Rows:
    """The per-row inputs every rule reads (int64 where arithmetic needs it)."""

    n: int
    lane: np.ndarray
    seq: np.ndarray  # raw
    ack: np.ndarray  # raw
    win: np.ndarray
    L: np.ndarray  # segment length
    syn: np.ndarray
    fin: np.ndarray
    rst: np.ndarray
    ackf: np.ndarray
    sf: np.ndarray  # SYN or FIN
    sfr: np.ndarray  # SYN, FIN or RST
    ts: np.ndarray
    gbase: np.ndarray  # the raw base ``rel`` is counted from (gather_tcp's)
    end: np.ndarray  # unwrapped sequence end (SYN/FIN count one)

    @classmethod
    def of(cls, t: TcpPackets, seglen: np.ndarray) -> Rows:
        syn, fin, rst, ackf = t.has(SYN), t.has(FIN), t.has(RST), t.has(ACK)
        sf = syn | fin
        L = seglen.astype(np.int64, copy=False)
        lane = t.lane.astype(np.int64)
        gbase = np.where(t.lane == 0, t.per_row(t.base[:, 0]), t.per_row(t.base[:, 1]))
        end = t.rel + L
        end += sf
        return cls(n=len(t), lane=lane, seq=t.seq.astype(np.int64),
                   ack=t.ack.astype(np.int64), win=t.win.astype(np.int64), L=L, syn=syn,
                   fin=fin, rst=rst, ackf=ackf, sf=sf, sfr=sf | rst, ts=t.ts,
                   gbase=gbase, end=end)


@dataclass
class SeqAnalysis:
    flags: np.ndarray  # uint16 per row (HAS_RECORD where known from these rules)
    dup_rows: np.ndarray  # the duplicate ACKs (rows, in order)
    dup_num: np.ndarray  # int64 per duplicate ACK: its number (#1, #2, …)
    dup_of: np.ndarray  # int64 per duplicate ACK: the row of the ACK it repeats, -1 = none
    lost_row: np.ndarray  # bool: LOST_SEGMENT rows (bytes in flight pauses after them)
    end: np.ndarray  # int64 unwrapped sequence end of each row (SYN/FIN count one)
    base: np.ndarray  # int64 (nconv, 2): Wireshark's raw base sequence number per lane
    irtt_ns: np.ndarray  # int64 per conversation (NONE when unknown)
    irtt_row: np.ndarray  # int64 per conversation: the row that completed the handshake
    exact: np.ndarray  # bool per conversation: leave to the packet-by-packet pass


def analyse_sequence(t: TcpPackets, lanes: Lanes, seglen: np.ndarray, wscale: np.ndarray
                     ) -> SeqAnalysis:
    r = Rows.of(t, seglen)
    n = r.n
    exact = np.zeros(t.nconv, dtype=bool)
    ps, po = lanes.prev_same, lanes.prev_other
    # the previous row's window and ACK number; index -1 (no such row) reads the defaults
    win_or_none = np.append(r.win, M32)
    ack_or_none = np.append(r.ack, 0)
    rev_win, rev_lastack = win_or_none[po], ack_or_none[po]
    fwd_win, fwd_lastack = win_or_none[ps], ack_or_none[ps]

    # -- nextseq, with zero-window probes found by iterating to a fixed point ------------
    cand = (r.L == 1) & (rev_win == 0)
    zwp = cand.copy()  # first guess: every candidate is a probe (right for runs of probes)
    for _ in range(ZWP_ROUNDS):
        N, reach = _nextseq_before(t, lanes, r.end, zwp)
        reach_of = zwp
        N_set = N != NONE
        N_raw = np.where(N_set, (r.gbase + N) & M32, 0)
        if not cand.any():
            break
        new = cand & (r.seq == N_raw)
        unsettled = new != zwp
        if not unsettled.any():
            break
        zwp = new
    else:
        exact[t.local[unsettled]] = True
    nz = ~zwp
    # Wireshark reads nextseq == 0 as "not set yet"; numbers too far apart compare wrongly
    bad = N_set & ((N_raw == 0) | (np.abs(r.end - N) >= _HALF) | (np.abs(t.rel - N) >= _HALF))
    bad |= nz & (((r.gbase + r.end) & M32) == 0)
    exact[t.local[bad]] = True

    # -- flags of the sender's own rules --------------------------------------------------
    f = np.zeros(n, dtype=np.uint16)
    mark(f, zwp, F.ZERO_WINDOW_PROBE)
    mark(f, nz & (r.win == 0) & ~r.sfr, F.ZERO_WINDOW)
    lost = nz & N_set & gt32(r.seq, N_raw) & ~r.rst
    mark(f, lost, F.LOST_SEGMENT)
    keepalive = nz & (r.L <= 1) & (r.seq == ((N_raw - 1) & M32)) & ~r.sfr
    mark(f, keepalive, F.KEEP_ALIVE)
    same = nz & (r.L == 0) & (r.seq == N_raw) & (r.ack == fwd_lastack) & ~r.sfr
    mark(f, same & (r.win != 0) & (r.win != fwd_win), F.WINDOW_UPDATE)
    full, too_many = _window_full(t, lanes, r, nz, rev_win, rev_lastack, wscale)
    exact |= too_many
    mark(f, full, F.WINDOW_FULL)
    po_flags = np.append(f, np.uint16(0))[po]
    ka_ack = same & (r.win != 0) & (r.win == fwd_win) & ((po_flags & F.KEEP_ALIVE) != 0)
    mark(f, ka_ack, F.KEEP_ALIVE_ACK)
    po_zwp = (po_flags & F.ZERO_WINDOW_PROBE) != 0
    mark(f, same & (r.win == 0) & (fwd_win == 0) & po_zwp, F.ZERO_WINDOW_PROBE_ACK)
    dup = same & (r.win != 0) & (r.win == fwd_win) & ~ka_ack
    mark(f, dup, F.DUPLICATE_ACK)
    reset = r.ack != fwd_lastack  # the side's ACK number moved: its duplicate counter restarts

    # -- Wireshark's base per lane, and SYNs that reopen or restart the conversation ------
    base, syn_rows, repeated = _bases_and_syns(t, lanes, r, exact)

    # -- maxseqtobeacked and the peer acknowledging data never seen -----------------------
    n_after = np.where(nz & (~N_set | (r.end > N)), r.end, N)
    catch_up, minus_one, record = _acked_unseen(t, lanes, r, N, N_set, n_after, nz, exact)
    # a repeated SYN puts nextseq back to M: harmless only when they agree (M in step)
    record[syn_rows[repeated]] = True

    # -- the duplicate-ACK counters, read where rules need them ---------------------------
    dup_rows = np.flatnonzero(dup)
    counters = _Counters(t, lanes, r.lane, reset, dup, minus_one)
    dup_num = counters.dups_since_anchor(dup_rows, r.lane[dup_rows]) + 1
    dup_of = counters.last_reset(dup_rows, r.lane[dup_rows])
    mo = np.flatnonzero(minus_one)
    if mo.size:
        zero = counters.is_zero(mo, 1 - r.lane[mo])
        f[mo[zero]] |= F.ACK_LOST_SEGMENT
    mark(f, catch_up, F.ACK_LOST_SEGMENT)

    # -- retransmission, fast or spurious retransmission, out-of-order ----------------------
    irtt_ns, irtt_row = _initial_rtt(t, lanes, r)
    checked = ((r.L > 0) | r.sf) & ~keepalive
    c = np.flatnonzero(checked)
    _retransmissions(t, lanes, r, c, N, N_raw, nz, rev_lastack, minus_one, counters,
                     irtt_ns, irtt_row, f, reach if reach_of is zwp else {})
    mark(f, record | (f != 0), F.HAS_RECORD)
    return SeqAnalysis(flags=f, dup_rows=dup_rows, dup_num=dup_num, dup_of=dup_of,
                       lost_row=lost, end=r.end, base=base, irtt_ns=irtt_ns, irtt_row=irtt_row,
                       exact=exact)


def _nextseq_before(t: TcpPackets, lanes: Lanes, end: np.ndarray, skip: np.ndarray
                    ) -> tuple[np.ndarray, dict[int, KeyedMax]]:
    """Per row: the highest end of the earlier rows of its lane (probes skipped); NONE when
    there is none. Also each lane's running maximum of those ends (probes at the lane's lowest
    end less one), which says where each nextseq was first reached."""
    out = np.empty(len(t), dtype=np.int64)
    reach: dict[int, KeyedMax] = {}
    for lane in (0, 1):
        rows = lanes.rows[lane]
        if not rows.size:
            continue
        v = end[rows]
        groups = lanes.groups(lane)
        if skip.any():
            s = skip[rows]
            floor = int(v.min()) - 1
            v = np.where(s, floor, v)
            km = reach[lane] = KeyedMax(groups, v)
            best = exclusive_max(v, groups, km)
            best[best == floor] = NONE
        else:
            km = reach[lane] = KeyedMax(groups, v)
            best = exclusive_max(v, groups, km)
        out[rows] = best
    return out, reach


def _window_full(t: TcpPackets, lanes: Lanes, r: Rows, nz: np.ndarray, rev_win: np.ndarray,
                 rev_lastack: np.ndarray, wscale: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """WINDOW_FULL: a data segment that ends exactly at the edge of the peer's last window
    (scaled by what is known of the peer's window scaling). Only segments that end at the
    edge for some shift are looked at closely."""
    full = np.zeros(r.n, dtype=bool)
    rows = np.flatnonzero(nz & (r.L > 0) & ~r.sfr)
    reach = (r.seq[rows] + r.L[rows] - rev_lastack[rows]) & M32  # the window this would fill
    w = rev_win[rows]
    # reach = w << k: their ratio is a power of two (mantissa 0.5); exact check below
    mantissa, _ = np.frexp(reach / np.maximum(w, 1))
    maybe = ((mantissa == 0.5) & (reach >= w)) | (reach == 0) | (w == M32)  # M32: peer silent
    rows = rows[maybe]
    rev_scale, rev_first_ack, too_many = window_state(t, lanes, wscale, rows)
    known = rev_scale != UNKNOWN
    shift = np.where(rev_first_ack | (rev_scale == NO_SCALING), 0, np.maximum(rev_scale, 0))
    edge = (rev_lastack[rows] + ((rev_win[rows] << shift) & M32)) & M32
    full[rows] = known & (((r.seq[rows] + r.L[rows]) & M32) == edge)
    return full, too_many


def _bases_and_syns(t: TcpPackets, lanes: Lanes, r: Rows, exact: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wireshark's base sequence number per conversation and lane (from the lane's first
    packet, or the peer's first ACK, whichever came first); the SYN rows and which of them
    repeat the sender's base. A SYN with another sequence number after the base is set (a new
    conversation for Wireshark) or a SYN-ACK that moves the base goes to the exact pass."""
    n = r.n
    nconv = t.nconv
    first_row = np.full((nconv, 2), n, dtype=np.int64)
    first_ack = np.full((nconv, 2), n, dtype=np.int64)  # the peer's first ACK, per data lane
    for d in (0, 1):
        rows = lanes.rows[d]
        if rows.size:
            c = lanes.groups(d)
            head = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1])))
            first_row[c[head], d] = rows[head]
        acks = lanes.acks(1 - d)
        if acks.size:
            c = lanes.ack_max(1 - d).gid
            head = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1])))
            first_ack[c[head], d] = acks[head]
    own = first_row <= first_ack
    fr = np.minimum(first_row, max(n - 1, 0))
    fa = np.minimum(first_ack, max(n - 1, 0))
    own_base = np.where(r.syn[fr], r.seq[fr], (r.seq[fr] - 1) & M32)
    peer_base = (r.ack[fa] - 1) & M32
    base = np.where(own, own_base, peer_base)
    syn_rows = np.flatnonzero(r.syn)
    if not syn_rows.size:
        return base, syn_rows, np.zeros(0, dtype=bool)
    c = t.local[syn_rows]
    lane = r.lane[syn_rows]
    set_before = syn_rows > np.minimum(first_row, first_ack)[c, lane]
    mine = base[c, lane]
    syn_only = ~r.ackf[syn_rows]
    moved = set_before & (r.seq[syn_rows] != mine)
    exact[c[moved]] = True
    return base, syn_rows, syn_only & set_before & ~moved


def _acked_unseen(t: TcpPackets, lanes: Lanes, r: Rows, N: np.ndarray, N_set: np.ndarray,
                  n_after: np.ndarray, nz: np.ndarray, exact: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows acknowledging beyond the peer's ``maxseqtobeacked``: those that catch an
    out-of-step M up (always flagged) and those that find it in step (Wireshark's -1 on the
    peer's duplicate counter; flagged only when that counter was 0). Both have a record."""
    n = r.n
    catch_up = np.zeros(n, dtype=bool)
    minus_one = np.zeros(n, dtype=bool)
    ack_rows = np.flatnonzero(r.ackf)
    if not ack_rows.size:
        return catch_up, minus_one, np.zeros(n, dtype=bool)
    # M of the peer (the data lane) before each ACK row: its nextseq when in step
    d_lane = 1 - r.lane[ack_rows]
    last_d = lanes.prev_other[ack_rows]
    has = last_d >= 0
    m_peer = np.where(has, n_after[np.maximum(last_d, 0)], NONE)
    a = t.ack_rel[ack_rows]
    far = has & (np.abs(a - m_peer) >= _HALF)
    exact[t.local[ack_rows[far]]] = True
    out_of_step = np.zeros(ack_rows.size, dtype=bool)
    for d in (0, 1):
        starts, stops, value = _episodes(t, lanes, d, r, N, N_set, nz, exact)
        if not starts.size:
            continue
        # ACK rows of the other lane inside (start, stop] see M = the episode's value
        lo = np.searchsorted(ack_rows, starts, side="right")
        hi = np.searchsorted(ack_rows, np.minimum(stops, t.row_end[starts] - 1), side="right")
        count = hi - lo
        if not count.sum():
            continue
        pos = np.repeat(lo, count) + (np.arange(int(count.sum())) -
                                      np.repeat(np.cumsum(count) - count, count))
        vals = np.repeat(value, count)
        pick = d_lane[pos] == d
        m_peer[pos[pick]] = vals[pick]
        out_of_step[pos[pick]] = True
    beyond = has & (a > m_peer)
    catch_up[ack_rows[beyond & out_of_step]] = True
    minus_one[ack_rows[beyond & ~out_of_step]] = True
    record = np.zeros(n, dtype=bool)
    record[ack_rows[beyond]] = True
    return catch_up, minus_one, record


def _episodes(t: TcpPackets, lanes: Lanes, d: int, r: Rows, N: np.ndarray, N_set: np.ndarray,
              nz: np.ndarray, exact: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lane ``d``'s episodes of M out of step with nextseq: the rows that start them (a
    segment raising nextseq without starting at it), the rows that end them (a segment
    starting at M, or the peer acknowledging beyond M; n: never) and M's value meanwhile."""
    rows = lanes.rows[d]
    s = t.rel[rows]
    Nd = N[rows]
    raise_ = nz[rows] & N_set[rows] & (r.end[rows] > Nd) & (s != Nd)
    cands = rows[raise_]
    if not cands.size:
        return cands, cands, cands
    m = Nd[raise_]
    by_ack = _first_ack_beyond(t, lanes, d, cands, m, exact)
    stop = np.minimum(_first_fill(t, lanes, d, cands, m, nz, by_ack, exact), by_ack)
    stop = np.minimum(stop, t.row_end[cands] - 1)  # never: the conversation's end
    conv = t.local[cands]
    ordered = np.all(stop[:-1] < cands[1:]) if cands.size > 1 else True
    if ordered:  # no episode starts before the previous one ended: all of them count
        return cands, stop, m
    keep = []
    cur_conv, cur_stop = -1, -1
    for k, (c, row, e) in enumerate(zip(conv.tolist(), cands.tolist(), stop.tolist(),
                                          strict=True)):
        if c != cur_conv:
            cur_conv, cur_stop = c, -1
        if row > cur_stop:
            keep.append(k)
            cur_stop = e
    chosen = np.array(keep, dtype=np.int64)
    return cands[chosen], stop[chosen], m[chosen]


def _first_fill(t: TcpPackets, lanes: Lanes, d: int, cands: np.ndarray, m: np.ndarray,
                nz: np.ndarray, limit: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """For each candidate row, the first later row of lane ``d`` (not a probe) whose sequence
    number is exactly ``m``, looked for only before ``limit``; len(t) where there is none. The
    filling segment usually follows closely: a short scan, then a sorted search for the rest."""
    n = len(t)
    rows = lanes.rows[d]
    found = np.full(cands.size, n, dtype=np.int64)
    s = t.rel
    pos = lanes.position(cands) + 1
    todo = np.arange(cands.size)
    for _ in range(SEARCH_STEPS):
        if not todo.size:
            return found
        p = np.minimum(pos[todo], rows.size - 1)
        row = rows[p]
        live = (pos[todo] < rows.size) & (row < limit[todo]) & (row < t.row_end[cands[todo]])
        hit = live & nz[row] & (s[row] == m[todo])
        found[todo[hit]] = row[hit]
        todo = todo[live & ~hit]
        pos[todo] += 1
    if not todo.size:
        return found
    # the rest: every row of the lane with one of the wanted numbers, in order
    want = t.local[cands[todo]] * (1 << 40) + (m[todo] - int(m.min()))
    ok = (m[todo] - int(m.min()) < (1 << 40)) & (t.local[cands[todo]] < (1 << 22))
    if not ok.all():
        exact[t.local[cands[todo]]] = True
        return found
    lane_rows = rows[nz[rows]]
    keys = t.local[lane_rows] * (1 << 40) + (s[lane_rows] - int(m.min()))
    wanted = distinct(want)
    at = np.searchsorted(wanted, keys)
    match = (at < wanted.size) & (wanted[np.minimum(at, wanted.size - 1)] == keys)
    lane_rows, keys = lane_rows[match], keys[match]
    order = np.argsort(keys, kind="stable")  # rows stay in order within a number
    k_sorted, r_sorted = keys[order], lane_rows[order]
    first = np.searchsorted(k_sorted, want, side="left")
    for _ in range(SEARCH_STEPS):
        if not todo.size:
            break
        p = np.minimum(first, max(k_sorted.size - 1, 0))
        hit = (first < k_sorted.size) & (k_sorted[p] == want) if k_sorted.size else \
            np.zeros(todo.size, dtype=bool)
        after = hit & (r_sorted[p] > cands[todo]) if k_sorted.size else hit
        found[todo[after]] = np.minimum(r_sorted[p[after]], n)
        keep = hit & ~after
        todo, want, first = todo[keep], want[keep], first[keep] + 1
    if todo.size:
        exact[t.local[cands[todo]]] = True
    return found


def _first_ack_beyond(t: TcpPackets, lanes: Lanes, d: int, cands: np.ndarray, m: np.ndarray,
                      exact: np.ndarray) -> np.ndarray:
    """For each candidate row, the first later row of the other lane with the ACK flag and an
    acknowledgement beyond ``m`` (unwrapped); len(t) where there is none."""
    n = len(t)
    rows = lanes.acks(1 - d)
    found = np.full(cands.size, n, dtype=np.int64)
    if not rows.size:
        return found
    a = t.ack_rel[rows]
    km = lanes.ack_max(1 - d)
    if not km.ok:
        exact[t.local[cands]] = True
        return found
    first = np.searchsorted(rows, cands, side="right")  # the first ACK row after each
    ok = first < rows.size
    ok[ok] = km.gid[first[ok]] == t.local[cands[ok]]
    prev = np.full(cands.size, NONE, dtype=np.int64)
    inner = ok & (first > 0)
    inner[inner] = km.gid[first[inner] - 1] == km.gid[first[inner]]
    prev[inner] = km.value_at(first[inner] - 1)
    easy = ok & (prev <= m)  # nothing earlier exceeded m: the running maximum answers
    if easy.any():
        idx = np.flatnonzero(easy)
        pos = km.first_reaching(km.gid[first[idx]], m[idx] + 1)
        hit = pos < rows.size
        found[idx[hit]] = rows[pos[hit]]
    hard = np.flatnonzero(ok & ~easy)  # scan forward from the first ACK row after it
    pos = first[hard]
    for _ in range(SEARCH_STEPS):
        if not hard.size:
            break
        p = np.minimum(pos, rows.size - 1)
        valid = (pos < rows.size) & (t.local[rows[p]] == t.local[cands[hard]])
        hit = valid & (a[p] > m[hard])
        found[hard[hit]] = rows[p[hit]]
        keep = valid & ~hit
        hard, pos = hard[keep], pos[keep] + 1
    if hard.size:
        exact[t.local[cands[hard]]] = True
    return found


class _Counters:
    """Wireshark's duplicate-ACK counter of each lane, from its events: a reset to 0 when the
    lane's ACK number moves, +1 per duplicate ACK (from -1 straight to 1), and -1 when the peer
    acknowledges beyond an in-step ``maxseqtobeacked``. Read at chosen rows (before them)."""

    def __init__(self, t: TcpPackets, lanes: Lanes, lane: np.ndarray, reset: np.ndarray,
                 dup: np.ndarray, minus_one: np.ndarray) -> None:
        self.t = t
        self.lanes = lanes
        self.anchor = []
        self.is_minus = []
        self.resets = []
        self.dups = []
        for x in (0, 1):
            mine = lane == x
            by_peer = minus_one & ~mine  # events on x's counter happen on the peer's rows
            anchors = np.flatnonzero((reset & mine) | by_peer)
            self.anchor.append(anchors)
            self.is_minus.append(by_peer[anchors])
            self.resets.append(np.flatnonzero(reset & mine))
            self.dups.append(np.flatnonzero(dup & mine))

    def _state(self, rows: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(duplicate ACKs since the last anchor, the anchor was a -1) before each row."""
        since = np.zeros(rows.size, dtype=np.int64)
        minus = np.zeros(rows.size, dtype=bool)
        start = self.t.row_start[rows]
        for lane in (0, 1):
            k = np.flatnonzero(x == lane)
            if not k.size:
                continue
            q = rows[k]
            anchors = self.anchor[lane]
            a_pos = np.searchsorted(anchors, q, side="left") - 1
            if anchors.size:
                a_row = np.where(a_pos >= 0, anchors[np.maximum(a_pos, 0)], -1)
            else:
                a_row = np.full(q.size, -1, dtype=np.int64)
            valid = (a_row >= 0) & (a_row >= start[k])
            floor = np.where(valid, a_row, start[k] - 1)
            dups = self.dups[lane]
            since[k] = np.searchsorted(dups, q, side="left") - \
                np.searchsorted(dups, floor, side="right")
            if anchors.size:
                minus[k] = valid & self.is_minus[lane][np.maximum(a_pos, 0)]
        return since, minus

    def dups_since_anchor(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self._state(rows, x)[0]

    def is_zero(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        since, minus = self._state(rows, x)
        return (since == 0) & ~minus

    def at_least_two(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Wireshark compares the unsigned counter: -1 counts as at least two."""
        since, minus = self._state(rows, x)
        return (since >= 2) | (minus & (since == 0))

    def last_reset(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        out = np.full(rows.size, -1, dtype=np.int64)
        for lane in (0, 1):
            k = np.flatnonzero(x == lane)
            if k.size:
                out[k] = self.lanes.last_in_before(self.resets[lane], rows[k])
        return out


def _retransmissions(t: TcpPackets, lanes: Lanes, r: Rows, c: np.ndarray, N: np.ndarray,
                     N_raw: np.ndarray, nz: np.ndarray, rev_lastack: np.ndarray,
                     minus_one: np.ndarray, counters: _Counters, irtt_ns: np.ndarray,
                     irtt_row: np.ndarray, f: np.ndarray,
                     reach: dict[int, KeyedMax]) -> None:
    """Rows ``c`` (data, SYN or FIN; not keep-alives): spurious retransmission, else fast
    retransmission, else out-of-order, else retransmission when below nextseq. ``reach``: the
    lanes' running maxima of segment ends, when already made."""
    if not c.size:
        return
    seq, L, Nr = r.seq[c], r.L[c], N_raw[c]
    not_adv = (N[c] != NONE) & lt32(seq, Nr) & ~((L > 1) & (seq == ((Nr - 1) & M32)))
    ra = rev_lastack[c]
    spur = (L > 0) & (ra != 0) & le32((seq + L) & M32, ra)
    f[c[spur]] |= F.SPURIOUS_RETRANSMISSION
    rest = ~spur & not_adv
    k = np.flatnonzero(rest & (ra == seq))  # fast retransmission candidates
    fast = np.zeros(c.size, dtype=bool)
    if k.size:
        rows = c[k]
        po = lanes.prev_other[rows]
        since = (r.ts[rows] - np.where(po >= 0, r.ts[np.maximum(po, 0)], 0)).astype(np.uint64)
        two = counters.at_least_two(rows, 1 - r.lane[rows]) | minus_one[rows]
        fast[k] = two & (since < np.uint64(FAST_RETRANS_NS))
    f[c[fast]] |= F.FAST_RETRANSMISSION
    k = np.flatnonzero(rest & ~fast)
    ooo = np.zeros(c.size, dtype=bool)
    if k.size:
        rows = c[k]
        setter = _nextseq_setter(t, lanes, r, rows, N, nz, reach)
        since = (r.ts[rows] - np.where(setter >= 0, r.ts[np.maximum(setter, 0)], 0)
                 ).astype(np.uint64)
        conv = t.local[rows]
        known = (irtt_row[conv] >= 0) & (rows > irtt_row[conv])
        threshold = np.where(known, irtt_ns[conv], OOO_DEFAULT_NS).astype(np.uint64)
        end = (r.seq[rows] + r.L[rows] + r.sf[rows]) & M32
        ooo[k] = (since < threshold) & (N_raw[rows] != end)
    f[c[ooo]] |= F.OUT_OF_ORDER
    f[c[rest & ~fast & ~ooo]] |= F.RETRANSMISSION


def _nextseq_setter(t: TcpPackets, lanes: Lanes, r: Rows, rows: np.ndarray, N: np.ndarray,
                    nz: np.ndarray, reach: dict[int, KeyedMax]) -> np.ndarray:
    """For each of ``rows``, the earlier row of its lane that first reached its nextseq (the
    time Wireshark measures out-of-order against)."""
    out = np.full(rows.size, -1, dtype=np.int64)
    for lane in (0, 1):
        k = np.flatnonzero(r.lane[rows] == lane)
        if not k.size:
            continue
        lr = lanes.rows[lane]
        km = reach.get(lane)
        if km is None:
            ends = r.end[lr]
            km = KeyedMax(lanes.groups(lane), np.where(nz[lr], ends, int(ends.min()) - 1))
        if not km.ok:
            continue
        at = lanes.position(rows[k])
        pos = km.first_reaching(km.gid[at], N[rows[k]])
        out[k] = np.where(pos < lr.size, lr[np.minimum(pos, lr.size - 1)], -1)
    return out


def _initial_rtt(t: TcpPackets, lanes: Lanes, r: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Per conversation: the time from the most recent SYN to the first pure ACK after it
    (Wireshark's iRTT; a zero difference does not count) and the row of that ACK."""
    irtt = np.full(t.nconv, NONE, dtype=np.int64)
    row = np.full(t.nconv, -1, dtype=np.int64)
    syn_only = np.flatnonzero(r.syn & ~r.ackf)
    pure = np.flatnonzero(r.ackf & ~r.syn)
    if not syn_only.size or not pure.size:
        return irtt, row
    conv = t.local[syn_only]
    head = syn_only[np.concatenate(([True], conv[1:] != conv[:-1]))]  # each first SYN
    at = np.searchsorted(pure, head)  # the first pure ACK after it
    todo = np.arange(head.size)
    for _ in range(SEARCH_STEPS):
        if not todo.size:
            break
        p = np.minimum(at[todo], pure.size - 1)
        cand = pure[p]
        live = (at[todo] < pure.size) & (cand < t.row_end[head[todo]])
        last = lanes.last_in_before(syn_only, cand)
        mru = np.where(last >= 0, r.ts[np.maximum(last, 0)], 0)
        hit = live & (mru != 0) & (r.ts[cand] != mru)
        c = t.local[cand[hit]]
        irtt[c] = r.ts[cand[hit]] - mru[hit]
        row[c] = cand[hit]
        todo = todo[live & ~hit]
        at[todo] += 1
    if todo.size:  # a long run of ACKs at the SYN's own timestamp: walk it in Python
        for k in todo.tolist():
            for q in pure[at[k]:].tolist():
                if q >= t.row_end[head[k]]:
                    break
                before = int(lanes.last_in_before(syn_only, np.array([q]))[0])
                since = int(r.ts[before]) if before >= 0 else 0
                if since != 0 and int(r.ts[q]) != since:
                    irtt[t.local[q]] = int(r.ts[q]) - since
                    row[t.local[q]] = q
                    break
    return irtt, row
