"""Signatures tested on whole columns: which conversations may speak which protocol.

Each test reads the first bytes of each direction's first payload (a ``[n, WIDTH]`` matrix per
direction, see :mod:`engine.app.payload`) and the ports, and returns a boolean mask. A mask only
nominates rows; the protocol's parser (:mod:`engine.app.inspect`) confirms each nominated row
from the real bytes, so a signature can be loose where a parser is strict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Mask = np.ndarray


@dataclass
class Heads:
    """The first bytes of both directions of n conversations."""

    h: tuple[np.ndarray, np.ndarray]  # uint8 [n, WIDTH]: A→B, B→A
    size: tuple[np.ndarray, np.ndarray]  # int64 [n]: captured bytes of that first payload
    tcp: np.ndarray  # bool [n]
    a_port: np.ndarray  # int64 [n]
    b_port: np.ndarray

    def port(self, *ports: int) -> Mask:
        return np.isin(self.a_port, ports) | np.isin(self.b_port, ports)

    def either(self, test: Callable[[np.ndarray, np.ndarray], Mask]) -> Mask:
        return test(self.h[0], self.size[0]) | test(self.h[1], self.size[1])


def starts(h: np.ndarray, size: np.ndarray, literal: bytes) -> Mask:
    mask = size >= len(literal)
    for k, byte in enumerate(literal):
        mask = mask & (h[:, k] == byte)
    return mask


def _u16(h: np.ndarray, k: int) -> np.ndarray:
    return h[:, k].astype(np.int64) << 8 | h[:, k + 1]


def _u32(h: np.ndarray, k: int) -> np.ndarray:
    return _u16(h, k) << 16 | _u16(h, k + 2)


def _letters(h: np.ndarray, size: np.ndarray, count: int) -> Mask:
    """``count`` upper-case letters (or - _) start the payload: a text protocol's verb."""
    mask = size > count
    for k in range(count):
        c = h[:, k]
        mask &= ((c >= 65) & (c <= 90)) | (c == 45) | (c == 95)
    return mask


def tls_hello(h: np.ndarray, size: np.ndarray) -> Mask:
    """A TLS handshake record holding a ClientHello (1) or ServerHello (2)."""
    return (size >= 6) & (h[:, 0] == 22) & (h[:, 1] == 3) & (h[:, 2] <= 4) & (
        (h[:, 5] == 1) | (h[:, 5] == 2))


def tls_record(h: np.ndarray, size: np.ndarray) -> Mask:
    """Any TLS record header (a connection captured after its handshake)."""
    length = _u16(h, 3)
    return ((size >= 5) & np.isin(h[:, 0], (20, 21, 22, 23)) & (h[:, 1] == 3) & (h[:, 2] >= 1)
            & (h[:, 2] <= 4) & (length > 0) & (length <= (1 << 14) + 2048))


def dtls_hello(h: np.ndarray, size: np.ndarray) -> Mask:
    version = _u16(h, 1)
    return ((size >= 25) & (h[:, 0] == 22) & np.isin(version, (0xFEFF, 0xFEFD, 0xFEFC, 0x0100))
            & (h[:, 3] == 0) & (h[:, 4] == 0) & np.isin(h[:, 13], (1, 2, 3)))


def quic_long(h: np.ndarray, size: np.ndarray) -> Mask:
    """A QUIC long header with a known version (IETF, drafts, mvfst, Google Q0xx/T0xx)."""
    version = _u32(h, 1)
    ietf = (version == 1) | (version == 0x6B3343CF) | (version >> 8 == 0xFF0000) | (
        version >> 4 == 0xFACEB00)
    google = np.isin(h[:, 1], (ord("Q"), ord("T"))) & (h[:, 2] == ord("0")) & (
        h[:, 3] >= 48) & (h[:, 3] <= 57) & (h[:, 4] >= 48) & (h[:, 4] <= 57)
    return (size >= 20) & (h[:, 0] & 0x80 > 0) & (ietf | google)


def gquic_public(h: np.ndarray, size: np.ndarray) -> Mask:
    """Google QUIC's old public header: version flag, 8-byte connection id, "Q0nn"."""
    return ((size >= 20) & (h[:, 0] & 0x09 == 0x09) & (h[:, 0] & 0x80 == 0)
            & (h[:, 9] == ord("Q")) & (h[:, 10] == ord("0")))


def dns_header(h: np.ndarray, size: np.ndarray, offset: int = 0) -> Mask:
    """A DNS header with one question (or an mDNS announcement) and sane counts."""
    o = offset
    opcode = (h[:, o + 2] >> 3) & 0xF
    return ((size >= o + 17) & np.isin(opcode, (0, 4, 5)) & (h[:, o + 4] == 0)
            & (h[:, o + 5] <= 8) & (h[:, o + 6] == 0) & (h[:, o + 8] == 0)
            & (h[:, o + 10] == 0))


def nbns_header(h: np.ndarray, size: np.ndarray) -> Mask:
    """A NetBIOS name service message: DNS's header with NetBIOS opcodes (query,
    registration, release, WACK, refresh) and a 32-letter encoded name."""
    opcode = (h[:, 2] >> 3) & 0xF
    return ((size >= 50) & np.isin(opcode, (0, 5, 6, 7, 8, 9)) & (h[:, 4] == 0)
            & (h[:, 6] == 0) & (h[:, 12] == 0x20))


def text_start(h: np.ndarray, size: np.ndarray) -> Mask:
    """A text protocol's first line: a verb (HTTP/RTSP/SIP request), a status line, a mail or
    FTP greeting or command."""
    status = (starts(h, size, b"HTTP/1.") | starts(h, size, b"RTSP/1.")
              | starts(h, size, b"SIP/2.0 "))
    greeting = starts(h, size, b"+OK") | starts(h, size, b"* OK") | starts(
        h, size, b"* PREAUTH") | (
        (size >= 4) & (h[:, 0] >= 49) & (h[:, 0] <= 53) & (h[:, 1] >= 48) & (h[:, 1] <= 57)
        & (h[:, 2] >= 48) & (h[:, 2] <= 57) & ((h[:, 3] == 32) | (h[:, 3] == 45)))
    tagged = (size >= 6) & (h[:, 0] >= 33) & (h[:, 0] <= 126) & _tag_then_word(h)
    return status | greeting | _letters(h, size, 3) | tagged


def _tag_then_word(h: np.ndarray) -> Mask:
    """IMAP's "<tag> COMMAND": a short token, a space, upper-case letters."""
    mask = np.zeros(h.shape[0], dtype=bool)
    for space in range(1, 8):
        ok = h[:, space] == 32
        for k in range(space):
            ok &= (h[:, k] > 32) & (h[:, k] < 127)
        for k in range(space + 1, space + 4):
            ok &= (h[:, k] >= 65) & (h[:, k] <= 90)
        mask |= ok
    return mask


def stun(h: np.ndarray, size: np.ndarray) -> Mask:
    length = _u16(h, 2)
    magic = _u32(h, 4) == 0x2112A442
    classic = np.isin(_u16(h, 0), (0x0001, 0x0101, 0x0111, 0x0002, 0x0102, 0x0112, 0x0003,
                                   0x0103, 0x0113))
    return (size >= 20) & (h[:, 0] & 0xC0 == 0) & (length % 4 == 0) & (
        length + 20 == size) & (magic | classic)


def framed_stun(h: np.ndarray, size: np.ndarray) -> Mask:
    """STUN over TCP behind an RFC 4571 two-byte length."""
    return (size >= 22) & (_u16(h, 0) + 2 == size) & stun(h[:, 2:], size - 2)


def wireguard(h: np.ndarray, size: np.ndarray) -> Mask:
    kind = h[:, 0]
    zero = (h[:, 1] == 0) & (h[:, 2] == 0) & (h[:, 3] == 0)
    sized = (((kind == 1) & (size == 148)) | ((kind == 2) & (size == 92))
             | ((kind == 3) & (size == 64)) | ((kind == 4) & (size >= 32) & (size % 16 == 0)))
    return zero & sized


def isakmp(h: np.ndarray, size: np.ndarray, offset: int = 0) -> Mask:
    o = offset
    length = _u32(h, o + 24)
    version = h[:, o + 17]
    spi = np.zeros(h.shape[0], dtype=bool)
    for k in range(8):
        spi |= h[:, o + k] != 0
    return ((size >= o + 28) & spi & np.isin(version, (0x10, 0x20))
            & (length == size - o) & np.isin(h[:, o + 18], (2, 4, 5, 6, 32, 33, 34, 35, 36, 37)))


def openvpn_reset(h: np.ndarray, size: np.ndarray) -> Mask:
    """An OpenVPN hard-reset opcode (client v1/v2/v3, server v1/v2) with key id 0."""
    return (size >= 14) & (h[:, 0] & 7 == 0) & np.isin(h[:, 0] >> 3, (1, 2, 7, 8, 10))


def openvpn_framed_reset(h: np.ndarray, size: np.ndarray) -> Mask:
    """The same behind OpenVPN's two-byte TCP length."""
    return (size >= 16) & (_u16(h, 0) + 2 <= size) & openvpn_reset(h[:, 2:], size - 2)


def rtp(h: np.ndarray, size: np.ndarray) -> Mask:
    pt = h[:, 1] & 0x7F
    return (size >= 12) & (h[:, 0] >> 6 == 2) & ~((pt >= 72) & (pt <= 76))


def rtcp(h: np.ndarray, size: np.ndarray) -> Mask:
    return ((size >= 8) & (h[:, 0] >> 6 == 2) & (h[:, 1] >= 200) & (h[:, 1] <= 204)
            & ((_u16(h, 2) + 1) * 4 <= size))


def nominate(x: Heads) -> dict[str, Mask]:
    """Family name → rows whose first bytes fit it (several families may nominate a row)."""
    tcp, udp = x.tcp, ~x.tcp
    return {
        "tls": tcp & (x.either(tls_hello) | x.either(tls_record)),
        "dtls": udp & x.either(dtls_hello),
        "quic": udp & (x.either(quic_long) | x.either(gquic_public)),
        "http2": tcp & x.either(lambda h, s: starts(h, s, b"PRI * HTTP/2.0")),
        "ssh": x.either(lambda h, s: starts(h, s, b"SSH-")),
        "text": x.either(text_start),
        "telnet": tcp & x.either(lambda h, s: (s >= 3) & (h[:, 0] == 0xFF) & (h[:, 1] >= 0xFB)),
        "smb": tcp & x.either(lambda h, s: (s >= 8) & (h[:, 0] == 0) & (
            (h[:, 4] == 0xFF) | (h[:, 4] == 0xFE) | (h[:, 4] == 0xFD)) & (h[:, 5] == ord("S"))
            & (h[:, 6] == ord("M")) & (h[:, 7] == ord("B"))),
        "nbss": tcp & x.either(lambda h, s: (s >= 4) & np.isin(h[:, 0], (0x81, 0x82, 0x83))
                               & (_u16(h, 2) + 4 == s)) & x.port(139),
        "rdp": (tcp & x.either(lambda h, s: (s >= 11) & (h[:, 0] == 3) & (h[:, 1] == 0)
                               & (_u16(h, 2) == s) & np.isin(h[:, 5], (0xE0, 0xD0))))
        | (udp & x.port(3389) & x.either(lambda h, s: s >= 16)),
        "mysql": tcp & x.either(lambda h, s: (s >= 40) & (h[:, 3] == 0) & (h[:, 4] == 10)
                                & ((h[:, 0].astype(np.int64) | h[:, 1].astype(np.int64) << 8
                                    | h[:, 2].astype(np.int64) << 16) + 4 == s)),
        "postgresql": tcp & x.either(lambda h, s: (s >= 8) & (_u32(h, 0) == s) & np.isin(
            _u32(h, 4), (0x00030000, 0x04D2162F, 0x04D21630))),
        "redis": tcp & x.either(lambda h, s: (starts(h, s, b"*") & (h[:, 1] >= 49)
                                              & (h[:, 1] <= 57) & np.isin(h[:, 2], (13, 48, 49,
                                                                                    50, 51)))
                                | starts(h, s, b"PING\r\n")),
        "mqtt": tcp & x.either(lambda h, s: (s >= 14) & (h[:, 0] == 0x10) & (
            ((h[:, 2] == 0) & (np.isin(h[:, 3], (4, 6))) & (h[:, 4] == ord("M")))
            | ((h[:, 3] == 0) & (np.isin(h[:, 4], (4, 6))) & (h[:, 5] == ord("M"))))),
        "ldap": x.either(lambda h, s: (s >= 7) & (h[:, 0] == 0x30)),
        "kerberos": (tcp & x.either(lambda h, s: (s >= 8) & (_u32(h, 0) + 4 == s) & np.isin(
            h[:, 4], (0x6A, 0x6B, 0x6C, 0x6D, 0x7E)))) | (udp & x.either(
                lambda h, s: (s >= 8) & np.isin(h[:, 0], (0x6A, 0x6B, 0x6C, 0x6D, 0x7E)))),
        "bittorrent": tcp & x.either(lambda h, s: starts(h, s, b"\x13BitTorrent protocol")),
        "modbus": tcp & x.either(lambda h, s: (s >= 8) & (h[:, 2] == 0) & (h[:, 3] == 0)
                                 & (_u16(h, 4) + 6 == s) & (h[:, 7] > 0)),
        "openvpn": (udp & x.either(openvpn_reset)) | (tcp & x.either(openvpn_framed_reset)),
        "wireguard": udp & x.either(wireguard),
        "ike": udp & (x.either(isakmp) | x.either(
            lambda h, s: starts(h, s, b"\x00\x00\x00\x00") & isakmp(h, s, 4))),
        "stun": (udp & x.either(stun)) | (tcp & (x.either(stun) | x.either(framed_stun))),
        "dns": (udp & x.either(dns_header)) | (tcp & x.either(
            lambda h, s: dns_header(h, s, 2))) | (udp & x.port(137) & x.either(nbns_header)),
        "nbdgm": udp & x.port(138) & x.either(lambda h, s: (s >= 14) & (h[:, 0] >= 0x10)
                                              & (h[:, 0] <= 0x16)),
        "dhcp": udp & x.either(lambda h, s: (s >= 240) & np.isin(h[:, 0], (1, 2))
                               & (h[:, 1] == 1) & (h[:, 2] == 6)),
        "dhcpv6": udp & x.port(546, 547) & x.either(lambda h, s: (s >= 4) & (h[:, 0] >= 1)
                                                    & (h[:, 0] <= 13)),
        "ntp": udp & x.port(123) & x.either(lambda h, s: (s >= 48) & ((h[:, 0] >> 3) & 7 >= 1)
                                            & ((h[:, 0] >> 3) & 7 <= 4) & (h[:, 0] & 7 >= 1)
                                            & (h[:, 0] & 7 <= 5)),
        "snmp": udp & x.either(lambda h, s: (s >= 10) & (h[:, 0] == 0x30)),
        "syslog": udp & x.port(514) & x.either(lambda h, s: starts(h, s, b"<") & (h[:, 1] >= 48)
                                               & (h[:, 1] <= 57)),
        "rtp": udp & x.either(rtp),
        "rtcp": udp & x.either(rtcp),
        "dropbox": udp & x.port(17500) & x.either(lambda h, s: starts(h, s, b'{"')),
        "spotify": udp & x.either(lambda h, s: starts(h, s, b"SpotUdp0")),
    }
