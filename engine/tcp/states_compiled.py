"""The compiled state machines and history (``_states.c``): :func:`.summary.final_states` and
:func:`.history.history_strings` for a whole batch of conversations, one walk over each
conversation's packets with the interpreter lock released.

``COMPILED`` is the module, or None when it is not built or ``FLOWSCOPE_PURE_PYTHON=1`` was set
when Flowscope started; the callers then run the numpy code, which stays the reference
(``tests/engine/test_tcp_states_compiled.py`` holds the two equal). The machines' rules stay in
:mod:`.state` and :mod:`.zeek`: the C walk steps their transition tables.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..compiled import compiled_module
from ..compiled import contiguous as _column
from . import state as st
from . import zeek as zk
from .events import Roles
from .segments import TcpPackets

COMPILED: ModuleType | None = compiled_module("engine.tcp._states")

#: the width of the C pass's letter grid (history.MAX_HISTORY, which must not exceed it)
GRID_WIDTH = 32


def compiled_final_states(module: ModuleType, t: TcpPackets
                          ) -> tuple[Roles, np.ndarray, np.ndarray]:
    """(roles, final RFC joint state, final Zeek joint state) per conversation of ``t``."""
    n, nc = len(t), t.nconv
    client_lane = np.empty(nc, dtype=np.uint8)
    partial = np.empty(nc, dtype=bool)
    from_server = np.empty(n, dtype=bool)
    rfc = np.empty(nc, dtype=np.int64)
    zeek = np.empty(nc, dtype=np.int64)
    module.final_states(
        _column(t.lane, np.uint8), _column(t.flags, np.uint16), _column(t.rel, np.int64),
        _column(t.plen, np.int64), _column(t.ack_rel, np.int64), _column(t.bounds, np.int64),
        _column(st.transition_table(), np.int16), _column(zk.zeek_table(), np.int16),
        st.FRESH, client_lane, partial, from_server, rfc, zeek)
    return Roles(client_lane=client_lane, partial=partial, from_server=from_server), rfc, zeek


def compiled_history_letters(module: ModuleType, t: TcpPackets, client_lane: np.ndarray,
                             retransmitted: np.ndarray, missing_side: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
    """(the first ``GRID_WIDTH`` history letters of each conversation as uint32 code points,
    zero-padded; how many letters each has in all)."""
    nc = t.nconv
    grid = np.empty((nc, GRID_WIDTH), dtype=np.uint32)
    counts = np.empty(nc, dtype=np.int64)
    module.history_letters(
        _column(t.lane, np.uint8), _column(t.flags, np.uint16), _column(t.rel, np.int64),
        _column(t.plen, np.int64), _column(t.win, np.uint16), _column(retransmitted, np.bool_),
        _column(missing_side, np.int64), _column(client_lane, np.uint8),
        _column(t.bounds, np.int64), grid, counts)
    return grid, counts
