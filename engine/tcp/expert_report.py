"""The TCP analysis of every TCP frame in the shape of the tshark oracle (one dict per frame).

Used by ``flowscope-cli packets`` and by the tests that compare with tshark's answers
(``tests/data/tcp_expert``): flags by tshark's field names, duplicate-ACK number, ACK RTT,
bytes in flight and initial RTT, each None where tshark prints nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..packets import Kind
from ..result import FlowResult
from .expert_flags import flag_names
from .expert_store import KEY, TcpExpert


def expert_of(result: FlowResult, exact: bool = False) -> TcpExpert:
    """The analysis stored at load, or (``exact``) recomputed packet by packet."""
    if exact:
        from .expert import analyse_exact

        return analyse_exact(result)
    return result.plugin_data[KEY]


def frame_report(result: FlowResult, exact: bool = False) -> dict[int, dict[str, Any]]:
    """{frame number: {flags, duplicate_ack_num, ack_rtt, bytes_in_flight, initial_rtt}} for
    every packet of a TCP conversation."""
    e = expert_of(result, exact)
    p = result.inner_view()
    index = np.flatnonzero((p.conv >= 0) & (p.kind == Kind.TCP))
    conv = p.conv[index].astype(np.int64)
    index = index[result.conversations.kind[conv] == Kind.TCP]
    conv = p.conv[index].astype(np.int64)
    rtt = e.ack_rtt_ns(p.ts_ns, index)
    num, _ = e.duplicate_acks(index)
    shown = e.initial_rtt_shown(conv, index)
    out: dict[int, dict[str, Any]] = {}
    for k, i in enumerate(index.tolist()):
        bif = int(e.bytes_in_flight[i])
        out[i + 1] = {
            "flags": flag_names(int(e.flags[i])),
            "duplicate_ack_num": int(num[k]) or None,
            "ack_rtt": float(rtt[k]) / 1e9 if rtt[k] != -1 else None,
            "bytes_in_flight": bif or None,
            "initial_rtt": float(e.irtt_ns[conv[k]]) / 1e9 if shown[k] else None,
        }
    return out
