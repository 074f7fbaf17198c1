"""Registers the TCP summary: run after every load, shown as extra columns, written to JSON/CSV.

``ConversationTable.extra`` gains, for every row (empty / -1 where the row is not TCP):
``client_state``, ``server_state`` (RFC 793 state names), ``status``, ``conn_state`` and
``history`` (Zeek's codes), ``retransmissions``, ``out_of_order``, ``missing_bytes`` and
``client`` ("A" or "B": which endpoint opened the connection) and ``partial`` (1 when no SYN
without ACK was seen, so the client is a guess).
"""

from __future__ import annotations

import numpy as np

from ..columns import ColumnSpec, declare_columns
from ..hooks import register_analysis
from ..result import FlowResult
from .batches import forked_consumers, prepare_batch_consumers, run_batch_consumers
from .summary import STATE_NAMES, STATUS_NAMES, summarize

TEXT_COLUMNS = ("client_state", "server_state", "status", "conn_state", "history", "client")
COUNT_COLUMNS = ("retransmissions", "out_of_order", "missing_bytes", "partial")


def add_tcp_columns(result: FlowResult) -> None:
    """The analysis hook: fill the TCP columns of ``result.conversations.extra``."""
    table = result.conversations
    # the inner view serves every TCP conversation: inside UDP tunnels and in the open alike
    prepare_batch_consumers(result)
    s = summarize(result.inner_view(), table, result.config, result.capture.last_ns,
                  lambda rows, t: run_batch_consumers(result, rows, t),
                  forked_consumers(result))
    n = len(table)
    values: dict[str, np.ndarray] = {
        "client_state": STATE_NAMES[s.client_state] if s.rows.size else STATE_NAMES[:0],
        "server_state": STATE_NAMES[s.server_state] if s.rows.size else STATE_NAMES[:0],
        "status": STATUS_NAMES[s.status] if s.rows.size else STATUS_NAMES[:0],
        "conn_state": s.conn_state,
        "history": s.history,
        "client": np.where(s.client_lane == 1, "B", "A"),
        "retransmissions": s.retransmissions,
        "out_of_order": s.out_of_order,
        "missing_bytes": s.missing_bytes,
        "partial": s.partial.astype(np.int64),
    }
    for name in TEXT_COLUMNS:
        col = np.asarray(values[name])
        width = max(col.dtype.itemsize // 4 if col.dtype.kind == "U" else 1, 1)
        full = np.full(n, "", dtype=f"<U{width}")
        full[s.rows] = col
        table.extra[name] = full
    for name in COUNT_COLUMNS:
        full = np.full(n, -1, dtype=np.int64)
        full[s.rows] = values[name]
        table.extra[name] = full


register_analysis(add_tcp_columns)

_T = ("tcp",)
declare_columns(
    ColumnSpec("client_state", "Client state", "text",
               "RFC 793 state of the endpoint that opened the connection, at the end", _T,
               hidden=True),
    ColumnSpec("server_state", "Server state", "text",
               "RFC 793 state of the endpoint that accepted the connection, at the end", _T,
               hidden=True),
    ColumnSpec("status", "Status", "text",
               "active, half-open, half-closed, closed, reset, rejected or timed out", _T,
               text_title="Status"),
    ColumnSpec("conn_state", "Conn state", "text", "Zeek's conn_state (S0, SF, REJ, …)", _T,
               text_title="conn_state"),
    ColumnSpec("history", "History", "text",
               "Zeek's history letters: upper case = client, lower case = server", _T,
               text_title="History"),
    ColumnSpec("retransmissions", "Retransmissions", "count",
               "segments whose bytes had all been seen before", _T),
    ColumnSpec("out_of_order", "Out of order", "count",
               "segments that filled a hole left by a later segment", _T, hidden=True),
    ColumnSpec("missing_bytes", "Missing bytes", "bytes",
               "stream bytes sent (or acknowledged) but not in the capture", _T, hidden=True),
    ColumnSpec("client", "Client", "text", "which endpoint (A or B) opened the connection", _T,
               hidden=True, to_json=str.lower),
    ColumnSpec("partial", "Partial", "count", "1 when no SYN was seen, so the client is a guess",
               _T, hidden=True, to_json=bool),
)
