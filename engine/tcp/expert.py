"""Wireshark's TCP analysis (``tcp.analysis.*``) for every TCP packet, computed at load.

(Work in progress: the packet-by-packet path.)
"""

from __future__ import annotations

import numpy as np

from ..packets import Kind
from ..result import FlowResult
from .expert_exact import analyse_conversation
from .expert_input import gather_input
from .expert_store import TcpExpert


def analyse_exact(result: FlowResult) -> TcpExpert:
    """Every TCP conversation packet by packet (the reference the vectorised path equals)."""
    table = result.conversations
    store = TcpExpert.empty(len(result.packets), len(table))
    convs = np.flatnonzero(table.kind == Kind.TCP)
    if not convs.size:
        return store
    inp = gather_input(result, convs)
    dup: list[tuple[int, int, int]] = []
    for k in range(convs.size):
        res = analyse_conversation(inp.conversation(k))
        rows = inp.t.index[inp.t.bounds[k] : inp.t.bounds[k + 1]]
        store.flags[rows] = res.flags
        store.bytes_in_flight[rows] = res.bytes_in_flight
        has = res.acked >= 0
        store.acked_back[rows[has]] = rows[has] - rows[res.acked[has]]
        for r in np.flatnonzero(res.dupack_num).tolist():
            of = int(res.dupack_of[r])
            dup.append((int(rows[r]), int(res.dupack_num[r]), int(rows[of]) if of >= 0 else -1))
        if res.irtt_ns is not None:
            store.irtt_ns[convs[k]] = res.irtt_ns
            store.irtt_at[convs[k]] = rows[res.irtt_row]
    if dup:
        d = np.array(sorted(dup), dtype=np.int64)
        store.dup_index, store.dup_num, store.dup_of = d[:, 0], d[:, 1], d[:, 2]
    return store
