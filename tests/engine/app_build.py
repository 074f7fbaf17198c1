"""Builders for application-layer test traffic: TLS hellos, DNS answers, TCP dialogues."""

from __future__ import annotations

import struct

from scapy.packet import Packet

from engine import FlowResult, extract_flows

from .packets import tcp, udp


def _vec(size: int, data: bytes) -> bytes:
    return len(data).to_bytes(size, "big") + data


def _ext(kind: int, data: bytes) -> bytes:
    return struct.pack(">HH", kind, len(data)) + data


def client_hello(sni: str = "example.org", alpn: tuple[str, ...] = ("h2", "http/1.1"),
                 padding: int = 0) -> bytes:
    """A TLS 1.3-style ClientHello handshake message (type, length, body); ``padding`` adds a
    padding extension of that many bytes (post-quantum key shares make hellos this big)."""
    exts = _ext(0, _vec(2, b"\x00" + _vec(2, sni.encode())))
    exts += _ext(10, _vec(2, b"\x00\x1d\x00\x17"))
    exts += _ext(11, _vec(1, b"\x00"))
    exts += _ext(13, _vec(2, b"\x04\x03\x08\x04"))
    exts += _ext(16, _vec(2, b"".join(_vec(1, a.encode()) for a in alpn)))
    exts += _ext(43, _vec(1, b"\x03\x04\x03\x03"))
    if padding:
        exts += _ext(21, b"\x00" * padding)
    body = (b"\x03\x03" + b"\x11" * 32 + _vec(1, b"\x22" * 32) + _vec(2, b"\x13\x01\xc0\x2f")
            + _vec(1, b"\x00") + _vec(2, exts))
    return b"\x01" + _vec(3, body)


def server_hello(cipher: int = 0x1301, version: int = 0x0304) -> bytes:
    exts = _ext(43, struct.pack(">H", version)) if version == 0x0304 else b""
    body = (b"\x03\x03" + b"\x33" * 32 + _vec(1, b"\x22" * 32) + struct.pack(">H", cipher)
            + b"\x00" + _vec(2, exts))
    return b"\x02" + _vec(3, body)


def records(handshake: bytes, size: int = 16384) -> bytes:
    """Handshake bytes in TLS records of at most ``size`` bytes each."""
    return b"".join(b"\x16\x03\x01" + _vec(2, handshake[k:k + size])
                    for k in range(0, len(handshake), size))


class Dialogue:
    """A TCP connection A:sport → B:dport built segment by segment (sequence numbers kept)."""

    def __init__(self, sport: int = 40000, dport: int = 443, a: str = "10.0.0.1",
                 b: str = "10.0.0.2", t: float = 0.0) -> None:
        self.a, self.b, self.sport, self.dport = a, b, sport, dport
        self.seq = [1000, 5000]
        self.t = t
        self.packets: list[Packet] = [self._pkt(0, "S", b""), self._pkt(1, "SA", b"")]
        self.seq = [1001, 5001]
        self.packets.append(self._pkt(0, "A", b""))

    def _pkt(self, side: int, flags: str, load: bytes, seq: int | None = None) -> Packet:
        self.t += 0.001
        src, sport, dst, dport = ((self.a, self.sport, self.b, self.dport) if side == 0 else
                                  (self.b, self.dport, self.a, self.sport))
        return tcp(src, sport, dst, dport, flags, seq=self.seq[side] if seq is None else seq,
                   ack=self.seq[1 - side], load=load, t=self.t)

    def send(self, side: int, data: bytes) -> Dialogue:
        self.packets.append(self._pkt(side, "PA", data))
        self.seq[side] += len(data)
        return self

    def segments(self, side: int, data: bytes, size: int) -> list[Packet]:
        """``data`` cut into segments (returned, not yet added: the caller orders them)."""
        out = []
        for k in range(0, len(data), size):
            out.append(self._pkt(side, "PA", data[k:k + size], seq=self.seq[side] + k))
        self.seq[side] += len(data)
        return out


def dns_answer(name: str, chain: list[str], address: str, ident: int = 7) -> bytes:
    """A DNS response: question ``name``, CNAMEs ``name → chain[0] → …``, then an A record."""
    def encode(n: str) -> bytes:
        return b"".join(_vec(1, label.encode()) for label in n.split(".")) + b"\x00"

    question = encode(name) + struct.pack(">HH", 1, 1)
    answers = b""
    owner = name
    for target in chain:
        answers += encode(owner) + struct.pack(">HHIH", 5, 1, 60, len(encode(target)))
        answers += encode(target)
        owner = target
    answers += encode(owner) + struct.pack(">HHIH", 1, 1, 60, 4)
    answers += bytes(int(x) for x in address.split("."))
    header = struct.pack(">HHHHHH", ident, 0x8180, 1, len(chain) + 1, 0, 0)
    return header + question + answers


def dns_query(name: str, ident: int = 7) -> bytes:
    encoded = b"".join(_vec(1, label.encode()) for label in name.split(".")) + b"\x00"
    return struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + encoded + struct.pack(">HH", 1, 1)


def analyse(packets: list[Packet]) -> FlowResult:
    return extract_flows(packets)


__all__ = ["Dialogue", "analyse", "client_hello", "dns_answer", "dns_query", "records",
           "server_hello", "udp"]
