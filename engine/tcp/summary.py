"""The per-conversation TCP summary computed for every TCP conversation when a file is loaded.

Final RFC 793 state of each endpoint, a one-word status, Zeek's ``conn_state`` and ``history``,
retransmitted and out-of-order segments and missing bytes — all vectorised over the packets;
the state machines run only over the packets that can change a state (see ``events``). Where
the compiled module is built (:mod:`.states_compiled`), one walk per conversation steps the
same machines' tables over every packet instead, and writes the history.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np

from ..cancel import checkpoint
from ..config import FlowConfig
from ..packet_store import release_pages
from ..packets import PacketTable
from ..parallel.halves import map_halves
from ..sets import distinct
from ..table import ConversationTable
from . import state as st
from . import zeek as zk
from .automaton import run_automaton
from .events import (
    Roles,
    acknowledges,
    rfc_codes,
    rfc_events,
    roles,
    zeek_codes,
    zeek_events,
)
from .history import history_strings
from .segments import TcpPackets, gather_tcp, tcp_conversations
from .seqstats import sequence_stats
from .states_compiled import COMPILED, compiled_final_states

#: called with (table rows, their gathered packets) for each batch
BatchHook = Callable[[np.ndarray, TcpPackets], None]

STATE_NAMES = np.array([s.name for s in st.TcpState])
STATUS_NAMES = np.array(st.STATUS_WORDS)
TIMED_OUT = st.STATUS_WORDS.index("timed out")


@dataclass
class TcpSummary:
    """Columns for the TCP conversations ``rows`` (table rows), in that order."""

    rows: np.ndarray
    client_lane: np.ndarray  # uint8: 0 = A is the client, 1 = B
    partial: np.ndarray  # bool: no SYN without ACK seen (picked up mid-stream or no handshake)
    client_state: np.ndarray  # TcpState values
    server_state: np.ndarray
    status: np.ndarray  # index into STATUS_WORDS
    conn_state: np.ndarray  # <U6
    history: np.ndarray  # <Un
    retransmissions: np.ndarray
    out_of_order: np.ndarray
    missing_bytes: np.ndarray


def final_states(t: TcpPackets) -> tuple[Roles, np.ndarray, np.ndarray]:
    """(roles, final RFC joint state, final Zeek joint state) per conversation of ``t``:
    compiled where built, else numpy."""
    if COMPILED is not None:
        return compiled_final_states(COMPILED, t)
    return numpy_final_states(t)


def numpy_final_states(t: TcpPackets) -> tuple[Roles, np.ndarray, np.ndarray]:
    """:func:`final_states` with numpy over the event packets only: the reference."""
    r = roles(t)
    acks_syn, acks_fin = acknowledges(t)
    checkpoint()
    codes = rfc_codes(t, r, acks_syn, acks_fin)
    ev = np.flatnonzero(rfc_events(t, acks_syn, acks_fin))
    checkpoint()
    rfc = run_automaton(st.transition_table(distinct(codes[ev])), st.FRESH, t.local[ev],
                        codes[ev], t.nconv)
    checkpoint()
    zev = np.flatnonzero(zeek_events(t))
    zeek = run_automaton(zk.zeek_table(), 0, t.local[zev], zeek_codes(t, r)[zev], t.nconv)
    return r, rfc, zeek


#: TCP packets analysed at once: conversations are independent, so the analysis runs over batches
#: of whole conversations and its temporaries (≈ 200 bytes a packet) stay bounded
BATCH_PACKETS = 1 << 18


#: TCP packets from which the batches are shared with a forked process (engine.parallel.halves)
PARALLEL_PACKETS = 1 << 18


class ForkedBatches(Protocol):
    """Batch hooks that can also run in the forked process: ``export(rows, t)`` (in the child,
    after the hook saw the batch) returns what the hook found, picklable; ``absorb(rows,
    found)`` (here) adds it as if the hook had run here."""

    def export(self, rows: np.ndarray, t: TcpPackets) -> Any: ...

    def absorb(self, rows: np.ndarray, found: Any) -> None: ...


def summarize(packets: PacketTable, table: ConversationTable, config: FlowConfig,
              capture_last_ns: int | None, each_batch: BatchHook | None = None,
              forked: ForkedBatches | None = None) -> TcpSummary:
    """The summary of every TCP conversation, in batches of about ``BATCH_PACKETS`` packets
    (at least two from ``PARALLEL_PACKETS`` on: the later half goes to a forked process);
    ``each_batch(rows, t)`` also sees each batch's gathered packets (other TCP analyses share
    them instead of gathering again). In the forked process the hook runs too when
    ``forked`` can carry its findings back; else the batch is gathered again here for it."""
    rows = tcp_conversations(table)
    sizes = table.packets[rows]
    total = int(sizes.sum())
    size = BATCH_PACKETS if total < PARALLEL_PACKETS else min(BATCH_PACKETS, -(-total // 2))
    batch = np.cumsum(sizes) // size  # a conversation larger than a batch: alone
    cuts = np.flatnonzero(np.diff(batch)) + 1
    batches = np.split(rows, cuts) if rows.size else []
    parent = os.getpid()
    carried = each_batch is not None and forked is not None

    def one(part: np.ndarray) -> tuple[TcpSummary, tuple[Any, ...]]:
        """A batch's summary, and where its hook ran: ("here",), ("child", what it found), or
        ("again",): in the child without a way back, so it runs here on a new gather."""
        here = os.getpid() == parent
        found: list[Any] = []

        def hook(rows: np.ndarray, t: TcpPackets) -> None:
            assert each_batch is not None
            each_batch(rows, t)
            if not here and forked is not None:
                found.append(forked.export(rows, t))

        run_hook = each_batch is not None and (here or carried)
        summary = _summarize(packets, table, config, capture_last_ns, part,
                             hook if run_hook else None)
        release_pages(packets, table.packet_index)  # spilled columns: keep one batch resident
        if here or each_batch is None:
            return summary, ("here",)
        return summary, ("child", found[0]) if found else ("again",)

    weights = [int(table.packets[part].sum()) for part in batches]
    done = map_halves(one, batches, weights,
                      config.workers if total >= PARALLEL_PACKETS else 0)
    if each_batch is not None:
        for part, (_, (where, *found)) in zip(batches, done, strict=True):
            if where == "here":
                continue
            checkpoint()
            if where == "child" and forked is not None:
                forked.absorb(part, found[0])
            else:
                each_batch(part, gather_tcp(packets, table, part))
                release_pages(packets, table.packet_index)
    parts = [summary for summary, _ in done]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return _summarize(packets, table, config, capture_last_ns, rows, each_batch)
    return TcpSummary(*(np.concatenate([getattr(p, f.name) for p in parts])
                        for f in fields(TcpSummary)))


def _summarize(packets: PacketTable, table: ConversationTable, config: FlowConfig,
               capture_last_ns: int | None, rows: np.ndarray, each_batch: BatchHook | None
               ) -> TcpSummary:
    checkpoint()
    t = gather_tcp(packets, table, rows)
    checkpoint()
    if each_batch is not None:
        each_batch(rows, t)
        checkpoint()
    r, rfc, zeek = final_states(t)
    checkpoint()
    status = st.status_codes(rfc)
    client, server = np.divmod(np.minimum(rfc, st.FRESH - 1), st.NSTATES)
    closed = rfc >= st.FRESH
    client[closed] = st.TcpState.CLOSED
    server[closed] = st.TcpState.CLOSED
    timeout = config.tcp_timeout_ns
    if timeout is not None and capture_last_ns is not None:
        ongoing = np.isin(status, (0, 1, 2))
        idle = capture_last_ns - table.end_ns[rows] >= timeout
        gone = ongoing & idle
        status[gone] = TIMED_OUT
        client[gone] = st.TcpState.CLOSED
        server[gone] = st.TcpState.CLOSED
    seqs = sequence_stats(t)
    checkpoint()
    history = history_strings(t, r.client_lane, seqs.retransmitted, seqs.missing_side)
    checkpoint()
    b_is_client = r.client_lane == 1
    orig_bytes = np.where(b_is_client, table.payload_ba[rows], table.payload_ab[rows])
    resp_bytes = np.where(b_is_client, table.payload_ab[rows], table.payload_ba[rows])
    return TcpSummary(
        rows=rows, client_lane=r.client_lane, partial=r.partial,
        client_state=client, server_state=server, status=status,
        conn_state=zk.conn_states(zeek, orig_bytes, resp_bytes, history),
        history=history, retransmissions=seqs.retransmissions,
        out_of_order=seqs.out_of_order, missing_bytes=seqs.missing)
