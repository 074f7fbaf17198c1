"""The sequence-number half of the vectorised TCP analysis: every flag except those the list of
unacknowledged segments decides, for a whole batch of conversations at once.

Wireshark keeps, per direction, ``nextseq`` (the highest sequence end seen) and
``maxseqtobeacked`` (``M``). Here ``nextseq`` is a per-direction running maximum of segment
ends (zero-window probes excluded: they are found by a short fixed-point iteration, since a probe
is what does not move ``nextseq``). ``M`` equals ``nextseq`` except during *episodes* that begin
when a segment raises ``nextseq`` without starting at it (a hole) and end when a segment starts
exactly at the old value or the peer acknowledges beyond it; the few episodes are chained in
Python, everything else is whole-column numpy. The duplicate-ACK counter is rebuilt from its
events (resets when a side's ACK moves, increments on duplicate ACKs, Wireshark's -1 when the peer
acknowledges unseen data). Conversations whose numbers cannot be compared this way (sequence
spans over 2^31, a ``nextseq`` of exactly 0, a SYN that Wireshark would treat as a new
conversation, …) are marked for the exact pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packets import ACK, FIN, RST, SYN
from . import expert_flags as F
from .expert_rows import NONE, Lanes, gt32, le32, lt32
from .expert_window import NO_SCALING, UNKNOWN, window_state
from .segments import TcpPackets

M32 = 0xFFFFFFFF
FAST_RETRANS_NS = 20_000_000
OOO_DEFAULT_NS = 3_000_000
ZWP_ROUNDS = 8
SEARCH_STEPS = 16
_HALF = 1 << 31


@dataclass
class SeqAnalysis:
    flags: np.ndarray  # uint16 per row (HAS_RECORD where known from these rules)
    dup_num: np.ndarray  # int64 per row, 0 = not a duplicate ACK
    dup_of: np.ndarray  # int64 row of the repeated ACK, -1 = none
    lost_row: np.ndarray  # bool: LOST_SEGMENT rows (bytes in flight pauses after them)
    end: np.ndarray  # int64 unwrapped sequence end of each row (SYN/FIN count one)
    base: np.ndarray  # int64 (nconv, 2): Wireshark's raw base sequence number per lane
    irtt_ns: np.ndarray  # int64 per conversation (NONE when unknown)
    irtt_row: np.ndarray  # int64 per conversation: the row that completed the handshake
    exact: np.ndarray  # bool per conversation: leave to the packet-by-packet pass


def analyse_sequence(t: TcpPackets, lanes: Lanes, seglen: np.ndarray, wscale: np.ndarray
                     ) -> SeqAnalysis:
    n = len(t)
    exact = np.zeros(t.nconv, dtype=bool)
    fl = t.flags.astype(np.int64)
    syn, fin, rst, ackf = (fl & SYN) != 0, (fl & FIN) != 0, (fl & RST) != 0, (fl & ACK) != 0
    sf = syn | fin
    sfr = sf | rst
    lane = t.lane.astype(np.int64)
    seq = t.seq.astype(np.int64)
    ack = t.ack.astype(np.int64)
    win = t.win.astype(np.int64)
    ts = t.ts
    L = seglen.astype(np.int64)
    s = t.rel
    end = s + L + sf
    gbase = t.base[t.local, lane]  # the base gather_tcp unwrapped against (raw)
    ps, po = lanes.prev_same, lanes.prev_other
    has_po = po >= 0
    po0 = np.maximum(po, 0)
    ps0 = np.maximum(ps, 0)
    rev_win = np.where(has_po, win[po0], M32)
    rev_lastack = np.where(has_po, ack[po0], 0)
    fwd_win = np.where(ps >= 0, win[ps0], M32)
    fwd_lastack = np.where(ps >= 0, ack[ps0], 0)

    # -- nextseq, with zero-window probes found by iterating to a fixed point ------------
    cand = (L == 1) & (rev_win == 0)
    zwp = cand.copy()  # first guess: every candidate is a probe (right for runs of probes)
    for _ in range(ZWP_ROUNDS):
        N, setter = lanes.lane_running_max(end, ~zwp)
        N_set = N != NONE
        N_raw = np.where(N_set, (gbase + N) & M32, 0)
        new = cand & (seq == N_raw)
        unsettled = new != zwp
        if not unsettled.any():
            break
        zwp = new
    else:
        exact[np.unique(t.local[unsettled])] = True
    nz = ~zwp
    # Wireshark reads nextseq == 0 as "not set yet"; numbers too far apart compare wrongly
    far = N_set & ((np.abs(end - N) >= _HALF) | (np.abs(s - N) >= _HALF))
    exact[np.unique(t.local[(N_set & (N_raw == 0)) | far])] = True
    zero_end = nz & (((gbase + end) & M32) == 0)  # would leave nextseq "unset" behind it
    exact[np.unique(t.local[zero_end])] = True

    # -- flags of the fwd-side rules ------------------------------------------------------
    f = np.zeros(n, dtype=np.int64)
    f[zwp] |= F.ZERO_WINDOW_PROBE
    f[nz & (win == 0) & ~sfr] |= F.ZERO_WINDOW
    lost = nz & N_set & gt32(seq, N_raw) & ~rst
    f[lost] |= F.LOST_SEGMENT
    keepalive = nz & (L <= 1) & (seq == ((N_raw - 1) & M32)) & ~sfr
    f[keepalive] |= F.KEEP_ALIVE
    same = nz & (L == 0) & (seq == N_raw) & (ack == fwd_lastack) & ~sfr
    f[same & (win != 0) & (win != fwd_win)] |= F.WINDOW_UPDATE
    rev_scale, rev_first_ack, too_many = window_state(t, lanes, wscale)
    exact |= too_many
    shift = np.where(rev_first_ack | (rev_scale == NO_SCALING), 0, np.maximum(rev_scale, 0))
    edge = (rev_lastack + ((rev_win << shift) & M32)) & M32
    full = nz & (L > 0) & (rev_scale != UNKNOWN) & ~sfr & (((seq + L) & M32) == edge)
    f[full] |= F.WINDOW_FULL
    po_ka = has_po & ((f[po0] & F.KEEP_ALIVE) != 0)
    po_zwp = has_po & zwp[po0]
    ka_ack = same & (win != 0) & (win == fwd_win) & po_ka
    f[ka_ack] |= F.KEEP_ALIVE_ACK
    f[same & (win == 0) & (fwd_win == 0) & po_zwp] |= F.ZERO_WINDOW_PROBE_ACK
    dup = same & (win != 0) & (win == fwd_win) & ~ka_ack
    f[dup] |= F.DUPLICATE_ACK
    reset = ack != fwd_lastack  # the side's ACK number moved: its duplicate counter restarts

    # -- Wireshark's base per lane, and SYNs that reopen or restart the conversation ------
    base, base_set = _bases(t, lanes, seq, ack, ackf, syn)
    syn_only = syn & ~ackf
    mine_base = base[t.local, lane]
    repeated_syn = syn_only & base_set & (seq == mine_base)
    exact[np.unique(t.local[syn_only & base_set & (seq != mine_base)])] = True
    exact[np.unique(t.local[syn & ackf & base_set & (seq != mine_base)])] = True

    # -- maxseqtobeacked: episodes out of step with nextseq ----------------------------------
    inc = nz & (~N_set | (end > N))
    n_after = np.where(inc, end, N)
    desync_at, resync_at, m_val = _episodes(t, lanes, s, N, N_set, inc, nz, ackf, exact)
    # per row and lane: M of that lane before the row, and whether it is out of step
    n_cur = np.full((2, n), NONE, dtype=np.int64)  # nextseq of each lane before each row
    m_cur = np.full((2, n), NONE, dtype=np.int64)
    out_of_step = np.zeros((2, n), dtype=bool)
    for d in (0, 1):
        last_d = lanes.last_before(np.ones(n, dtype=bool), lane_of_mask=d)
        n_cur[d] = np.where(last_d >= 0, n_after[np.maximum(last_d, 0)], NONE)
        starts, stops, vals = desync_at[d], resync_at[d], m_val[d]
        # rows after an episode's start up to its end (inclusive) see M = the episode's value
        stops = np.where(stops >= n, t.row_end[starts] - 1, stops)
        depth = np.zeros(n + 1, dtype=np.int64)
        np.add.at(depth, starts + 1, 1)
        np.add.at(depth, stops + 1, -1)
        inside = np.cumsum(depth[:-1]) > 0
        began = np.zeros(n, dtype=bool)
        began[starts] = True
        value_at = np.full(n, NONE, dtype=np.int64)
        value_at[starts] = vals
        pick = lanes.last_before(began)
        m_cur[d] = np.where(inside, value_at[np.maximum(pick, 0)], n_cur[d])
        out_of_step[d] = inside
    e_lane = lane  # the sender of each row; its peer's (data) lane is 1 - lane
    d_lane = 1 - e_lane
    m_peer = m_cur[d_lane, lanes.arange]
    beyond = ackf & (m_peer != NONE) & (t.ack_rel > m_peer)
    peer_out = out_of_step[d_lane, lanes.arange]
    far_ack = ackf & (m_peer != NONE) & (np.abs(t.ack_rel - m_peer) >= _HALF)
    exact[np.unique(t.local[far_ack])] = True
    catch_up = beyond & peer_out  # first branch: the peer's M jumps to its nextseq
    minus_one = beyond & ~peer_out  # else branch: Wireshark's counter goes to -1
    record = beyond | repeated_syn
    # a repeated SYN sets nextseq back to M: harmless only when they agree
    bad_syn = repeated_syn & (m_cur[e_lane, lanes.arange] != n_cur[e_lane, lanes.arange])
    exact[np.unique(t.local[bad_syn])] = True

    # -- the duplicate-ACK counters -------------------------------------------------------
    dup_num = np.zeros(n, dtype=np.int64)
    dup_of = np.full(n, -1, dtype=np.int64)
    ge2 = np.zeros(n, dtype=bool)  # the peer's counter >= 2 (unsigned) before each row
    zero_at_minus = np.zeros(n, dtype=bool)  # the data side's counter == 0 at its -1 event
    for x in (0, 1):
        mine = lane == x
        r_x = reset & mine
        d_x = dup & mine
        mi_x = minus_one & ~mine  # events on x's counter happen on the other side's rows
        anchor = lanes.last_before(r_x | mi_x)
        cum = np.cumsum(d_x)
        before = cum - d_x
        start = t.row_start
        since = before - np.where(anchor >= 0, cum[np.maximum(anchor, 0)],
                                  before[start])
        by_minus = (anchor >= 0) & mi_x[np.maximum(anchor, 0)]
        value_is_minus = by_minus & (since == 0)
        dup_num[d_x] = since[d_x] + 1
        last_reset = lanes.last_before(r_x)
        dup_of[d_x] = last_reset[d_x]
        # x's counter seen from the other side's rows (fast retransmission, ACKed unseen)
        other = ~mine
        ge2[other] = value_is_minus[other] | (since[other] >= 2) | mi_x[other]
        zero_at_minus[mi_x] = ~by_minus[mi_x] & (since[mi_x] == 0)
    f[catch_up | (minus_one & zero_at_minus)] |= F.ACK_LOST_SEGMENT

    # -- retransmission, fast or spurious retransmission, out-of-order ----------------------
    irtt_ns, irtt_row = _initial_rtt(t, lanes, fl, ts)
    not_adv = N_set & lt32(seq, N_raw) & ~((L > 1) & (seq == ((N_raw - 1) & M32)))
    checked = ((L > 0) | sf) & ~keepalive
    spur = checked & (L > 0) & (rev_lastack != 0) & le32((seq + L) & M32, rev_lastack)
    u64 = np.uint64
    since_ack = (ts - np.where(has_po, ts[po0], 0)).astype(u64)
    fast = checked & ~spur & not_adv & ge2 & (rev_lastack == seq) & \
        (since_ack < u64(FAST_RETRANS_NS))
    since_next = (ts - np.where(setter >= 0, ts[np.maximum(setter, 0)], 0)).astype(u64)
    conv_irtt = irtt_ns[t.local]
    known = (irtt_row[t.local] >= 0) & (lanes.arange > irtt_row[t.local])
    threshold = np.where(known, conv_irtt, OOO_DEFAULT_NS).astype(u64)
    ooo = checked & ~spur & ~fast & not_adv & (since_next < threshold) & \
        (N_raw != ((seq + L + sf) & M32))
    plain = checked & ~spur & ~fast & ~ooo & not_adv
    f[spur] |= F.SPURIOUS_RETRANSMISSION
    f[fast] |= F.FAST_RETRANSMISSION
    f[ooo] |= F.OUT_OF_ORDER
    f[plain] |= F.RETRANSMISSION
    f[record | (f != 0)] |= F.HAS_RECORD
    return SeqAnalysis(flags=f.astype(np.uint16), dup_num=dup_num, dup_of=dup_of,
                       lost_row=lost, end=end, base=base, irtt_ns=irtt_ns, irtt_row=irtt_row,
                       exact=exact)


def _bases(t: TcpPackets, lanes: Lanes, seq: np.ndarray, ack: np.ndarray, ackf: np.ndarray,
           syn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wireshark's base sequence number per conversation and lane (from the lane's first
    packet, or the peer's first ACK, whichever came first), and per row whether the sender's
    base was set before the row."""
    n = len(t)
    base = np.zeros((t.nconv, 2), dtype=np.int64)
    first_row = np.full((t.nconv, 2), n, dtype=np.int64)
    first_ack = np.full((t.nconv, 2), n, dtype=np.int64)  # peer's first ACK, per data lane
    for d in (0, 1):
        rows = lanes.rows[d]
        if rows.size:
            c = t.local[rows]
            np.minimum.at(first_row[:, d], c, rows)
        acks = np.flatnonzero((t.lane == 1 - d) & ackf)
        if acks.size:
            np.minimum.at(first_ack[:, d], t.local[acks], acks)
    own = first_row <= first_ack
    r = np.minimum(first_row, n - 1) if n else first_row
    a = np.minimum(first_ack, n - 1) if n else first_ack
    own_base = np.where(syn[r], seq[r], (seq[r] - 1) & M32)
    peer_base = (ack[a] - 1) & M32
    base = np.where(own, own_base, peer_base)
    set_at = np.minimum(first_row, first_ack)  # the base is set by this row's analysis
    lane = t.lane.astype(np.int64)
    base_set = lanes.arange > set_at[t.local, lane]
    return base, base_set


def _episodes(t: TcpPackets, lanes: Lanes, s: np.ndarray, N: np.ndarray, N_set: np.ndarray,
              inc: np.ndarray, nz: np.ndarray, ackf: np.ndarray, exact: np.ndarray
              ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per lane: rows where M falls behind nextseq, rows where it catches up again (n: never)
    and M's value during each episode."""
    out_start, out_stop, out_val = [], [], []
    for d in (0, 1):
        rows = lanes.rows[d]
        cands = rows[N_set[rows] & inc[rows] & (s[rows] != N[rows])]
        if not cands.size:
            out_start.append(cands)
            out_stop.append(cands)
            out_val.append(cands)
            continue
        m = N[cands]
        by_fill = _first_fill(t, lanes, d, cands, m, s, nz, exact)
        by_ack = _first_ack_beyond(t, d, cands, m, ackf, exact)
        stop = np.minimum(by_fill, by_ack)
        conv = t.local[cands].tolist()
        keep = []
        cur_conv, cur_stop = -1, -1
        for k, (c, row, e) in enumerate(zip(conv, cands.tolist(), stop.tolist(),
                                              strict=True)):
            if c != cur_conv:
                cur_conv, cur_stop = c, -1
            if row > cur_stop:
                keep.append(k)
                cur_stop = e
        keep_a = np.array(keep, dtype=np.int64)
        out_start.append(cands[keep_a])
        out_stop.append(stop[keep_a])
        out_val.append(m[keep_a])
    return out_start, out_stop, out_val


def _pair_keys(conv: np.ndarray, value: np.ndarray, lo: int, span: int) -> np.ndarray:
    return conv.astype(np.int64) * span + (value - lo)


def _first_fill(t: TcpPackets, lanes: Lanes, d: int, cands: np.ndarray, m: np.ndarray,
                s: np.ndarray, nz: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """For each candidate row, the first later row of lane ``d`` (not a probe) whose sequence
    number is exactly ``m``; len(t) where there is none."""
    n = len(t)
    rows = lanes.rows[d]
    rows = rows[nz[rows]]
    if not rows.size:
        return np.full(cands.size, n, dtype=np.int64)
    lo = int(min(s[rows].min(), m.min()))
    span = int(max(s[rows].max(), m.max())) - lo + 1
    if span * (t.nconv + 1) >= (1 << 62):
        exact[np.unique(t.local[cands])] = True
        return np.full(cands.size, n, dtype=np.int64)
    keys = _pair_keys(t.local[rows], s[rows], lo, span)
    order = np.lexsort((rows, keys))
    k_sorted, r_sorted = keys[order], rows[order]
    want = _pair_keys(t.local[cands], m, lo, span)
    pos = np.searchsorted(k_sorted, want, side="left")
    found = np.full(cands.size, n, dtype=np.int64)
    todo = np.arange(cands.size)
    for _ in range(SEARCH_STEPS):
        if not todo.size:
            break
        p = pos[todo]
        ok = p < k_sorted.size
        hit = np.zeros(todo.size, dtype=bool)
        hit[ok] = k_sorted[p[ok]] == want[todo[ok]]
        after = np.zeros(todo.size, dtype=bool)
        after[hit] = r_sorted[p[hit]] > cands[todo[hit]]
        found[todo[after]] = r_sorted[p[after]]
        todo = todo[hit & ~after]
        pos[todo] += 1
    if todo.size:
        exact[np.unique(t.local[cands[todo]])] = True
    return found


def _first_ack_beyond(t: TcpPackets, d: int, cands: np.ndarray, m: np.ndarray,
                      ackf: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """For each candidate row, the first later row of the other lane with the ACK flag and an
    acknowledgement beyond ``m`` (unwrapped); len(t) where there is none."""
    n = len(t)
    rows = np.flatnonzero((t.lane == 1 - d) & ackf)
    found = np.full(cands.size, n, dtype=np.int64)
    if not rows.size:
        return found
    a = t.ack_rel[rows]
    conv = t.local[rows]
    starts = np.flatnonzero(np.concatenate(([True], conv[1:] != conv[:-1])))
    lo = int(min(a.min(), m.min()))
    span = int(max(a.max(), m.max())) - lo + 2
    if span * (t.nconv + 1) >= (1 << 62):
        exact[np.unique(t.local[cands])] = True
        return found
    gid = np.zeros(rows.size, dtype=np.int64)
    gid[starts] = 1
    gid = np.cumsum(gid) - 1
    running = np.maximum.accumulate(gid * span + (a - lo + 1)) - gid * span + lo - 1
    first = np.searchsorted(rows, cands, side="right")  # first candidate ack row after
    ok = first < rows.size
    ok[ok] = conv[first[ok]] == t.local[cands[ok]]
    # the running maximum just before that row (same conversation only)
    prev = np.full(cands.size, np.iinfo(np.int64).min, dtype=np.int64)
    inner = ok & (first > 0)
    inner[inner] = conv[first[inner] - 1] == t.local[cands[inner]]
    prev[inner] = running[first[inner] - 1]
    # easy case: nothing before exceeded m, so the monotone running maximum answers
    easy = ok & (prev <= m)
    key_run = gid * span + (running - lo)
    if easy.any():
        want = gid[first[easy]] * span + (m[easy] + 1 - lo)
        pos = np.searchsorted(key_run, want, side="left")
        inside = pos < rows.size
        inside[inside] = conv[pos[inside]] == t.local[cands[easy][inside]]
        idx = np.flatnonzero(easy)
        found[idx[inside]] = rows[pos[inside]]
    hard = np.flatnonzero(ok & ~easy)  # scan forward from the first ack after the candidate
    pos = first[hard]
    for _ in range(SEARCH_STEPS):
        if not hard.size:
            break
        valid = pos < rows.size
        valid[valid] = conv[pos[valid]] == t.local[cands[hard[valid]]]
        hit = valid & (a[np.minimum(pos, rows.size - 1)] > m[hard])
        found[hard[hit]] = rows[pos[hit]]
        keep = valid & ~hit
        hard, pos = hard[keep], pos[keep] + 1
    if hard.size:
        exact[np.unique(t.local[cands[hard]])] = True
    return found


def _initial_rtt(t: TcpPackets, lanes: Lanes, fl: np.ndarray, ts: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per conversation: the time from the most recent SYN to the first pure ACK after it
    (Wireshark's iRTT; a zero difference does not count) and the row of that ACK."""
    syn_only = (fl & (SYN | ACK)) == SYN
    last_syn = lanes.last_before(syn_only)
    mru = np.where(last_syn >= 0, ts[np.maximum(last_syn, 0)], 0)
    cand = ((fl & (SYN | ACK)) == ACK) & (mru != 0) & (ts != mru)
    irtt = np.full(t.nconv, NONE, dtype=np.int64)
    row = np.full(t.nconv, -1, dtype=np.int64)
    hits = np.flatnonzero(cand)
    if hits.size:
        conv, first = np.unique(t.local[hits], return_index=True)
        r = hits[first]
        irtt[conv] = ts[r] - mru[r]
        row[conv] = r
    return irtt, row
