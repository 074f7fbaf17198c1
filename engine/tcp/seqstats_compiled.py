"""The compiled sequence statistics (``_seqstats.c``): the rules of :mod:`.seqstats` for a whole
batch of conversations in one pass, with the interpreter lock released.

``COMPILED`` is the module, or None when it is not built or ``FLOWSCOPE_PURE_PYTHON=1`` was set
when Flowscope started; :func:`.seqstats.sequence_stats` then runs the numpy statement, which
stays the reference (``tests/engine/test_seqstats_compiled.py`` holds the two equal).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..compiled import compiled_module
from ..compiled import contiguous as column
from .segments import TcpPackets
from .seqstats_result import SeqStats

COMPILED: ModuleType | None = compiled_module("engine.tcp._seqstats")


def compiled_sequence_stats(module: ModuleType, t: TcpPackets) -> SeqStats:
    """Retransmissions, out-of-order segments and missing bytes of ``t``'s conversations."""
    n, nc = len(t), t.nconv

    retransmitted = np.empty(n, dtype=bool)
    reordered = np.empty(n, dtype=bool)
    retransmissions = np.empty(nc, dtype=np.int64)
    out_of_order = np.empty(nc, dtype=np.int64)
    missing_side = np.empty((nc, 2), dtype=np.int64)
    module.sequence_stats(
        column(t.lane, np.uint8), column(t.flags, np.uint16), column(t.rel, np.int64),
        column(t.plen, np.int64), column(t.cap, np.int64), column(t.win, np.uint16),
        column(t.ack_rel, np.int64), column(t.base, np.int64), column(t.bounds, np.int64),
        retransmitted, reordered, retransmissions, out_of_order, missing_side)
    return SeqStats(retransmissions=retransmissions, out_of_order=out_of_order,
                    missing=missing_side.sum(axis=1), missing_side=missing_side,
                    retransmitted=retransmitted, reordered=reordered)
