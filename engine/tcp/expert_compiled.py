"""The compiled TCP analysis (``_expert.c``): the packet-by-packet rules of :mod:`.expert_exact`
for a whole batch of conversations in one call, with the interpreter lock released.

``COMPILED`` is the module, or None when it is not built or ``FLOWSCOPE_PURE_PYTHON=1`` was set
when Flowscope started; :mod:`.expert` then uses the numpy analysis. Both equal the
packet-by-packet statement (``tests/engine/test_tcp_expert_compiled.py``,
``test_tcp_expert_vectorised.py``), which equals tshark (``test_tcp_expert_oracle.py``).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..compiled import compiled_module
from ..compiled import contiguous as column
from .expert_input import ExpertInput
from .expert_store import TcpExpert, duplicate_ack_rows

COMPILED: ModuleType | None = compiled_module("engine.tcp._expert")


def analyse_batch(module: ModuleType, inp: ExpertInput, store: TcpExpert,
                  dup: list[np.ndarray]) -> None:
    """Fill ``store`` for the conversations of ``inp`` (their duplicate ACKs go to ``dup``, as
    (packet, number, repeated packet) rows)."""
    t = inp.t
    n, nconv = len(t), t.nconv
    flags = np.empty(n, dtype=np.uint16)
    acked = np.empty(n, dtype=np.int64)
    dup_num = np.empty(n, dtype=np.int64)
    dup_of = np.empty(n, dtype=np.int64)
    in_flight = np.empty(n, dtype=np.int64)
    base = np.empty((nconv, 2), dtype=np.int64)
    irtt_ns = np.empty(nconv, dtype=np.int64)
    irtt_row = np.empty(nconv, dtype=np.int64)

    changes = module.analyse(
        column(t.ts, np.int64), column(t.lane, np.uint8), column(t.seq, np.uint32),
        column(t.ack, np.uint32), column(t.flags, np.uint16), column(t.win, np.uint16),
        column(inp.seglen, np.int64), column(inp.wscale, np.int8),
        column(inp.sack_bytes, np.uint32), column(inp.sack_count, np.uint8),
        column(t.bounds, np.int64), column(inp.reused, np.uint8),
        flags, acked, dup_num, dup_of, in_flight, base, irtt_ns, irtt_row)
    index = t.index
    store.flags[index] = flags
    store.bytes_in_flight[index] = in_flight
    has = np.flatnonzero(acked >= 0)
    store.acked_back[index[has]] = index[has] - index[acked[has]]
    d = np.flatnonzero(dup_num)
    if d.size:
        dup.append(duplicate_ack_rows(index, d, dup_num[d], dup_of[d]))
    store.base[t.convs] = base
    store.irtt_ns[t.convs] = irtt_ns
    known = irtt_row >= 0
    store.irtt_at[t.convs] = -1
    store.irtt_at[t.convs[known]] = index[irtt_row[known]]
    if changes:
        c = np.frombuffer(changes, dtype=np.int64).reshape(-1, 4).copy()
        c[:, 0] = index[c[:, 0]]
        c[:, 1] = t.convs[c[:, 1]]
        store.base_changes = np.concatenate([store.base_changes, c])
