"""Small builders for test packets (scapy) with explicit times."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

A, B = "10.0.0.1", "10.0.0.2"


def at(pkt: Packet, seconds: float) -> Packet:
    pkt.time = seconds
    return pkt


def tcp(src: str, sport: int, dst: str, dport: int, flags: str, seq: int = 0, ack: int = 0,
        load: bytes = b"", t: float = 0.0) -> Packet:
    return at(Ether() / IP(src=src, dst=dst) /
              TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack) / load, t)


def udp(src: str, sport: int, dst: str, dport: int, load: bytes = b"", t: float = 0.0) -> Packet:
    return at(Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / load, t)


def ping(src: str, dst: str, ident: int, seq: int, reply: bool = False, t: float = 0.0
         ) -> Packet:
    return at(Ether() / IP(src=src, dst=dst) / ICMP(type=0 if reply else 8, id=ident, seq=seq), t)
