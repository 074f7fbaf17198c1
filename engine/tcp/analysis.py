"""Registers the TCP summary: run after every load, shown as extra columns, written to JSON/CSV.

``ConversationTable.extra`` gains, for every row (empty / -1 where the row is not TCP):
``client_state``, ``server_state`` (RFC 793 state names), ``status``, ``conn_state`` and
``history`` (Zeek's codes), ``retransmissions``, ``out_of_order``, ``missing_bytes`` and
``client`` ("A" or "B": which endpoint opened the connection) and ``partial`` (1 when no SYN
without ACK was seen, so the client is a guess).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..export.conversations import ABSENT, FieldFn, register_field
from ..packets import Kind
from ..pipeline import ANALYSES
from ..result import FlowResult
from ..table import ExtraColumn, register_column
from .summary import STATE_NAMES, STATUS_NAMES, summarize

TEXT_COLUMNS = ("client_state", "server_state", "status", "conn_state", "history", "client")
COUNT_COLUMNS = ("retransmissions", "out_of_order", "missing_bytes", "partial")


def add_tcp_columns(result: FlowResult) -> None:
    """The analysis hook: fill the TCP columns of ``result.conversations.extra``."""
    table = result.conversations
    s = summarize(result.packets, table, result.config, result.capture.last_ns)
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


def _tcp_field(column: str, convert: Callable[[Any], Any]) -> FieldFn:
    """A JSON/CSV field that reads one extra column for TCP rows and is absent for the rest."""
    def values(result: FlowResult, rows: np.ndarray) -> list[Any]:
        t = result.conversations
        if column not in t.extra:
            return [ABSENT] * len(rows)
        is_tcp = (t.kind[rows] == Kind.TCP).tolist()
        col = t.extra[column][rows].tolist()
        return [convert(v) if tcp else ABSENT for v, tcp in zip(col, is_tcp, strict=True)]
    return values


ANALYSES.append(add_tcp_columns)

for _name in ("client_state", "server_state", "status", "conn_state", "history"):
    register_field(_name, _tcp_field(_name, str))
for _name in ("retransmissions", "out_of_order", "missing_bytes"):
    register_field(_name, _tcp_field(_name, int))
register_field("client", _tcp_field("client", str.lower))
register_field("partial", _tcp_field("partial", bool))

_T = ("tcp",)
for _column in (
    ExtraColumn("client_state", "Client state", "text", _T,
                "RFC 793 state of the endpoint that opened the connection, at the end"),
    ExtraColumn("server_state", "Server state", "text", _T,
                "RFC 793 state of the endpoint that accepted the connection, at the end"),
    ExtraColumn("status", "Status", "text", _T,
                "active, half-open, half-closed, closed, reset, rejected or timed out"),
    ExtraColumn("conn_state", "Conn state", "text", _T, "Zeek's conn_state (S0, SF, REJ, …)"),
    ExtraColumn("history", "History", "text", _T,
                "Zeek's history letters: upper case = client, lower case = server"),
    ExtraColumn("retransmissions", "Retransmissions", "count", _T,
                "segments whose bytes had all been seen before"),
    ExtraColumn("out_of_order", "Out of order", "count", _T,
                "segments that filled a hole left by a later segment"),
    ExtraColumn("missing_bytes", "Missing bytes", "bytes", _T,
                "stream bytes sent (or acknowledged) but not in the capture"),
    ExtraColumn("client", "Client", "text", _T, "which endpoint (A or B) opened the connection"),
    ExtraColumn("partial", "Partial", "count", _T,
                "1 when no SYN was seen, so the client is a guess"),
):
    register_column(_column)
