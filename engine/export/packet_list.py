"""The packets of a capture (or of one conversation) with Wireshark's TCP analysis, as JSON or a
text table — ``flowscope-cli packets``.

The JSON is a contract::

    {"capture": {...as in conversations},
     "packets": [{"frame": 1, "conversation": 0, "protocol": "tcp", "stream": 0,
                  "time_ns": ..., "direction": "a_to_b", "tcp_flags": "SA", "seq": 0, "ack": 1,
                  "len": 0, "analysis": ["duplicate_ack"], "duplicate_ack_num": 1,
                  "ack_rtt": 0.000073, "bytes_in_flight": 100, "initial_rtt": 0.0002}, ...]}

``frame`` is the 1-based frame number (tshark's ``frame.number``); ``analysis`` holds tshark's
field names after ``tcp.analysis.``; ``seq``/``ack`` are relative as tshark shows them (``ack`` is
the raw field when the ACK flag is off); values tshark does not print are null. Packets of other
protocols carry their conversation and no TCP fields; packets in no conversation carry
``"conversation": null``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from ..packets import ACK, Kind
from ..result import FlowResult
from ..tcp.expert_flags import flag_names, notes
from ..tcp.expert_store import KEY, TcpExpert
from .conversations import capture_record
from .records import flag_string

M32 = 0xFFFFFFFF


@dataclass
class PacketColumns:
    """The fields of ``index`` (packet indices), computed column-wise."""

    index: np.ndarray
    conv: np.ndarray  # -1: in no conversation
    protocol: list[str | None]
    stream: np.ndarray  # -1: none
    direction: np.ndarray
    tcp: np.ndarray  # bool: a packet of a TCP conversation
    flags: np.ndarray
    seq: np.ndarray  # relative (tshark's)
    ack: np.ndarray
    length: np.ndarray
    bits: np.ndarray  # analysis flags
    dup_num: np.ndarray
    dup_of: np.ndarray  # packet index the duplicate ACK repeats, -1
    ack_rtt_ns: np.ndarray  # -1: none
    bytes_in_flight: np.ndarray
    irtt_ns: np.ndarray  # -1 where not shown (it cannot be negative and shown at once… see
    irtt_shown: np.ndarray  # ...this mask: Wireshark prints negative iRTTs too)


def packet_columns(result: FlowResult, index: np.ndarray) -> PacketColumns:
    p = result.inner_view()  # a tunnelled frame shows the TCP connection inside it
    table = result.conversations
    e: TcpExpert = result.plugin_data[KEY]
    index = np.asarray(index, dtype=np.int64)
    conv = p.conv[index].astype(np.int64)
    has = conv >= 0
    c0 = np.maximum(conv, 0)
    names = table.protocol_names() if len(table) else np.zeros(0, dtype=object)
    protocol = [str(names[c]) if ok else None for c, ok in zip(c0.tolist(), has.tolist(),
                                                              strict=True)]
    stream = np.where(has, table.stream[c0] if len(table) else -1, -1)
    direction = p.direction[index]
    tcp = has & (table.kind[c0] == Kind.TCP if len(table) else False)
    flags = p.tcp_flags[index]
    lane = direction.astype(np.int64)
    base_own = np.where(tcp, e.bases(c0, lane, index) if len(table) else 0, 0)
    base_peer = np.where(tcp, e.bases(c0, 1 - lane, index) if len(table) else 0, 0)
    raw_seq = p.seq[index].astype(np.int64)
    raw_ack = p.ack[index].astype(np.int64)
    seq = np.where(base_own >= 0, (raw_seq - base_own) & M32, raw_seq)
    acked = (flags & ACK) != 0
    ack = np.where(acked & (base_peer >= 0), (raw_ack - base_peer) & M32, raw_ack)
    length = np.maximum(p.payload_len[index], 0).astype(np.int64)
    poff = p.payload_off[index].astype(np.int64)
    wire = np.where(poff >= 0, np.minimum(np.maximum(p.origlen[index] - poff, 0), length),
                    length)
    dup_num, dup_of = e.duplicate_acks(index)
    irtt = np.where(tcp, e.irtt_ns[c0] if len(table) else 0, 0)
    shown = tcp & e.initial_rtt_shown(c0, index) if len(table) else np.zeros(index.size, bool)
    return PacketColumns(index=index, conv=np.where(has, conv, -1), protocol=protocol,
                         stream=stream, direction=direction, tcp=tcp, flags=flags, seq=seq,
                         ack=ack, length=wire, bits=e.flags[index], dup_num=dup_num,
                         dup_of=dup_of, ack_rtt_ns=e.ack_rtt_ns(p.ts_ns, index),
                         bytes_in_flight=e.bytes_in_flight[index].astype(np.int64),
                         irtt_ns=irtt, irtt_shown=shown)


def packet_records(result: FlowResult, index: np.ndarray) -> list[dict[str, Any]]:
    """One JSON-ready dict per packet of ``index`` (see the module docstring)."""
    c = packet_columns(result, index)
    ts = result.packets.ts_ns[c.index].tolist()
    out = []
    cols = zip(c.index.tolist(), c.conv.tolist(), c.protocol, c.stream.tolist(),
               c.direction.tolist(), c.tcp.tolist(), c.flags.tolist(), c.seq.tolist(),
               c.ack.tolist(), c.length.tolist(), c.bits.tolist(), c.dup_num.tolist(),
               c.ack_rtt_ns.tolist(), c.bytes_in_flight.tolist(), c.irtt_ns.tolist(),
               c.irtt_shown.tolist(), ts, strict=True)
    for (i, conv, proto, stream, direction, tcp, flags, seq, ack, length, bits, dup, rtt,
         bif, irtt, shown, t) in cols:
        rec: dict[str, Any] = {"frame": i + 1, "conversation": None if conv < 0 else conv,
                               "protocol": proto, "stream": None if stream < 0 else stream,
                               "time_ns": t}
        if conv >= 0:
            rec["direction"] = "b_to_a" if direction else "a_to_b"
        if tcp:
            rec.update({"tcp_flags": flag_string(flags), "seq": seq, "ack": ack, "len": length,
                        "analysis": flag_names(bits), "duplicate_ack_num": dup or None,
                        "ack_rtt": rtt / 1e9 if rtt != -1 else None,
                        "bytes_in_flight": bif or None,
                        "initial_rtt": irtt / 1e9 if shown else None})
        out.append(rec)
    return out


def write_packets_json(result: FlowResult, index: np.ndarray, out: TextIO) -> None:
    """The JSON document, one packet per line."""
    head = json.dumps({"capture": capture_record(result)}, indent=1)
    out.write(head[:-2] + ',\n "packets": [\n')
    records = packet_records(result, index)
    for k, rec in enumerate(records):
        out.write("  " + json.dumps(rec, separators=(",", ":")))
        out.write(",\n" if k + 1 < len(records) else "\n")
    out.write(" ]\n}\n")


def write_packets_table(result: FlowResult, index: np.ndarray, out: TextIO) -> None:
    """A text table: frame, time since the capture's first packet, stream, direction, flags,
    relative seq/ack, length and Wireshark's notes."""
    c = packet_columns(result, index)
    p = result.packets
    first = result.capture.first_ns or 0
    rows = [("Frame", "Time", "Stream", "Dir", "Flags", "Seq", "Ack", "Len", "Notes")]
    frames = p.ts_ns[c.index]
    for k, i in enumerate(c.index.tolist()):
        conv = int(c.conv[k])
        tcp = bool(c.tcp[k])
        dup_of = int(c.dup_of[k])
        rows.append((
            str(i + 1), f"{(int(frames[k]) - first) / 1e9:.6f}",
            "" if c.stream[k] < 0 else str(int(c.stream[k])),
            "" if conv < 0 else ("B→A" if c.direction[k] else "A→B"),
            flag_string(int(c.flags[k])) if tcp else (c.protocol[k] or ""),
            str(int(c.seq[k])) if tcp else "", str(int(c.ack[k])) if tcp else "",
            str(int(c.length[k])) if tcp else "",
            notes(int(c.bits[k]), dup_of + 1 if dup_of >= 0 else 0, int(c.dup_num[k]))
            if tcp else ""))
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [r[j].rjust(widths[j]) if j not in (3, 4) else r[j].ljust(widths[j])
                 for j in range(len(widths))]
        out.write("  ".join([*cells, r[-1]]).rstrip() + "\n")
