"""Per-conversation TCP health, from Wireshark's per-packet TCP analysis (computed at load).

The analysis runs on the TCP summary's batches (:mod:`.batches`: the packets are gathered
once); the analysis hook registered here finishes it, keeps it on
``result.plugin_data["tcp_expert"]`` and adds the health columns: the initial RTT, ACK RTT
minimum / median / maximum, counts of the analysis flags, the share of payload bytes that were
retransmissions, and an Expert Info summary (items per Wireshark severity).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..columns import ColumnSpec, declare_columns
from ..hooks import register_analysis
from ..packets import Kind
from ..result import FlowResult
from . import expert_flags as F
from . import rtt_stats
from .batches import register_batch_consumer
from .expert import ExpertBuilder, tcp_batches
from .expert_store import KEY, NO_IRTT, TcpExpert
from .segments import TcpPackets

_BUILDING = KEY + ".building"

#: count columns: (column name, flag bits counted)
COUNTS = (
    ("tcp_retrans", F.RETRANSMISSION_KINDS),
    ("fast_retrans", F.FAST_RETRANSMISSION),
    ("spurious_retrans", F.SPURIOUS_RETRANSMISSION),
    ("dup_acks", F.DUPLICATE_ACK),
    ("lost_segments", F.LOST_SEGMENT),
    ("acked_unseen", F.ACK_LOST_SEGMENT),
    ("tcp_out_of_order", F.OUT_OF_ORDER),
    ("zero_windows", F.ZERO_WINDOW),
    ("window_full", F.WINDOW_FULL),
    ("keep_alives", F.KEEP_ALIVE),
)
SEVERITIES = ("warning", "note", "chat")  # Wireshark's, for the tcp.analysis items it raises


def _builder(result: FlowResult) -> ExpertBuilder:
    builder = result.plugin_data.get(_BUILDING)
    if builder is None:
        builder = result.plugin_data[_BUILDING] = ExpertBuilder(result)
    return builder


def _each_batch(result: FlowResult, rows: np.ndarray, t: TcpPackets) -> None:
    _builder(result).add_batch(rows, t)


def _export(result: FlowResult, rows: np.ndarray, t: TcpPackets) -> dict[str, np.ndarray]:
    return _builder(result).export(rows, t)


def _absorb(result: FlowResult, rows: np.ndarray, found: dict[str, np.ndarray]) -> None:
    _builder(result).absorb(rows, found)


def add_tcp_health(result: FlowResult) -> None:
    """The analysis hook: finish the per-packet analysis, then the per-conversation columns."""
    builder = result.plugin_data.pop(_BUILDING, None)
    if builder is None:  # the TCP summary did not run: gather the batches here
        builder = ExpertBuilder(result)
        for part in tcp_batches(result):
            builder.add_batch(part)
    expert = builder.finish()
    result.plugin_data[KEY] = expert
    result.conversations.extra.update(health_columns(result, expert, builder.rtt))


def health_columns(result: FlowResult, e: TcpExpert, rtt: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """Every health column, one value per conversation (-1 / NaN / "" where not TCP);
    ``rtt``: the ACK RTT statistics (:mod:`.rtt_stats`)."""
    table = result.conversations
    p = result.inner_view()
    n = len(table)
    tcp = table.kind == Kind.TCP
    out: dict[str, np.ndarray] = {}
    # analysis flags: only the packets that carry one
    flagged = np.flatnonzero((e.flags & F.ALL_FLAGS) != 0)
    bits = e.flags[flagged]
    conv = p.conv[flagged].astype(np.int64)
    for name, mask in COUNTS:
        has = (bits & mask) != 0
        out[name] = np.where(tcp, np.bincount(conv[has], minlength=n), -1)
    # expert items per severity (a fast or spurious retransmission is two notes, as there)
    items = {s: np.zeros(n, dtype=np.int64) for s in SEVERITIES}
    for flag in F.FLAGS:
        has = (bits & flag.bit) != 0
        if has.any():
            items[flag.severity] += np.bincount(conv[has], minlength=n)
    generic = (bits & (F.FAST_RETRANSMISSION | F.SPURIOUS_RETRANSMISSION)) != 0
    plain = (bits & F.RETRANSMISSION) != 0  # (already counted once above)
    extra_notes = generic & ~plain
    items["note"] += np.bincount(conv[extra_notes], minlength=n)
    for s in SEVERITIES:
        out[f"expert_{s}s"] = np.where(tcp, items[s], -1)
    worst = np.full(n, "", dtype="<U7")
    for s in reversed(SEVERITIES):
        worst[items[s] > 0] = s
    out["expert_severity"] = np.where(tcp, worst, "")
    # retransmitted payload as a share of all payload
    retrans = flagged[(bits & F.RETRANSMISSION_KINDS) != 0]
    rbytes = np.bincount(p.conv[retrans], weights=np.maximum(p.payload_len[retrans], 0),
                         minlength=n)
    payload = (table.payload_ab + table.payload_ba).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(payload > 0, 100.0 * rbytes / np.where(payload > 0, payload, 1), 0.0)
    out["retrans_share"] = np.where(tcp, share, np.nan)
    irtt = np.where(tcp & (e.irtt_ns != NO_IRTT), e.irtt_ns, -1)
    out.update(irtt=irtt, rtt_min=np.where(tcp, rtt[rtt_stats.MIN], -1),
               rtt_median=np.where(tcp, rtt[rtt_stats.MEDIAN], -1),
               rtt_max=np.where(tcp, rtt[rtt_stats.MAX], -1))
    return out


def _seconds(value: Any) -> float | None:
    """A duration column's ns as seconds for JSON (None where not known)."""
    v = int(value)
    return None if v < 0 else v / 1e9


def _share(value: Any) -> float | None:
    v = float(value)
    return None if math.isnan(v) else round(v, 3)


register_batch_consumer(_each_batch, _export, _absorb, _builder)
register_analysis(add_tcp_health)

_T = ("tcp",)
declare_columns(
    ColumnSpec("irtt", "iRTT", "duration",
               "Initial RTT: from the SYN to the ACK that completes the handshake "
               "(tcp.analysis.initial_rtt)", _T,
               aliases=("initial_rtt", "tcp.analysis.initial_rtt"), json_key="rtt.initial",
               to_json=_seconds),
    ColumnSpec("rtt_min", "RTT min", "duration",
               "Shortest ACK RTT (tcp.analysis.ack_rtt) of the connection", _T, hidden=True,
               json_key="rtt.min", to_json=_seconds),
    ColumnSpec("rtt_median", "RTT median", "duration",
               "Median ACK RTT (tcp.analysis.ack_rtt) of the connection", _T,
               aliases=("rtt", "ack_rtt"), json_key="rtt.median", to_json=_seconds),
    ColumnSpec("rtt_max", "RTT max", "duration",
               "Longest ACK RTT (tcp.analysis.ack_rtt) of the connection", _T, hidden=True,
               json_key="rtt.max", to_json=_seconds),
    ColumnSpec("tcp_retrans", "Retrans", "count",
               "Segments Wireshark flags as retransmissions, fast and spurious ones included "
               "(tcp.analysis.retransmission)", _T,
               aliases=("retrans", "tcp.analysis.retransmission"),
               json_key="tcp_analysis.retransmissions"),
    ColumnSpec("fast_retrans", "Fast retrans", "count",
               "Fast retransmissions (tcp.analysis.fast_retransmission)", _T, hidden=True,
               aliases=("fastretrans", "fast_retransmissions",
                        "tcp.analysis.fast_retransmission"),
               json_key="tcp_analysis.fast_retransmissions"),
    ColumnSpec("spurious_retrans", "Spurious retrans", "count",
               "Retransmissions of data already acknowledged "
               "(tcp.analysis.spurious_retransmission)", _T, hidden=True,
               aliases=("spurious", "spurious_retransmissions",
                        "tcp.analysis.spurious_retransmission"),
               json_key="tcp_analysis.spurious_retransmissions"),
    ColumnSpec("dup_acks", "Dup ACKs", "count",
               "Duplicate ACKs (tcp.analysis.duplicate_ack)", _T,
               aliases=("dupack", "dupacks", "duplicate_acks", "tcp.analysis.duplicate_ack"),
               json_key="tcp_analysis.duplicate_acks"),
    ColumnSpec("lost_segments", "Lost segments", "count",
               "Segments after a hole: previous segment not captured "
               "(tcp.analysis.lost_segment)", _T, hidden=True,
               aliases=("lost", "lost_segment", "tcp.analysis.lost_segment"),
               json_key="tcp_analysis.lost_segments"),
    ColumnSpec("acked_unseen", "ACKed unseen", "count",
               "ACKs of data the capture never saw (tcp.analysis.ack_lost_segment)", _T,
               hidden=True,
               aliases=("ackedunseen", "ack_lost_segment", "tcp.analysis.ack_lost_segment"),
               json_key="tcp_analysis.acked_unseen"),
    ColumnSpec("tcp_out_of_order", "Out-of-order (WS)", "count",
               "Segments Wireshark flags as out of order (tcp.analysis.out_of_order)", _T,
               hidden=True, aliases=("ooo", "tcp.analysis.out_of_order"),
               json_key="tcp_analysis.out_of_order"),
    ColumnSpec("zero_windows", "Zero windows", "count",
               "Packets advertising a zero receive window (tcp.analysis.zero_window)", _T,
               hidden=True, aliases=("zerowin", "zero_window", "tcp.analysis.zero_window"),
               json_key="tcp_analysis.zero_windows"),
    ColumnSpec("window_full", "Window full", "count",
               "Segments that fill the receiver's window (tcp.analysis.window_full)", _T,
               hidden=True, aliases=("winfull", "tcp.analysis.window_full"),
               json_key="tcp_analysis.window_full"),
    ColumnSpec("keep_alives", "Keep-alives", "count",
               "Keep-alive segments (tcp.analysis.keep_alive)", _T, hidden=True,
               aliases=("keepalive", "keep_alive", "tcp.analysis.keep_alive"),
               json_key="tcp_analysis.keep_alives"),
    ColumnSpec("retrans_share", "Retrans %", "float",
               "Retransmitted payload bytes as a percentage of all payload bytes", _T,
               hidden=True, aliases=("retrans_pct",), json_key="tcp_analysis.retransmitted_pct",
               to_json=_share),
    ColumnSpec("expert_warnings", "Warnings", "count",
               "Expert Info warnings of the TCP analysis (out-of-order, lost or unseen "
               "segments, zero windows, full windows)", _T,
               aliases=("warnings",), json_key="expert.warnings"),
    ColumnSpec("expert_notes", "Notes", "count",
               "Expert Info notes of the TCP analysis (retransmissions, duplicate ACKs, "
               "keep-alives, window probes, reused ports)", _T, hidden=True,
               aliases=("notes",), json_key="expert.notes"),
    ColumnSpec("expert_chats", "Chats", "count",
               "Expert Info chats of the TCP analysis (window updates)", _T, hidden=True,
               aliases=("chats",), json_key="expert.chats"),
    ColumnSpec("expert_severity", "Expert", "text",
               "The highest Expert Info severity of the TCP analysis: warning, note or chat "
               "(tcp.analysis raises no errors)", _T, aliases=("severity",),
               json_key="expert.severity", to_json=lambda v: str(v) or None),
)
