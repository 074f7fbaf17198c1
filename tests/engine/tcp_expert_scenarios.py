"""Small TCP captures that show the analysis flags the public test captures never do (zero-window
probes and their ACKs, full windows, keep-alives and their ACKs, spurious retransmissions, SACK
blocks, reused ports, window updates), built with scapy, plus two seeded random captures from
``tcp_expert_gen``. ``python -m tests.engine.tcp_expert_scenarios`` writes them to
``tests/data/tcp_expert/captures``; ``tests/data/tcp_expert/*.json`` is what tshark 4.0.17 says
about them (../shared/tools/make_tcp_expert_oracle.py), and the tests check the files still equal
what this module builds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from .capwriter import pcap_bytes
from .tcp_expert_gen import random_capture

OUT = Path(__file__).resolve().parents[1] / "data" / "tcp_expert" / "captures"
C, S = "10.1.0.1", "10.1.0.2"


class Conn:
    """One connection's packets with explicit times (seconds from 1,700,000,000)."""

    def __init__(self, cport: int = 40000, sport: int = 80, isn_c: int = 1000,
                 isn_s: int = 5000) -> None:
        self.cport, self.sport = cport, sport
        self.nxt = [isn_c, isn_s]  # next sequence number per side (0 = client)
        self.isn = [isn_c, isn_s]
        self.packets: list[Packet] = []
        self.t = 1_700_000_000.0

    def send(self, side: int, flags: str, dt: float, load: int | bytes = 0, seq: int | None = None,
             ack: int | None = None, win: int = 8192, options: list | None = None,
             advance: bool = True) -> Packet:
        self.t += dt
        src, dst = (C, S) if side == 0 else (S, C)
        sp, dp = (self.cport, self.sport) if side == 0 else (self.sport, self.cport)
        s = self.nxt[side] if seq is None else seq
        a = self.nxt[1 - side] if ack is None else ack
        data = bytes(load) if isinstance(load, int) else load
        pkt = Ether() / IP(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=s,
                                                    ack=a if "A" in flags else 0, window=win,
                                                    options=options or [])
        if data:
            pkt = pkt / Raw(data)
        pkt.time = self.t
        self.packets.append(pkt)
        if advance and seq is None:
            self.nxt[side] = s + len(data) + ("S" in flags) + ("F" in flags)
        return pkt

    def handshake(self, wscale: tuple[int | None, int | None] = (None, None)) -> None:
        opts_c = [("MSS", 1460)] + ([("WScale", wscale[0])] if wscale[0] is not None else [])
        opts_s = [("MSS", 1460)] + ([("WScale", wscale[1])] if wscale[1] is not None else [])
        self.send(0, "S", 0.0, win=65535, options=opts_c)
        self.send(1, "SA", 0.010, win=65535, options=opts_s)
        self.send(0, "A", 0.010, win=512)

    def close(self) -> None:
        self.send(0, "FA", 0.010)
        self.send(1, "FA", 0.010)
        self.send(0, "A", 0.010)


def zero_window() -> list[Packet]:
    """The receiver's window closes: zero-window probes, their ACKs, then a window update."""
    c = Conn()
    c.handshake()
    c.send(0, "PA", 0.010, 1000)
    c.send(1, "A", 0.010, win=1000)
    c.send(0, "PA", 0.010, 1000)
    c.send(1, "A", 0.010, win=0)  # zero window
    for _ in range(3):
        c.send(0, "A", 0.300, 1, advance=False)  # a probe: one byte at the next sequence number
        c.send(1, "A", 0.010, win=0)  # its ACK, still zero
    c.send(1, "A", 0.500, win=4000)  # window update
    c.send(0, "PA", 0.010, 1000)
    c.send(1, "A", 0.010, win=8000)
    c.close()
    return c.packets


def window_full() -> list[Packet]:
    """Segments that fill the receiver's window exactly, scaled and (right after the handshake,
    whose SYN-ACK window Wireshark never scales) unscaled."""
    c = Conn()
    c.handshake(wscale=(2, 3))  # the server's windows count in units of 8
    c.send(1, "A", 0.010, win=250)  # 2000 bytes of room
    c.send(0, "PA", 0.010, 1000)
    c.send(0, "PA", 0.001, 1000)  # ends at the edge: window full
    c.send(1, "A", 0.020, win=250)
    c.send(0, "PA", 0.010, 2000)  # fills the window again in one segment
    c.send(1, "A", 0.020, win=1000)
    c.close()
    d = Conn(cport=40001, isn_c=9000, isn_s=70000)
    d.t = c.t + 1
    d.send(0, "S", 0.0, win=65535, options=[("WScale", 7)])
    d.send(1, "SA", 0.010, win=3000, options=[("WScale", 7)])
    d.send(0, "PA", 0.010, 3000)  # the SYN-ACK's 3000 bytes, filled before any pure ACK
    d.send(1, "A", 0.020, win=100)
    d.close()
    return c.packets + d.packets


def keep_alive() -> list[Packet]:
    """An idle connection kept alive: empty and one-byte keep-alives, and their ACKs."""
    c = Conn()
    c.handshake()
    c.send(0, "PA", 0.010, 200)
    c.send(1, "A", 0.010)
    c.send(0, "A", 45.0, seq=c.nxt[0] - 1)  # keep-alive, no data
    c.send(1, "A", 0.010)  # keep-alive ACK
    c.send(0, "A", 45.0, b"\x00", seq=c.nxt[0] - 1)  # keep-alive with the garbage byte
    c.send(1, "A", 0.010)
    c.send(1, "A", 30.0, seq=c.nxt[1] - 1)  # the server's keep-alive, unanswered
    c.close()
    return c.packets


def spurious() -> list[Packet]:
    """Retransmissions of data already acknowledged (spurious), a timeout retransmission, and an
    out-of-order segment that arrives within the RTT."""
    c = Conn()
    c.handshake()
    first = c.nxt[0]
    c.send(0, "PA", 0.010, 500)
    c.send(1, "A", 0.010)
    c.send(0, "PA", 0.200, 500, seq=first)  # already acknowledged: spurious
    second = c.nxt[0]
    c.send(0, "PA", 0.010, 500)
    c.send(0, "PA", 0.400, 500, seq=second)  # not acknowledged yet: retransmission
    c.send(1, "A", 0.010)
    third = c.nxt[0]
    c.nxt[0] += 500
    c.send(0, "PA", 0.010, 500)  # jumps ahead: previous segment not captured (yet)
    c.send(0, "PA", 0.001, 500, seq=third)  # and the hole, 1 ms later: out-of-order
    c.send(1, "A", 0.010)
    c.close()
    return c.packets


def sack() -> list[Packet]:
    """A lost segment: the receiver's duplicate ACKs carry SACK blocks (up to four), the sender
    retransmits fast; bytes in flight leave out what the SACK blocks cover."""
    c = Conn()
    c.send(0, "S", 0.0, win=65535, options=[("MSS", 1000), ("SAckOK", b"")])
    c.send(1, "SA", 0.010, win=65535, options=[("MSS", 1000), ("SAckOK", b"")])
    c.send(0, "A", 0.010, win=65535)
    segs = []
    for _ in range(6):
        segs.append(c.nxt[1])
        c.send(1, "A", 0.001, 1000)
    ack = segs[1]  # the second segment was lost on the way: the client ACKs up to it
    blocks: list[tuple[int, int]] = []
    for k in range(2, 6):
        blocks.insert(0, (segs[k], segs[k] + 1000))
        c.send(0, "A", 0.001, ack=ack, win=65535,
               options=[("NOP", None), ("NOP", None), ("SAck", tuple(x for b in blocks
                                                                     for x in b))])
    c.send(1, "A", 0.002, 1000, seq=segs[1])  # fast retransmission
    c.send(1, "A", 0.001, 1000)  # new data: bytes in flight minus the SACKed ones
    c.send(0, "A", 0.010, ack=c.nxt[1], win=65535)
    c.close()
    return c.packets


def reused_ports() -> list[Packet]:
    """A closed connection, then a new one on the same ports with a new initial sequence number;
    later the server answers a SYN with a sequence number it never used there."""
    c = Conn(isn_c=1000, isn_s=5000)
    c.handshake()
    c.send(0, "PA", 0.010, 100)
    c.send(1, "A", 0.010)
    c.close()
    d = Conn(isn_c=777777, isn_s=888888)
    d.t = c.t + 5
    d.handshake()  # same ports, new ISN: tshark's "TCP Port numbers reused"
    d.send(0, "PA", 0.010, 100)
    d.send(1, "A", 0.010)
    d.send(1, "SA", 0.5, seq=999999, ack=d.nxt[0])  # a SYN-ACK with another ISN
    d.close()
    return c.packets + d.packets


def window_update() -> list[Packet]:
    """Window updates: the same ACK with a new window, and their ACK-less look-alikes."""
    c = Conn()
    c.handshake()
    c.send(0, "PA", 0.010, 1000)
    c.send(1, "A", 0.010, win=2000)
    c.send(1, "A", 0.050, win=6000)  # window update
    c.send(1, "A", 0.050, win=6000)  # the same again: a duplicate ACK
    c.send(1, "A", 0.050, win=9000)  # another update
    c.send(0, "PA", 0.010, 1000)
    c.send(1, "A", 0.010, win=9000)
    c.close()
    return c.packets


SCENARIOS: dict[str, Callable[[], list[Packet]]] = {
    "tcpx-zero-window.pcap": zero_window,
    "tcpx-window-full.pcap": window_full,
    "tcpx-keep-alive.pcap": keep_alive,
    "tcpx-spurious.pcap": spurious,
    "tcpx-sack.pcap": sack,
    "tcpx-reused-ports.pcap": reused_ports,
    "tcpx-window-update.pcap": window_update,
}
#: seeded random captures (tcp_expert_gen): (file name, seed, conversations)
RANDOM = (("tcpx-random-7.pcap", 7, 3), ("tcpx-random-21.pcap", 21, 3))


def build(name: str) -> bytes:
    """The bytes of capture ``name`` as this module makes it."""
    for file, seed, convs in RANDOM:
        if file == name:
            return pcap_bytes(random_capture(seed, convs))
    path = OUT.parent / ".build.pcap"
    try:
        wrpcap(str(path), SCENARIOS[name]())
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def names() -> list[str]:
    return list(SCENARIOS) + [file for file, _, _ in RANDOM]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names():
        (OUT / name).write_bytes(build(name))
        print(OUT / name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
