"""The TCP analysis flags (Wireshark's ``tcp.analysis.*``), their names, wording and severities.

One bit per flag in a uint16 per packet. The bit values are Wireshark's own (``TCP_A_*``), so a
reader who knows ``packet-tcp.c`` recognises them; bit 15 says the packet has an analysis record
at all (Wireshark prints ``tcp.analysis.initial_rtt`` only on such packets).
"""

from __future__ import annotations

RETRANSMISSION = 0x0001
LOST_SEGMENT = 0x0002
ACK_LOST_SEGMENT = 0x0004
KEEP_ALIVE = 0x0008
DUPLICATE_ACK = 0x0010
ZERO_WINDOW = 0x0020
ZERO_WINDOW_PROBE = 0x0040
ZERO_WINDOW_PROBE_ACK = 0x0080
KEEP_ALIVE_ACK = 0x0100
OUT_OF_ORDER = 0x0200
FAST_RETRANSMISSION = 0x0400
WINDOW_UPDATE = 0x0800
WINDOW_FULL = 0x1000
REUSED_PORTS = 0x2000
SPURIOUS_RETRANSMISSION = 0x4000
#: not a flag: the packet has an analysis record (so it shows the connection's initial RTT)
HAS_RECORD = 0x8000

#: every flag bit, for masks
ALL_FLAGS = 0x7FFF

#: Wireshark also raises its generic "retransmission" item for these two
RETRANSMISSION_KINDS = RETRANSMISSION | FAST_RETRANSMISSION | SPURIOUS_RETRANSMISSION


class Flag:
    """A flag's bit, its tshark field name (after ``tcp.analysis.``), the note Wireshark puts in
    the Info column and the severity of its Expert Info item."""

    __slots__ = ("bit", "name", "note", "severity")

    def __init__(self, bit: int, name: str, note: str, severity: str) -> None:
        self.bit, self.name, self.note, self.severity = bit, name, note, severity


#: in the order Wireshark's Info column shows their notes (it prepends each as it prints them,
#: so the last printed comes first)
FLAGS: tuple[Flag, ...] = (
    Flag(ZERO_WINDOW_PROBE_ACK, "zero_window_probe_ack", "TCP ZeroWindowProbeAck", "note"),
    Flag(ZERO_WINDOW, "zero_window", "TCP ZeroWindow", "warning"),
    Flag(ZERO_WINDOW_PROBE, "zero_window_probe", "TCP ZeroWindowProbe", "note"),
    Flag(DUPLICATE_ACK, "duplicate_ack", "TCP Dup ACK", "note"),
    Flag(KEEP_ALIVE_ACK, "keep_alive_ack", "TCP Keep-Alive ACK", "note"),
    Flag(KEEP_ALIVE, "keep_alive", "TCP Keep-Alive", "note"),
    Flag(WINDOW_FULL, "window_full", "TCP Window Full", "warning"),
    Flag(WINDOW_UPDATE, "window_update", "TCP Window Update", "chat"),
    Flag(ACK_LOST_SEGMENT, "ack_lost_segment", "TCP ACKed unseen segment", "warning"),
    Flag(LOST_SEGMENT, "lost_segment", "TCP Previous segment not captured", "warning"),
    Flag(OUT_OF_ORDER, "out_of_order", "TCP Out-Of-Order", "warning"),
    Flag(SPURIOUS_RETRANSMISSION, "spurious_retransmission", "TCP Spurious Retransmission",
         "note"),
    Flag(FAST_RETRANSMISSION, "fast_retransmission", "TCP Fast Retransmission", "note"),
    Flag(RETRANSMISSION, "retransmission", "TCP Retransmission", "note"),
    Flag(REUSED_PORTS, "reused_ports", "TCP Port numbers reused", "note"),
)

#: Wireshark's "Bad TCP" colouring rule (its default colorfilters): any analysis flag, but not
#: on a window update or a keep-alive or its ACK
BAD_TCP_EXCEPT = WINDOW_UPDATE | KEEP_ALIVE | KEEP_ALIVE_ACK


def bad_tcp(bits: int) -> bool:
    return bool(bits & ALL_FLAGS) and not bits & BAD_TCP_EXCEPT


def notes(bits: int, dup_frame: int = 0, dup_num: int = 0) -> str:
    """The notes Wireshark puts before a packet's Info text: ``[TCP Dup ACK 12#1]``,
    ``[TCP ZeroWindow] [TCP Spurious Retransmission]``; ``dup_frame`` is the frame number the
    duplicate ACK repeats (0 when none)."""
    parts = []
    for f in FLAGS:
        if bits & f.bit:
            if f.bit == DUPLICATE_ACK:
                parts.append(f"[TCP Dup ACK {dup_frame}#{dup_num}]")
            else:
                parts.append(f"[{f.note}]")
    return " ".join(parts)


BY_NAME = {f.name: f for f in FLAGS}


def flag_names(bits: int) -> list[str]:
    """tshark's field names present on a packet with ``bits`` (sorted, as the oracle lists
    them); fast and spurious retransmissions also carry ``retransmission``, as in tshark."""
    names = {f.name for f in FLAGS if bits & f.bit}
    if bits & RETRANSMISSION_KINDS:
        names.add("retransmission")
    return sorted(names)
