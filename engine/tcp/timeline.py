"""The state timeline of one TCP conversation, computed when a view asks for it.

Runs :func:`.state.step` over the packets of the conversation that can change a state (the same
selection the load-time summary uses; a test checks it equals stepping over every packet) and
records each change as (time ns, packet index, endpoint, new state). Also reports per endpoint
what RFC 793 keeps in its TCB: initial sequence number, next sequence number, highest
acknowledgement, window (scaled when both SYNs carried the window-scale option) and MSS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConversationNotFound
from ..packets import ACK, FIN, SYN, Kind
from ..result import FlowResult
from . import state as st
from .events import acknowledges, rfc_codes, rfc_events, roles
from .options import syn_options
from .segments import TcpPackets, gather_tcp
from .summary import STATUS_NAMES, TIMED_OUT

ENDPOINTS = ("client", "server")


@dataclass(frozen=True)
class StateChange:
    ts_ns: int
    packet: int  # packet index in the capture; -1 for an idle timeout (no packet)
    endpoint: str  # "client" or "server"
    state: st.TcpState


@dataclass
class Endpoint:
    """What one side's TCB would hold at the end of the capture (raw 32-bit numbers)."""

    side: str  # "A" or "B"
    isn: int | None = None  # sequence number of its SYN
    next_seq: int | None = None  # highest sequence number it used, plus one
    highest_ack: int | None = None
    window: int | None = None  # last advertised window in bytes (scaled)
    window_scale: int | None = None  # shift in use (None when scaling was not negotiated)
    mss: int | None = None


@dataclass
class Timeline:
    conversation: int
    client: str  # "A" or "B"
    partial: bool  # no SYN without ACK was seen: the client is a guess
    changes: list[StateChange]
    status: str
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def final(self, endpoint: str) -> st.TcpState:
        for change in reversed(self.changes):
            if change.endpoint == endpoint:
                return change.state
        return st.TcpState.CLOSED

    def spans(self, endpoint: str, end_ns: int) -> list[tuple[st.TcpState, int, int]]:
        """(state, from ns, to ns) for drawing; the last state lasts until ``end_ns``."""
        mine = [c for c in self.changes if c.endpoint == endpoint]
        out = []
        for k, c in enumerate(mine):
            stop = mine[k + 1].ts_ns if k + 1 < len(mine) else max(end_ns, c.ts_ns)
            out.append((c.state, c.ts_ns, stop))
        return out


def tcp_timeline(result: FlowResult, conversation: int) -> Timeline:
    """The state timeline of TCP conversation ``conversation`` (a table row)."""
    table = result.conversations
    if not 0 <= conversation < len(table) or table.kind[conversation] != Kind.TCP:
        raise ConversationNotFound(f"Conversation {conversation} is not a TCP conversation.")
    t = gather_tcp(result.packet_view(conversation), table, np.array([conversation]))
    r = roles(t)
    acks_syn, acks_fin = acknowledges(t)
    codes = rfc_codes(t, r, acks_syn, acks_fin)
    # only these packets can change a state (every other one is a no-op of step(); tested)
    rows = np.flatnonzero(rfc_events(t, acks_syn, acks_fin))
    state = st.FRESH
    changes: list[StateChange] = []
    for code, ts, packet in zip(codes[rows].tolist(), t.ts[rows].tolist(),
                                t.index[rows].tolist(), strict=True):
        state, moved = st.step(state, code)
        changes += [StateChange(ts, packet, ENDPOINTS[who], new) for who, new in moved]
    status = int(st.status_codes(np.array([state]))[0])
    timeout = result.config.tcp_timeout_ns
    last = result.capture.last_ns
    end = int(table.end_ns[conversation])
    if timeout is not None and last is not None and status in (0, 1, 2) and last - end >= timeout:
        status = TIMED_OUT
        for who in ENDPOINTS:
            changes.append(StateChange(end + timeout, -1, who, st.TcpState.CLOSED))
    client_lane = int(r.client_lane[0])
    return Timeline(conversation=conversation, client="AB"[client_lane],
                    partial=bool(r.partial[0]), changes=changes,
                    status=str(STATUS_NAMES[status]),
                    endpoints=_endpoints(result, conversation, t, client_lane))


def _endpoints(result: FlowResult, conversation: int, t: TcpPackets, client_lane: int
               ) -> dict[str, Endpoint]:
    lanes = {"client": client_lane, "server": 1 - client_lane}
    syn = t.has(SYN)
    view = result.packet_view(conversation)
    options = {lane: syn_options(result, t.index[t.of_lane(lane) & syn], view)
               for lane in (0, 1)}
    scaled = options[0].wscale is not None and options[1].wscale is not None
    out = {}
    for name, lane in lanes.items():
        mine = t.of_lane(lane)
        e = Endpoint(side="AB"[lane], mss=options[lane].mss)
        base = int(t.base[0, lane])
        if mine.any():
            syns = np.flatnonzero(mine & syn)
            if syns.size:
                e.isn = int(t.seq[syns[0]])
            seglen = t.plen + syn + t.has(FIN)
            e.next_seq = (base + int((t.rel + seglen)[mine].max())) % (1 << 32)
            acks = np.flatnonzero(mine & t.has(ACK))
            if acks.size and t.base[0, 1 - lane] >= 0:
                e.highest_ack = (int(t.base[0, 1 - lane]) + int(t.ack_rel[acks].max())) % (1 << 32)
            shift = options[lane].wscale if scaled else None
            e.window_scale = shift
            last = np.flatnonzero(mine)[-1]
            raw = int(t.win[last])
            e.window = raw if (shift is None or syn[last]) else raw << min(shift, 14)
        out[name] = e
    return out
