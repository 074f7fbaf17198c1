"""Small TCP and UDP conversations built with scapy, analysed by the engine, for stream tests."""

from __future__ import annotations

from engine import WIRESHARK, FlowResult, analyse_packets
from engine.capture.in_memory import RawPacket
from engine.follow.conversation import conversation_stream
from gui.panes.stream.layout import StreamDocument
from tests.engine.packets import A, B, tcp, udp


def tcp_result(turns: list[tuple[int, bytes]], segment: int = 1400) -> FlowResult:
    """A handshake, then each (direction, bytes) sent in segments of at most ``segment``."""
    packets = [tcp(A, 40000, B, 80, "S", seq=100, t=1.0),
               tcp(B, 80, A, 40000, "SA", seq=500, ack=101, t=1.001),
               tcp(A, 40000, B, 80, "A", seq=101, ack=501, t=1.002)]
    seq = [101, 501]
    t = 1.01
    for direction, data in turns:
        for start in range(0, len(data), segment):
            piece = data[start : start + segment]
            src, sport, dst, dport = (A, 40000, B, 80) if direction == 0 else (B, 80, A, 40000)
            packets.append(tcp(src, sport, dst, dport, "PA", seq=seq[direction],
                               ack=seq[1 - direction], load=piece, t=t))
            seq[direction] += len(piece)
            t += 0.001
    raws = [RawPacket(bytes(p), round(p.time * 1e9)) for p in packets]
    return analyse_packets(raws, WIRESHARK)


def udp_result(datagrams: list[tuple[int, bytes]]) -> FlowResult:
    packets = []
    for k, (direction, data) in enumerate(datagrams):
        src, sport, dst, dport = (A, 5353, B, 53) if direction == 0 else (B, 53, A, 5353)
        packets.append(udp(src, sport, dst, dport, data, t=1.0 + k / 1000))
    raws = [RawPacket(bytes(p), round(p.time * 1e9)) for p in packets]
    return analyse_packets(raws, WIRESHARK)


def document(result: FlowResult, conversation: int = 0) -> StreamDocument:
    return StreamDocument(conversation_stream(result, conversation))
