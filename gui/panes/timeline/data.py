"""What the TCP timeline pane draws, as arrays: state bars, packet marks, sequence series.

Qt-free so it can be tested on its own. Times are float seconds since the conversation's first
packet. Rows of the state chart: the client's states on top, the packets in the middle (those the
client sent above the centre line, the server's below), the server's states at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.packet_notes import ConversationPackets
from engine.packets import RST
from engine.tcp import TcpState, Timeline

CLIENT_ROW, PACKET_ROW, SERVER_ROW = 2.0, 1.0, 0.0
BAR_HEIGHT = 0.62
MARK_HALF = 0.34  # a mark spans PACKET_ROW to PACKET_ROW ± this


@dataclass
class StateBars:
    """One entry per state that occurs: bar left edges, widths and rows (arrays)."""

    x0: dict[TcpState, np.ndarray]
    width: dict[TcpState, np.ndarray]
    y: dict[TcpState, np.ndarray]
    final: dict[str, TcpState]  # "client"/"server" → state at the end
    spans: list[tuple[str, TcpState, float, float]]  # (endpoint, state, from s, to s) for hover

    def state_at(self, endpoint: str, t: float) -> tuple[TcpState, float, float] | None:
        """The state ``endpoint`` was in at time ``t`` (None before its first state)."""
        found = None
        for who, state, a, b in self.spans:
            if who == endpoint and a <= t:
                found = (state, a, b)
            if who == endpoint and a > t:
                break
        return found


def end_padding(duration: float) -> float:
    """How far past the last packet the final states are drawn (they last beyond it)."""
    return max(duration * 0.04, 5e-4)


def state_bars(timeline: Timeline, start_ns: int, end_ns: int) -> StateBars:
    """Bars from each state change to the next; the last state runs a little past the end."""
    duration = (end_ns - start_ns) / 1e9
    stop_ns = end_ns + int(end_padding(duration) * 1e9)
    x0: dict[TcpState, list[float]] = {}
    width: dict[TcpState, list[float]] = {}
    y: dict[TcpState, list[float]] = {}
    spans: list[tuple[str, TcpState, float, float]] = []
    final: dict[str, TcpState] = {}
    for endpoint, row in (("client", CLIENT_ROW), ("server", SERVER_ROW)):
        mine = timeline.spans(endpoint, stop_ns)
        for k, (state, a_ns, b_ns) in enumerate(mine):
            a, b = (a_ns - start_ns) / 1e9, (b_ns - start_ns) / 1e9
            if b <= a and k + 1 < len(mine):
                continue  # left in the same instant (one packet moved it twice)
            spans.append((endpoint, state, a, b))
            x0.setdefault(state, []).append(a)
            width.setdefault(state, []).append(b - a)
            y.setdefault(state, []).append(row)
        final[endpoint] = timeline.final(endpoint)
    return StateBars(x0={s: np.array(v) for s, v in x0.items()},
                     width={s: np.array(v) for s, v in width.items()},
                     y={s: np.array(v) for s, v in y.items()}, final=final, spans=spans)


def seconds_since_start(packets: ConversationPackets) -> np.ndarray:
    if not len(packets):
        return np.zeros(0)
    return (packets.ts_ns - packets.ts_ns.min()).astype(np.float64) / 1e9


@dataclass
class SequenceSeries:
    """One direction of a Stevens time-sequence graph."""

    lane: int  # 0 = A→B, 1 = B→A
    seg_t: np.ndarray  # times of segments (packets that use sequence space)
    seg_seq: np.ndarray  # their relative sequence numbers (start)
    seg_end: np.ndarray  # start + length
    retx_t: np.ndarray  # retransmitted / out-of-order segments
    retx_seq: np.ndarray
    ack_t: np.ndarray  # acknowledgements the other side sent for this direction
    ack_seq: np.ndarray
    data_bytes: int  # payload bytes this direction sent


def sequence_series(packets: ConversationPackets, lane: int, times: np.ndarray,
                    special: np.ndarray) -> SequenceSeries:
    """Segments of ``lane`` and the other side's acknowledgements of them; ``special`` marks
    rows drawn as separate points (retransmissions, out-of-order)."""
    mine = packets.direction == lane
    seg = mine & (packets.seg_len > 0) & ((packets.flags & RST) == 0)
    acks = ~mine & packets.has_ack
    if not mine.any():
        acks[:] = False  # nothing to acknowledge: the numbers have no base to be relative to
    odd = seg & special
    return SequenceSeries(
        lane=lane, seg_t=times[seg], seg_seq=packets.rel_seq[seg].astype(np.float64),
        seg_end=(packets.rel_seq[seg] + packets.seg_len[seg]).astype(np.float64),
        retx_t=times[odd], retx_seq=packets.rel_seq[odd].astype(np.float64),
        ack_t=times[acks], ack_seq=packets.rel_ack[acks].astype(np.float64),
        data_bytes=int(packets.payload[mine].sum()))


def nearest_packet(times: np.ndarray, order: np.ndarray, t: float, tolerance: float) -> int:
    """Row of the packet closest in time to ``t`` within ``tolerance`` (-1 if none).

    ``order`` sorts ``times`` (capture order is not always time order)."""
    if not times.size:
        return -1
    sorted_t = times[order]
    at = int(np.searchsorted(sorted_t, t))
    best, best_gap = -1, tolerance
    for k in (at - 1, at):
        if 0 <= k < sorted_t.size and abs(sorted_t[k] - t) <= best_gap:
            best, best_gap = int(order[k]), abs(sorted_t[k] - t)
    return best


def thin_marks(x: np.ndarray, key: np.ndarray, x_min: float, x_max: float,
               pixels: int) -> np.ndarray:
    """Rows worth drawing in the view ``[x_min, x_max]`` at ``pixels`` wide: one per pixel
    column and ``key`` (kind and side), so 100k marks cost at most a few thousand lines.
    ``x`` must be sorted."""
    lo, hi = np.searchsorted(x, [x_min, x_max], side="left")
    hi = max(hi, lo)
    if hi - lo <= 2 * pixels:
        return np.arange(lo, hi)
    span = max(x_max - x_min, 1e-12)
    column = ((x[lo:hi] - x_min) * (pixels / span)).astype(np.int64)
    combined = column * (int(key.max(initial=0)) + 1) + key[lo:hi]
    _, first = np.unique(combined, return_index=True)
    return lo + np.sort(first)


def column_strokes(t: np.ndarray, low: np.ndarray, high: np.ndarray, x_min: float,
                   x_max: float, pixels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments (time, start, end; ``t`` sorted) to draw as vertical strokes in the view
    ``[x_min, x_max]``: each one when they are few, else one stroke per pixel column from the
    lowest start to the highest end in it — peak downsampling for strokes."""
    lo, hi = np.searchsorted(t, [x_min, x_max], side="left")
    hi = min(max(hi, lo) + 1, t.size)  # one past the view: the stroke at its right edge
    lo = max(lo - 1, 0)
    if hi - lo <= 2 * pixels:
        return t[lo:hi], low[lo:hi], high[lo:hi]
    span = max(x_max - x_min, 1e-12)
    column = np.floor((t[lo:hi] - x_min) * (pixels / span)).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    return (t[lo:hi][starts], np.minimum.reduceat(low[lo:hi], starts),
            np.maximum.reduceat(high[lo:hi], starts))
