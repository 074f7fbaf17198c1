"""Random TCP conversations for checking the TCP analysis: a loose sender/receiver model plus
deliberate trouble (losses before the capture point, retransmissions, reordering, duplicate
ACKs, zero windows and probes, keep-alives, SACK blocks, window scaling, sequence wrap, reused
ports, odd flags), written as raw Ethernet/IPv4 frames so every field is under control.

``random_capture(seed, conversations)`` gives (frame bytes, ns timestamp) records for
``capwriter.pcap_bytes``. The same seed always gives the same capture.
"""

from __future__ import annotations

import random
import struct

M32 = 0xFFFFFFFF
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_frame(src: int, dst: int, sport: int, dport: int, seq: int, ack: int, flags: int,
              win: int, payload: bytes = b"", options: bytes = b"") -> bytes:
    """An Ethernet/IPv4/TCP frame (checksums left zero: tshark does not check them)."""
    options += b"\x01" * (-len(options) % 4)
    hlen = 20 + len(options)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & M32, ack & M32, (hlen // 4) << 4,
                      flags & 0xFF, win & 0xFFFF, 0, 0) + options + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     src.to_bytes(4, "big"), dst.to_bytes(4, "big"))
    eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    frame = eth + ip + tcp
    return frame + b"\0" * max(0, 60 - len(frame))


def opt_wscale(shift: int) -> bytes:
    return bytes((1, 3, 3, shift))


def opt_mss(mss: int) -> bytes:
    return struct.pack("!BBH", 2, 4, mss)


def opt_sack(blocks: list[tuple[int, int]]) -> bytes:
    body = b"".join(struct.pack("!II", a & M32, b & M32) for a, b in blocks)
    return b"\x01\x01" + bytes((5, 2 + len(body))) + body


class _Side:
    def __init__(self, isn: int) -> None:
        self.isn = isn
        self.nxt = (isn + 1) & M32  # next new byte to send
        self.sent: list[tuple[int, int]] = []  # (seq, len) of data segments sent
        self.got: list[tuple[int, int]] = []  # ranges received from the peer (relative)
        self.rcv_nxt = 0  # cumulative ack point (raw), set at the handshake
        self.win = 65535
        self.shift = 0
        self.adv_ack = 0  # the last ACK number and window field this side sent
        self.adv_win = 0


class _Conversation:
    """One connection's frames, produced by random steps."""

    def __init__(self, rng: random.Random, t0: int, cport: int, sport: int,
                 reuse_isn: int | None = None) -> None:
        self.rng = rng
        self.t = t0
        self.cport, self.sport = cport, sport
        self.records: list[tuple[bytes, int]] = []
        self.pending: list[tuple[bytes, int]] = []
        r = rng.random()
        isn_c = reuse_isn if reuse_isn is not None else (
            rng.randrange(M32 - 20000, M32) if r < 0.15 else rng.randrange(1 << 32))
        isn_s = rng.randrange(M32 - 5000, M32) if rng.random() < 0.1 else rng.randrange(1 << 32)
        self.side = (_Side(isn_c), _Side(isn_s))
        self.addr = (0x0A000001, 0x0A000002)

    # -- output -----------------------------------------------------------------------------
    def tick(self, quick: bool = False) -> None:
        r = 0.0 if quick else self.rng.random()
        if r < 0.3:
            self.t += self.rng.randrange(0, 200_000)
        elif r < 0.7:
            self.t += self.rng.randrange(200_000, 6_000_000)
        elif r < 0.93:
            self.t += self.rng.randrange(6_000_000, 40_000_000)
        else:
            self.t += self.rng.randrange(40_000_000, 900_000_000)
        self.t = self.t // 1000 * 1000  # pcap keeps microseconds

    def emit(self, lane: int, seq: int, ack: int, flags: int, win: int, payload: bytes = b"",
             options: bytes = b"", capture: float = 0.97, quick: bool = False) -> None:
        self.tick(quick)
        src, dst = self.addr[lane], self.addr[1 - lane]
        sp, dp = (self.cport, self.sport) if lane == 0 else (self.sport, self.cport)
        if self.rng.random() < 0.02:  # mangle a field
            which = self.rng.randrange(5)
            if which == 0:
                seq += self.rng.choice((-1, 1, -100))
            elif which == 1:
                ack += self.rng.choice((-1, 1, 1000))
            elif which == 2:
                flags ^= self.rng.choice((ACK, PSH, FIN, RST))
            elif which == 3:
                win = 0
            else:
                ack = 0
                flags &= ~ACK
        self.side[lane].adv_ack, self.side[lane].adv_win = ack & M32, win & 0xFFFF
        frame = tcp_frame(src, dst, sp, dp, seq, ack, flags, win, payload, options)
        if self.rng.random() < capture:
            self.records.append((frame, self.t))
            if self.rng.random() < 0.04 and len(self.records) >= 2:  # reordered on the way
                a, b = self.records[-2], self.records[-1]
                self.records[-2], self.records[-1] = (b[0], a[1]), (a[0], b[1])

    # -- the model ----------------------------------------------------------------------------
    def handshake(self) -> None:
        c, s = self.side
        rng = self.rng
        copt = b""
        if rng.random() < 0.7:
            c.shift = rng.choice((0, 2, 7, 8, 14, 15))
            copt += opt_wscale(c.shift)
        copt = opt_mss(1460) + copt + (b"\x04\x02" if rng.random() < 0.5 else b"")
        for _ in range(1 + (rng.random() < 0.15)):
            self.emit(0, c.isn, 0, SYN, 64240, options=copt, capture=0.93)
        sopt = b""
        if rng.random() < 0.7:
            s.shift = rng.choice((0, 1, 7, 9))
            sopt = opt_wscale(s.shift)
        for _ in range(1 + (rng.random() < 0.08)):
            self.emit(1, s.isn, c.isn + 1, SYN | ACK, 65160, options=opt_mss(1400) + sopt,
                      capture=0.95)
        if not sopt:
            c.shift = s.shift = 0
        c.rcv_nxt, s.rcv_nxt = (s.isn + 1) & M32, (c.isn + 1) & M32
        self.emit(0, c.nxt, c.rcv_nxt, ACK, c.win >> c.shift)

    def data(self, lane: int, size: int | None = None) -> None:
        me, peer = self.side[lane], self.side[1 - lane]
        rng = self.rng
        if size is None:
            size = rng.choice((1, 2, 100, 536, 1000, 1448, 1460, rng.randrange(1, 1500)))
            edge = (peer.adv_ack + (peer.adv_win << peer.shift) - me.nxt) & M32
            if rng.random() < 0.15 and 0 < edge < 4000:  # fill the peer's window exactly
                size = edge
        seq = me.nxt
        me.sent.append((seq, size))
        me.nxt = (me.nxt + size) & M32
        self.emit(lane, seq, me.rcv_nxt, ACK | (PSH if rng.random() < 0.5 else 0),
                  me.win >> me.shift, bytes(size))
        # the peer receives it (unless lost on the network)
        if rng.random() < 0.95:
            self._receive(1 - lane, seq, size)

    def _receive(self, lane: int, seq: int, size: int) -> None:
        me = self.side[lane]
        rel = (seq - me.rcv_nxt) & M32
        if rel >= 1 << 31:
            return  # old data
        me.got.append((rel, rel + size))
        me.got.sort()
        edge = 0
        keep = []
        for a, b in me.got:
            if a <= edge:
                edge = max(edge, b)
            else:
                keep.append((a, b))
        me.rcv_nxt = (me.rcv_nxt + edge) & M32
        me.got = [(a - edge, b - edge) for a, b in keep]

    def fast_retransmit(self, lane: int) -> None:
        """The receiver repeats its ACK quickly; the sender resends what it asks for."""
        me, peer = self.side[lane], self.side[1 - lane]
        for _ in range(self.rng.randrange(2, 5)):
            self.emit(1 - lane, peer.nxt, peer.rcv_nxt, ACK, peer.win >> peer.shift, quick=True)
        size = self.rng.choice((1, 100, 1448))
        self.emit(lane, peer.rcv_nxt, me.rcv_nxt, ACK, me.win >> me.shift, bytes(size),
                  quick=True)
        self._receive(1 - lane, peer.rcv_nxt, size)

    def ack(self, lane: int, dup: bool = False, zero: bool = False) -> None:
        me = self.side[lane]
        rng = self.rng
        options = b""
        if me.got and rng.random() < 0.7:
            blocks = [((me.rcv_nxt + a) & M32, (me.rcv_nxt + b) & M32) for a, b in me.got[:4]]
            options = opt_sack(blocks)
        win = 0 if zero else (me.win >> me.shift)
        if not dup and not zero and rng.random() < 0.15:
            me.win = rng.choice((0, 1000, 30000, 65535, 131072, 1 << 20))
            win = me.win >> me.shift
        self.emit(lane, me.nxt, me.rcv_nxt, ACK, min(win, 0xFFFF), options=options)

    def retransmit(self, lane: int) -> None:
        me = self.side[lane]
        if not me.sent:
            return self.data(lane)
        seq, size = self.rng.choice(me.sent[-6:]) if self.rng.random() < 0.7 else me.sent[0]
        self.emit(lane, seq, me.rcv_nxt, ACK, me.win >> me.shift, bytes(size))
        if self.rng.random() < 0.9:
            self._receive(1 - lane, seq, size)

    def keepalive(self, lane: int) -> None:
        me = self.side[lane]
        load = bytes(self.rng.randrange(2))
        self.emit(lane, me.nxt - 1, me.rcv_nxt, ACK, me.win >> me.shift, load)

    def probe(self, lane: int) -> None:
        me = self.side[lane]
        self.emit(lane, me.nxt, me.rcv_nxt, ACK, me.win >> me.shift, b"x")

    def close(self) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            first = rng.randrange(2)
            for lane in (first, 1 - first):
                me = self.side[lane]
                self.emit(lane, me.nxt, me.rcv_nxt, FIN | ACK, me.win >> me.shift)
                me.nxt = (me.nxt + 1) & M32
                self.side[1 - lane].rcv_nxt = (self.side[1 - lane].rcv_nxt + 1) & M32
            self.emit(first, self.side[first].nxt, self.side[first].rcv_nxt, ACK, 1000)
        elif r < 0.8:
            lane = rng.randrange(2)
            me = self.side[lane]
            flags = RST | (ACK if rng.random() < 0.5 else 0)
            self.emit(lane, me.nxt, me.rcv_nxt if flags & ACK else 0, flags, 0)


def random_conversation(rng: random.Random, t0: int, cport: int, sport: int,
                        reuse_isn: int | None = None) -> _Conversation:
    conv = _Conversation(rng, t0, cport, sport, reuse_isn)
    if rng.random() < 0.9:
        conv.handshake()
    else:
        c, s = conv.side
        c.rcv_nxt, s.rcv_nxt = (s.isn + 1) & M32, (c.isn + 1) & M32
    steps = rng.choice((5, 20, 60, 150))
    for _ in range(steps):
        lane = 0 if rng.random() < 0.6 else 1
        r = rng.random()
        if r < 0.42:
            conv.data(lane)
        elif r < 0.7:
            conv.ack(1 - lane)
        elif r < 0.76:
            conv.ack(1 - lane, dup=True)
            if rng.random() < 0.5:
                conv.ack(1 - lane, dup=True)
                conv.retransmit(lane)
        elif r < 0.83:
            conv.retransmit(lane)
        elif r < 0.87:
            conv.keepalive(lane)
            if rng.random() < 0.6:
                conv.ack(1 - lane, dup=True)
        elif r < 0.92:
            conv.ack(1 - lane, zero=True)
            for _ in range(rng.randrange(3)):
                conv.probe(lane)
                conv.ack(1 - lane, zero=True)
            conv.ack(1 - lane)
        elif r < 0.95:
            for _ in range(rng.randrange(2, 6)):
                conv.data(lane, 1448)
        elif r < 0.97:
            conv.fast_retransmit(lane)
        else:
            conv.ack(1 - lane, dup=True)
    conv.close()
    return conv


def random_capture(seed: int, conversations: int = 20) -> list[tuple[bytes, int]]:
    """Records of ``conversations`` random connections (some reusing a closed 4-tuple)."""
    rng = random.Random(seed)
    records: list[tuple[bytes, int]] = []
    t = 1_600_000_000 * 10**9
    last: tuple[int, int] | None = None
    for k in range(conversations):
        cport, sport = 20000 + k, rng.choice((80, 443, 22))
        reuse = None
        if last is not None and rng.random() < 0.1:
            cport, sport = last
        conv = random_conversation(rng, t, cport, sport, reuse)
        records.extend(conv.records)
        t = conv.t + 10**9
        last = (cport, sport)
    return records
