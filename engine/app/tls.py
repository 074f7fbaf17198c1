"""TLS and DTLS handshakes read from the bytes a conversation starts with.

Only what travels in clear is read: the ClientHello (SNI, ALPN, versions, the lists JA3/JA4 hash),
the ServerHello (chosen version, cipher, ALPN) and, up to TLS 1.2, the server's Certificate
message. Handshake messages may span records and segments (TCP: read from the stream in
sequence order), or DTLS fragments (reassembled by message sequence and fragment offset), or
QUIC CRYPTO frames (see :mod:`engine.app.quic`); this module takes the joined bytes.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field

from . import accel
from .wire import Cursor, Short, text

CLIENT_HELLO, SERVER_HELLO, HELLO_VERIFY_REQUEST, CERTIFICATE = 1, 2, 3, 11
HANDSHAKE = 22
#: record content types (change_cipher_spec, alert, handshake, application_data, heartbeat)
RECORD_TYPES = frozenset({20, 21, 22, 23, 24})

#: names as Wireshark and nDPI print them
VERSION_NAMES = {
    0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3",
    0xFEFF: "DTLSv1.0", 0xFEFD: "DTLSv1.2", 0xFEFC: "DTLSv1.3",
    0x0100: "DTLS 1.0 (OpenSSL pre 0.9.8f)",
}
#: the largest handshake message reassembled (certificate chains are a few kB; a header that
#: claims more is not believed)
MAX_MESSAGE = 1 << 17


def version_name(version: int) -> str:
    return VERSION_NAMES.get(version, f"0x{version:04x}")


@dataclass
class Handshake:
    """The handshake messages one side sent in clear, in order."""

    messages: list[tuple[int, bytes]] = field(default_factory=list)
    #: the bytes ended inside a message: more of the stream would give more
    wants_more: bool = False
    #: a record other than a handshake followed (ChangeCipherSpec, data): the flight is over
    ended: bool = False

    def first(self, kind: int) -> bytes | None:
        for t, body in self.messages:
            if t == kind:
                return body
        return None


def looks_like_tls_record(data: bytes) -> bool:
    """A TLS handshake record header (content type 22, major version 3) starts ``data``."""
    return len(data) >= 6 and data[0] == HANDSHAKE and data[1] == 3 and data[2] <= 4


def tls_handshake(data: bytes) -> Handshake:
    """Handshake messages from a TLS record stream (one direction, from its first byte).

    Stops at the first record that is not a handshake (ChangeCipherSpec, application data:
    what follows is encrypted) or that is not TLS at all.
    """
    fast = accel.FAST
    if fast is not None:
        return Handshake(*fast.tls_handshake(data))
    return py_tls_handshake(data)


def py_tls_handshake(data: bytes) -> Handshake:
    """:func:`tls_handshake` in Python (the reference for the compiled walk)."""
    out = Handshake()
    joined = bytearray()
    pos, size = 0, len(data)
    while pos + 5 <= size:
        ctype, major, length = data[pos], data[pos + 1], data[pos + 3] << 8 | data[pos + 4]
        if ctype not in RECORD_TYPES or major != 3 or length > (1 << 14) + 2048:
            break
        if ctype != HANDSHAKE:
            out.ended = True
            break
        end = pos + 5 + length
        joined += data[pos + 5 : min(end, size)]
        if end > size:
            out.wants_more = True
        pos = end
    else:
        if pos < size or not data:
            out.wants_more = True
    _split_messages(bytes(joined), out)
    return out


def crypto_handshake(data: bytes) -> Handshake:
    """Handshake messages from a QUIC CRYPTO stream (no record layer)."""
    fast = accel.FAST
    if fast is not None:
        return Handshake(*fast.split_handshake(data))
    return py_crypto_handshake(data)


def py_crypto_handshake(data: bytes) -> Handshake:
    """:func:`crypto_handshake` in Python (the reference for the compiled walk)."""
    out = Handshake()
    _split_messages(data, out)
    return out


def _split_messages(joined: bytes, out: Handshake) -> None:
    pos = 0
    while pos + 4 <= len(joined):
        kind = joined[pos]
        length = joined[pos + 1] << 16 | joined[pos + 2] << 8 | joined[pos + 3]
        if length > MAX_MESSAGE:
            return
        if pos + 4 + length > len(joined):
            out.wants_more = True
            return
        out.messages.append((kind, joined[pos + 4 : pos + 4 + length]))
        pos += 4 + length
    if pos < len(joined):
        out.wants_more = True


def looks_like_dtls_record(data: bytes) -> bool:
    """A DTLS handshake record of epoch 0 starts ``data``."""
    return (len(data) >= 25 and data[0] == HANDSHAKE and data[1] in (0xFE, 0x01)
            and data[3] == 0 and data[4] == 0)


def dtls_handshake(datagrams: list[bytes]) -> Handshake:
    """Handshake messages from one side's DTLS datagrams, fragments put back together by
    message sequence number (a message repeated after a HelloVerifyRequest counts once per
    sequence number)."""
    out = Handshake()
    pieces: dict[int, tuple[int, int, bytearray, bytearray]] = {}  # seq → kind, len, data, seen
    order: list[int] = []
    for datagram in datagrams:
        pos, size = 0, len(datagram)
        while pos + 13 <= size:
            ctype = datagram[pos]
            length = datagram[pos + 11] << 8 | datagram[pos + 12]
            epoch = datagram[pos + 3] << 8 | datagram[pos + 4]
            if ctype not in RECORD_TYPES or epoch != 0:
                break
            body = datagram[pos + 13 : pos + 13 + length]
            pos += 13 + length
            if ctype == HANDSHAKE:
                _add_fragments(body, pieces, order)
    for seq in order:
        kind, length, buf, seen = pieces[seq]
        if all(seen):
            out.messages.append((kind, bytes(buf)))
        else:
            out.wants_more = True
            break
    return out


def _add_fragments(body: bytes, pieces: dict[int, tuple[int, int, bytearray, bytearray]],
                   order: list[int]) -> None:
    pos = 0
    while pos + 12 <= len(body):
        kind = body[pos]
        length = body[pos + 1] << 16 | body[pos + 2] << 8 | body[pos + 3]
        seq = body[pos + 4] << 8 | body[pos + 5]
        frag_off = body[pos + 6] << 16 | body[pos + 7] << 8 | body[pos + 8]
        frag_len = body[pos + 9] << 16 | body[pos + 10] << 8 | body[pos + 11]
        frag = body[pos + 12 : pos + 12 + frag_len]
        pos += 12 + frag_len
        if length > MAX_MESSAGE or frag_off + len(frag) > length:
            return
        if seq not in pieces:
            pieces[seq] = (kind, length, bytearray(length), bytearray(length))
            order.append(seq)
        known_kind, known_len, buf, seen = pieces[seq]
        if known_kind != kind or known_len != length:
            continue
        buf[frag_off : frag_off + len(frag)] = frag
        seen[frag_off : frag_off + len(frag)] = b"\x01" * len(frag)


@dataclass
class ClientHello:
    version: int
    ciphers: list[int]
    extensions: list[int]  # extension types in the order sent
    sni: str | None = None
    alpn: list[str] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    point_formats: list[int] = field(default_factory=list)
    signature_algorithms: list[int] = field(default_factory=list)
    supported_versions: list[int] = field(default_factory=list)


@dataclass
class ServerHello:
    version: int
    cipher: int
    extensions: list[int]
    selected_version: int | None = None
    alpn: str | None = None

    @property
    def negotiated(self) -> int:
        """The version in use: supported_versions' choice (TLS 1.3), else the hello's."""
        return self.selected_version if self.selected_version is not None else self.version


def parse_client_hello(body: bytes, dtls: bool = False) -> ClientHello | None:
    """The ClientHello message body, or None when it is cut short or malformed."""
    fast = accel.FAST
    if fast is None:
        return py_parse_client_hello(body, dtls)
    return client_hello_of(fast.client_hello(body, dtls))


def client_hello_of(fields: tuple | None) -> ClientHello | None:
    """A ClientHello from the compiled walk's fields (text that is not valid UTF-8 comes as
    bytes, decoded here the lenient way)."""
    if fields is None:
        return None
    version, ciphers, extensions, sni, alpn, groups, points, sigs, versions = fields
    if isinstance(sni, bytes):
        sni = text(sni)
    return ClientHello(version, ciphers, extensions, sni,
                       [text(a) if isinstance(a, bytes) else a for a in alpn], groups, points,
                       sigs, versions)


def py_parse_client_hello(body: bytes, dtls: bool = False) -> ClientHello | None:
    """:func:`parse_client_hello` in Python (the reference for the compiled walk)."""
    try:
        size = len(body)
        pos = 34  # version, random
        pos += 1 + body[pos]  # session id
        if dtls:
            pos += 1 + body[pos]  # cookie
        count = body[pos] << 8 | body[pos + 1]
        pos += 2
        if pos + count > size:
            return None
        ciphers = list(_u16s(count // 2).unpack_from(body, pos)) if count >= 2 else []
        pos += count
        pos += 1 + body[pos]  # compression methods
        hello = ClientHello(body[0] << 8 | body[1], ciphers, [])
        if pos + 2 <= size:
            end = pos + 2 + (body[pos] << 8 | body[pos + 1])
            if end > size:
                return None
            pos += 2
            while pos < end:
                if pos + 4 > end:
                    return None
                kind = body[pos] << 8 | body[pos + 1]
                length = body[pos + 2] << 8 | body[pos + 3]
                pos += 4
                if pos + length > end:
                    return None
                hello.extensions.append(kind)
                if kind in _READ_EXTENSIONS and length:
                    _client_extension(hello, kind, body, pos, pos + length)
                pos += length
        elif pos > size:
            return None
        return hello
    except (Short, IndexError):
        return None


@functools.lru_cache(maxsize=256)
def _u16s(count: int) -> struct.Struct:
    """The format of ``count`` big-endian 16-bit values."""
    return struct.Struct(f">{count}H")


_READ_EXTENSIONS = frozenset({0, 10, 11, 13, 16, 43})


def _u16_vector(body: bytes, pos: int, end: int, size_bytes: int) -> list[int]:
    """A vector of 16-bit values with a 1- or 2-byte length at ``pos``."""
    length = body[pos] if size_bytes == 1 else body[pos] << 8 | body[pos + 1]
    pos += size_bytes
    if pos + length > end:
        raise Short
    return list(_u16s(length // 2).unpack_from(body, pos)) if length >= 2 else []


def _client_extension(hello: ClientHello, kind: int, body: bytes, pos: int, end: int) -> None:
    if kind == 0:  # server_name: a list of (type, name)
        stop = min(end, pos + 2 + (body[pos] << 8 | body[pos + 1]))
        pos += 2
        while pos + 3 <= stop:
            size = body[pos + 1] << 8 | body[pos + 2]
            if body[pos] == 0 and hello.sni is None:
                if pos + 3 + size > stop:
                    raise Short
                hello.sni = text(body[pos + 3 : pos + 3 + size])
            pos += 3 + size
    elif kind == 16:  # application_layer_protocol_negotiation: a list of names
        stop = min(end, pos + 2 + (body[pos] << 8 | body[pos + 1]))
        pos += 2
        while pos < stop:
            size = body[pos]
            if pos + 1 + size > stop:
                raise Short
            hello.alpn.append(text(body[pos + 1 : pos + 1 + size]))
            pos += 1 + size
    elif kind == 10:
        hello.groups = _u16_vector(body, pos, end, 2)
    elif kind == 11:
        if pos + 1 + body[pos] > end:
            raise Short
        hello.point_formats = list(body[pos + 1 : pos + 1 + body[pos]])
    elif kind == 13:
        hello.signature_algorithms = _u16_vector(body, pos, end, 2)
    elif kind == 43:
        hello.supported_versions = _u16_vector(body, pos, end, 1)


def parse_server_hello(body: bytes) -> ServerHello | None:
    """The ServerHello message body, or None when it is cut short or malformed."""
    fast = accel.FAST
    if fast is None:
        return py_parse_server_hello(body)
    return server_hello_of(fast.server_hello(body))


def server_hello_of(fields: tuple | None) -> ServerHello | None:
    """A ServerHello from the compiled walk's fields."""
    if fields is None:
        return None
    version, cipher, extensions, selected, alpn = fields
    if isinstance(alpn, bytes):  # not valid UTF-8 (the compiled walk decodes what is)
        alpn = text(alpn)
    return ServerHello(version, cipher, extensions, selected, alpn)


def py_parse_server_hello(body: bytes) -> ServerHello | None:
    """:func:`parse_server_hello` in Python (the reference for the compiled walk)."""
    try:
        c = Cursor(body)
        version = c.u16()
        c.skip(32)
        if version & 0xFF00 != 0x7F00:  # TLS 1.3 drafts had no session id echo
            c.skip(c.u8())
        cipher = c.u16()
        c.skip(1)  # compression method
        hello = ServerHello(version, cipher, [])
        if c.left >= 2:
            ext = c.sub(c.u16())
            while ext.left:
                kind = ext.u16()
                data = ext.sub(ext.u16())
                hello.extensions.append(kind)
                if kind == 43 and data.left >= 2:
                    hello.selected_version = data.u16()
                elif kind == 16 and data.left >= 3:
                    protos = data.sub(data.u16())
                    hello.alpn = text(protos.take(protos.u8()))
        return hello
    except Short:
        return None


def certificate_list(body: bytes) -> list[bytes]:
    """The DER certificates of a TLS ≤ 1.2 Certificate message (leaf first)."""
    fast = accel.FAST
    if fast is not None:
        certificates: list[bytes] = fast.certificate_list(body)
        return certificates
    return py_certificate_list(body)


def py_certificate_list(body: bytes) -> list[bytes]:
    """:func:`certificate_list` in Python (the reference for the compiled walk)."""
    out = []
    try:
        c = Cursor(body)
        chain = c.sub(c.u24())
        while chain.left:
            out.append(chain.take(chain.u24()))
    except Short:
        pass
    return out
