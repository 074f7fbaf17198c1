"""Small builders for test packets (scapy) with explicit times."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
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


def mixed() -> list[Packet]:
    """A little of everything: a TCP connection with a request, mDNS, a ping and its reply, and
    an ARP frame (no conversation)."""
    return [
        tcp(A, 40000, B, 80, "S", 1, t=1.0),
        tcp(B, 80, A, 40000, "SA", 7, 2, t=1.1),
        tcp(A, 40000, B, 80, "PA", 2, 8, b"GET / HTTP/1.0\r\n\r\n", t=1.2),
        udp(A, 5353, "224.0.0.251", 5353, b"q", t=0.5),
        ping(A, B, 77, 1, t=2.0),
        ping(B, A, 77, 1, reply=True, t=2.1),
        at(Ether() / ARP(), 2.5),
        tcp(B, 80, A, 40000, "FA", 8, 20, t=3.0),
    ]
