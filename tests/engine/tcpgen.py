"""One TCP stream of many segments in a chosen order, written straight to pcap bytes.

scapy needs about 100 µs a packet; the hostile-order tests and benchmarks need up to a million
segments, so the frames are packed with ``struct`` (checksums left zero: nothing here reads them).
"""

from __future__ import annotations

import random
import struct

_ETH = bytes.fromhex("020000000002" "020000000001" "0800")
A, B = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
FIN, SYN, ACK, PSH = 0x01, 0x02, 0x10, 0x08
_REC = struct.Struct("<IIII")
_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")
ISN_A, ISN_B = 1_000, 5_000
#: payload bytes: stream offset k holds letter k % 26, so overlapping segments agree
_LETTERS = bytes(97 + k % 26 for k in range(26 + 1460))


def tcp_frame(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
           payload: bytes) -> bytes:
    """An Ethernet/IPv4/TCP frame (checksums zero)."""
    ip = _IP.pack(0x45, 0, 40 + len(payload), 0, 0, 64, 6, 0, src, dst)
    tcp = _TCP.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    return _ETH + ip + tcp + payload


def shuffled_stream(segments: int, seed: int = 1, size: int = 10,
                    order: str = "shuffle") -> bytes:
    """A pcap of a handshake and then ``segments`` data segments A→B of ``size`` bytes each.

    ``order``: ``shuffle`` (random permutation), ``reverse`` or ``sorted``. One packet a
    microsecond, so capture order is the order given.
    """
    idx = list(range(segments))
    if order == "shuffle":
        random.Random(seed).shuffle(idx)
    elif order == "reverse":
        idx.reverse()
    payload = bytes(97 + k % 26 for k in range(size))
    frames = [
        tcp_frame(A, B, 40000, 80, ISN_A, 0, SYN, b""),
        tcp_frame(B, A, 80, 40000, ISN_B, ISN_A + 1, SYN | ACK, b""),
        tcp_frame(A, B, 40000, 80, ISN_A + 1, ISN_B + 1, ACK, b""),
    ]
    base = ISN_A + 1
    frames += [tcp_frame(A, B, 40000, 80, base + k * size, ISN_B + 1, ACK | PSH, payload)
               for k in idx]
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for n, data in enumerate(frames):
        out.append(_REC.pack(1_600_000_000 + n // 1_000_000, n % 1_000_000, len(data),
                             len(data)))
        out.append(data)
    return b"".join(out)


def segment_storm(rng: random.Random, segments: int) -> bytes:
    """A pcap of one connection whose data arrives in a hostile order: segments of random sizes
    at random places (overlaps, retransmissions, holes, keep-alives and zero-length probes),
    acknowledgements going back now and then, sometimes a FIN or RST in between."""
    span = max(segments * 200, 1)
    frames = [
        tcp_frame(A, B, 40000, 80, ISN_A, 0, SYN, b""),
        tcp_frame(B, A, 80, 40000, ISN_B, ISN_A + 1, SYN | ACK, b""),
    ]
    for _ in range(segments):
        kind = rng.random()
        if kind < 0.1:
            ack = ISN_A + 1 + rng.randrange(span)
            frames.append(tcp_frame(B, A, 80, 40000, ISN_B + 1, ack, ACK, b""))
            continue
        offset = rng.randrange(span)
        size = rng.choice((0, 1, rng.randrange(1, 1461)))
        flags = ACK | (FIN if kind > 0.995 else 0) | (PSH if kind > 0.5 else 0)
        start = offset % 26
        frames.append(tcp_frame(A, B, 40000, 80, ISN_A + 1 + offset, ISN_B + 1, flags,
                                _LETTERS[start : start + size]))
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for n, data in enumerate(frames):
        out.append(_REC.pack(1_600_000_000 + n // 1_000_000, n % 1_000_000, len(data),
                             len(data)))
        out.append(data)
    return b"".join(out)
