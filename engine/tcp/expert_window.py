"""What the analysis knows of each side's window scaling, and whether a side's last handshake
packet was a SYN, before a packet (Wireshark's ``win_scale`` and ``is_first_ack``).

A side's scale starts unknown (-1). A window-scale option sets it; after each SYN Wireshark
checks the handshake: a SYN without the option means no scaling on either side (-2), and a
SYN-ACK that has the option while the SYN had none means no scaling for the SYN-ACK's side.
Only the few SYN / option packets of each conversation change the state, so it is replayed
over those events, one event of every conversation at a time.
"""

from __future__ import annotations

import numpy as np

from ..packets import ACK, SYN
from .expert_rows import Lanes
from .segments import TcpPackets

UNKNOWN, NO_SCALING = -1, -2
#: conversations with more scale events than this are left to the exact pass
MAX_EVENTS = 256


def window_state(t: TcpPackets, lanes: Lanes, wscale: np.ndarray, rows: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of ``rows``: the other side's window-scale state before it, whether the other
    side's last SYN-or-pure-ACK was a SYN (``is_first_ack``); and a per-conversation mask of
    conversations with too many events for this replay."""
    flags = t.flags
    syn = (flags & SYN) != 0
    ev = np.flatnonzero(syn | (wscale >= 0))
    after = np.full((max(ev.size, 1), 2), UNKNOWN, dtype=np.int8)  # state after each event
    too_many = np.zeros(t.nconv, dtype=bool)
    if ev.size:
        conv = t.local[ev]
        starts = np.flatnonzero(np.concatenate(([True], conv[1:] != conv[:-1])))
        rank = np.arange(ev.size) - np.repeat(starts, np.diff(np.append(starts, ev.size)))
        too_many[conv[rank >= MAX_EVENTS]] = True
        state = np.full((t.nconv, 2), UNKNOWN, dtype=np.int8)
        for k in range(min(int(rank.max()) + 1, MAX_EVENTS)):
            pos = np.flatnonzero(rank == k)
            e = ev[pos]
            c = t.local[e]
            side = t.lane[e].astype(np.int64)
            mine = np.where(wscale[e] >= 0, wscale[e], state[c, side])
            other = state[c, 1 - side]
            s = syn[e]
            synack = s & ((flags[e] & ACK) != 0)
            unknown = s & (mine == UNKNOWN)
            other = np.where(unknown, NO_SCALING, other)
            mine = np.where(unknown | (synack & (other == NO_SCALING)), NO_SCALING, mine)
            state[c, side] = mine
            state[c, 1 - side] = other
            after[pos, 0] = np.where(side == 0, mine, other)
            after[pos, 1] = np.where(side == 0, other, mine)
    other_lane = 1 - t.lane[rows].astype(np.int64)
    last = lanes.last_in_before(ev, rows)
    slot = np.searchsorted(ev, np.maximum(last, 0))
    rev_scale = np.where(last >= 0, after[np.minimum(slot, after.shape[0] - 1), other_lane],
                         UNKNOWN).astype(np.int64)
    # is_first_ack: set by a SYN of that side, cleared by its pure ACKs (ACK without SYN)
    first_ack = np.zeros(rows.size, dtype=bool)
    pure = (flags & (SYN | ACK)) == ACK
    for lane in (0, 1):
        sel = np.flatnonzero(other_lane == lane)
        if not sel.size:
            continue
        mine = t.lane == lane
        last_syn = lanes.last_in_before(np.flatnonzero(syn & mine), rows[sel])
        last_pure = lanes.last_in_before(np.flatnonzero(pure & mine), rows[sel])
        first_ack[sel] = (last_syn >= 0) & (last_syn > last_pure)
    return rev_scale, first_ack, too_many
