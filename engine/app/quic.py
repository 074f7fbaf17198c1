"""QUIC: the version, and the TLS ClientHello/ServerHello inside the Initial packets.

Initial packets are encrypted with keys anyone can derive from the client's first Destination
Connection ID (RFC 9001 section 5.2; v2: RFC 9369). This module derives them, removes header
protection, decrypts with AES-128-GCM (the ``cryptography`` package: a maintained, constant-time
implementation, not hand-written AES), and joins the CRYPTO frames of several packets by offset,
since a post-quantum ClientHello no longer fits one packet. Google QUIC before T050 sends its
client hello ("CHLO") in clear; its SNI and user agent tags are read directly.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .wire import Short

if TYPE_CHECKING:  # cryptography is imported when a QUIC Initial is decrypted
    from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

V1, V2 = 0x00000001, 0x6B3343CF
#: the initial salts (RFC 9001, RFC 9369, the drafts, Google's TLS-based versions)
_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
_SALT_V2 = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")
_SALT_D29 = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")
_SALT_D23 = bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502")
_SALT_D22 = bytes.fromhex("7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a")
_SALT_Q050 = bytes.fromhex("504574efd066fe2f9d945cfcdbd3a7f0d3b56b45")
_SALT_T050 = bytes.fromhex("7ff579e5acd072915580304c43a2367c60488310")
_SALT_T051 = bytes.fromhex("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d")
#: largest CRYPTO offset believed while joining frames (a ClientHello is a few kB)
MAX_CRYPTO = 1 << 16


def _draft(version: int) -> int | None:
    """The IETF draft number of a draft version (0xff0000NN), or of Facebook's mvfst."""
    if version >> 8 == 0xFF0000:
        return version & 0xFF
    if version in (0xFACEB001, 0xFACEB002, 0xFACEB00E):
        return 22 if version == 0xFACEB001 else 27
    return None


def _salt(version: int) -> bytes | None:
    if version == V1:
        return _SALT_V1
    if version == V2:
        return _SALT_V2
    google = {0x51303530: _SALT_Q050, 0x54303530: _SALT_T050, 0x54303531: _SALT_T051}
    if version in google:
        return google[version]
    draft = _draft(version)
    if draft is None:
        return None
    if draft >= 29:
        return _SALT_D29
    if draft >= 23:
        return _SALT_D23
    if draft >= 21:
        return _SALT_D22
    return None


def version_name(version: int) -> str:
    """``v1``, ``v2``, ``draft-29``, ``Q046``, ``T051``, ``mvfst``, or the number in hex."""
    if version == V1:
        return "v1"
    if version == V2:
        return "v2"
    if version >> 8 == 0xFF0000:
        return f"draft-{version & 0xFF}"
    if _gquic_version(version):  # Q0xx, T0xx
        return struct.pack(">I", version).decode("ascii", "replace")
    if version >> 4 == 0xFACEB00:
        return "mvfst"
    return f"0x{version:08x}"


def known_version(version: int) -> bool:
    return (version in (V1, V2) or version >> 8 == 0xFF0000 or version >> 4 == 0xFACEB00
            or _gquic_version(version))


def _gquic_version(version: int) -> bool:
    """Google QUIC: 'Q' or 'T', '0', two digits."""
    b = struct.pack(">I", version)
    return b[0] in b"QT" and b[1:2] == b"0" and b[2:4].isdigit()


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label of TLS 1.3 with an empty context (RFC 8446 section 7.1)."""
    import hmac  # (5 ms of imports: only a capture with QUIC Initials derives keys)

    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + b"\x00"
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(secret, block + info + bytes([counter]), "sha256")
        out += block
        counter += 1
    return out[:length]


def initial_secrets(version: int, dcid: bytes, server: bool
                    ) -> tuple[bytes, bytes, bytes] | None:
    """(key, IV, header-protection key) of one side's Initial packets (RFC 9001 section 5.2;
    v2: RFC 9369 section 3.3.1), or None for a version without a known salt."""
    import hmac

    salt = _salt(version)
    if salt is None:
        return None
    initial = hmac.digest(salt, dcid, "sha256")
    secret = _expand_label(initial, b"server in" if server else b"client in", 32)
    prefix = b"quicv2 " if version == V2 else b"quic "
    return (_expand_label(secret, prefix + b"key", 16), _expand_label(secret, prefix + b"iv", 12),
            _expand_label(secret, prefix + b"hp", 16))


@functools.lru_cache(maxsize=4096)
def initial_keys(version: int, dcid: bytes, server: bool
                 ) -> tuple[AESGCM, bytes, Cipher[modes.ECB]] | None:
    """(AEAD, IV, header-protection cipher) protecting one side's Initial packets."""
    secrets = initial_secrets(version, dcid, server)
    if secrets is None:
        return None
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, iv, hp = secrets
    return AESGCM(key), iv, Cipher(algorithms.AES(hp), modes.ECB())


def _is_initial(first: int, version: int) -> bool:
    kind = (first >> 4) & 3
    return kind == (1 if version == V2 else 0)


@dataclass(slots=True)
class LongPacket:
    version: int
    dcid: bytes
    scid: bytes
    initial: bool
    start: int  # where the packet begins in the datagram
    pn_offset: int  # where the (protected) packet number starts in the datagram
    end: int  # end of this packet in the datagram


@functools.lru_cache(maxsize=256)
def _encrypted_version(version: int) -> bool:
    """A known version whose Initial packets are encrypted (not Google's clear-text hellos)."""
    return known_version(version) and not _clear_hello(version)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of a QUIC variable-length integer (RFC 9000 section 16) at
    ``pos``; :class:`Short` when the bytes end first."""
    if pos >= len(data):
        raise Short
    first = data[pos]
    if first < 0x40:
        return first, pos + 1
    size = 1 << (first >> 6)
    if pos + size > len(data):
        raise Short
    if size == 2:
        return (first & 0x3F) << 8 | data[pos + 1], pos + 2
    return int.from_bytes(data[pos : pos + size], "big") & ~(0xC0 << 8 * (size - 1)), pos + size


def long_packets(datagram: bytes) -> list[LongPacket]:
    """The long-header packets coalesced in one datagram (stops at anything else)."""
    out = []
    pos, size = 0, len(datagram)
    try:
        while pos + 7 <= size and datagram[pos] & 0x80:
            first = datagram[pos]
            version = int.from_bytes(datagram[pos + 1 : pos + 5], "big")
            if version == 0:
                break  # version negotiation
            at = pos + 6 + datagram[pos + 5]
            if at >= size:  # the DCID, then the SCID's length
                break
            dcid = datagram[pos + 6 : at]
            scid = datagram[at + 1 : at + 1 + datagram[at]]
            at += 1 + datagram[at]
            if at > size or len(dcid) > 20 or len(scid) > 20 or not _encrypted_version(version):
                break
            initial = _is_initial(first, version)
            kind = (first >> 4) & 3
            retry = kind == (0 if version == V2 else 3)
            if retry:
                break
            if initial:
                token, at = _varint(datagram, at)
                at += token
                if at > size:
                    break
            length, at = _varint(datagram, at)
            end = at + length
            if end > size:
                break
            out.append(LongPacket(version, dcid, scid, initial, pos, at, end))
            pos = end
    except Short:
        pass
    return out


#: what decrypting one side's Initial packets needs: the AEAD, its IV, and an AES-ECB
#: encryptor for header protection (it holds no state between blocks, so one serves all)
Keys = tuple["AESGCM", bytes, "CipherContext"]


def decrypt(datagram: bytes, packet: LongPacket, keys_dcid: bytes, server: bool,
            keys: dict[tuple[int, bytes, bool], Keys | None] | None = None) -> bytes | None:
    """The payload of one Initial packet, or None (unknown version, wrong keys, damage).
    ``keys`` keeps the keys of one reader's packets (a connection's Initial packets share
    them), so each is derived once."""
    key = (packet.version, keys_dcid, server)
    found: Keys | None
    if keys is not None and key in keys:
        found = keys[key]
    else:
        made = initial_keys(*key)
        found = None if made is None else (made[0], made[1], made[2].encryptor())
        if keys is not None:
            keys[key] = found
    if found is None:
        return None
    aead, iv, protection = found
    pn = packet.pn_offset
    sample = datagram[pn + 4 : pn + 20]
    if len(sample) < 16 or packet.end - pn < 20:
        return None
    mask = protection.update(sample)
    start = packet.start
    first = datagram[start] ^ (mask[0] & 0x0F)
    pn_len = (first & 3) + 1
    number = int.from_bytes(datagram[pn : pn + pn_len], "big") ^ int.from_bytes(
        mask[1 : 1 + pn_len], "big")
    header = bytes([first]) + datagram[start + 1 : pn] + number.to_bytes(pn_len, "big")
    nonce = (int.from_bytes(iv, "big") ^ number).to_bytes(12, "big")
    from cryptography.exceptions import InvalidTag

    try:
        return aead.decrypt(nonce, datagram[pn + pn_len : packet.end], header)
    except (InvalidTag, ValueError):
        return None


def crypto_frames(payload: bytes, version: int = V1) -> list[tuple[int, bytes]]:
    """(offset, data) of the CRYPTO frames of a decrypted Initial payload (Google's T05x
    versions number the CRYPTO frame 0x08)."""
    crypto = 0x08 if version >> 24 == ord("T") else 0x06
    out = []
    pos, size = 0, len(payload)
    try:
        while pos < size:
            if payload[pos] == 0:  # PADDING: skip the whole run at once
                pos = size - len(payload[pos:].lstrip(b"\x00"))
                continue
            kind, pos = _varint(payload, pos)
            if kind == 0x01:  # PING
                continue
            if kind in (0x02, 0x03):  # ACK
                _, pos = _varint(payload, pos)
                _, pos = _varint(payload, pos)
                ranges, pos = _varint(payload, pos)
                _, pos = _varint(payload, pos)
                for _ in range(min(ranges, 1 << 10)):
                    _, pos = _varint(payload, pos)
                    _, pos = _varint(payload, pos)
                if kind == 0x03:
                    for _ in range(3):
                        _, pos = _varint(payload, pos)
            elif kind == crypto:
                offset, pos = _varint(payload, pos)
                length, pos = _varint(payload, pos)
                if pos + length > size:
                    break
                out.append((offset, payload[pos : pos + length]))
                pos += length
            elif kind in (0x1C, 0x1D):  # CONNECTION_CLOSE
                _, pos = _varint(payload, pos)
                if kind == 0x1C:
                    _, pos = _varint(payload, pos)
                length, pos = _varint(payload, pos)
                pos += length
                if pos > size:
                    break
            else:
                break  # no other frame may appear in an Initial packet
    except Short:
        pass
    return out


@dataclass
class CryptoStream:
    """CRYPTO data joined by offset across packets."""

    pieces: dict[int, bytes] = field(default_factory=dict)

    def add(self, offset: int, data: bytes) -> None:
        if offset + len(data) <= MAX_CRYPTO and len(data) > len(self.pieces.get(offset, b"")):
            self.pieces[offset] = data

    def contiguous(self) -> bytes:
        """The bytes from offset 0 up to the first hole."""
        out = bytearray()
        for offset in sorted(self.pieces):
            data = self.pieces[offset]
            if offset > len(out):
                break
            out += data[len(out) - offset :]
        return bytes(out)


@dataclass
class QuicInitials:
    version: int | None = None
    client_crypto: bytes = b""
    server_crypto: bytes = b""
    #: the Destination Connection ID of the client's first Initial (the keys' seed)
    dcid: bytes = b""


def read_initials(client: list[bytes], server: list[bytes]) -> QuicInitials:
    """Decrypt the client's and the server's Initial packets among these datagrams."""
    out = QuicInitials()
    seeds: list[bytes] = []
    stream = CryptoStream()
    keys: dict[tuple[int, bytes, bool], Keys | None] = {}
    good: bytes | None = None  # the DCID whose keys decrypted the client's last packet
    for datagram in client:
        for packet in long_packets(datagram):
            if out.version is None:
                out.version = packet.version
            if not packet.initial:
                continue
            if packet.dcid not in seeds:
                seeds.append(packet.dcid)
            # the keys stay those of the DCID that last worked when the client moves to the
            # server's connection id (RFC 9001 section 5.2); after a Retry the packet's own
            # DCID seeds new ones
            payload = None
            for seed in _seeds(good, [packet.dcid]):
                payload = decrypt(datagram, packet, seed, False, keys)
                if payload is not None:
                    good = seed
                    break
            if payload is not None:
                for offset, data in crypto_frames(payload, packet.version):
                    stream.add(offset, data)
    out.client_crypto = stream.contiguous()
    out.dcid = seeds[0] if seeds else b""
    answer = CryptoStream()
    for datagram in server:
        for packet in long_packets(datagram):
            if not packet.initial:
                continue
            for seed in _seeds(good, seeds):
                payload = decrypt(datagram, packet, seed, True, keys)
                if payload is not None:
                    for offset, data in crypto_frames(payload, packet.version):
                        answer.add(offset, data)
                    break
    out.server_crypto = answer.contiguous()
    return out


def _seeds(good: bytes | None, others: list[bytes]) -> list[bytes]:
    """The DCIDs to derive keys from, in the order to try: the one that worked last first."""
    return others if good is None else [good, *(s for s in others if s != good)]


# -- Google QUIC ------------------------------------------------------------------------------
def _clear_hello(version: int) -> bool:
    """Google QUIC versions whose client hello travels in clear (Q0xx before Q050; T0xx and
    Q050 put theirs in encrypted Initial packets)."""
    return _gquic_version(version) and version >> 24 == ord("Q") and version < 0x51303530


def gquic_version(datagram: bytes) -> int | None:
    """The version of a clear-text Google QUIC client packet: Q046's long header, or the older
    public header (flags with the version bit, 8-byte connection id, then the version)."""
    if len(datagram) >= 5 and datagram[0] & 0x80:
        version = int.from_bytes(datagram[1:5], "big")
        return version if _clear_hello(version) else None
    if len(datagram) >= 13 and datagram[0] & 0x01 and datagram[0] & 0x08:
        version = int.from_bytes(datagram[9:13], "big")
        return version if _clear_hello(version) else None
    return None


def chlo_tags(datagram: bytes) -> dict[bytes, bytes]:
    """The tag/value pairs of a clear-text Google QUIC client hello (empty if there is none)."""
    at = datagram.find(b"CHLO")
    if at < 0:
        return {}
    pos = at + 4
    if pos + 4 > len(datagram):
        return {}
    count = datagram[pos] | datagram[pos + 1] << 8
    pos += 4
    if count > 64 or pos + 8 * count > len(datagram):
        return {}
    table = _CHLO_ENTRY.iter_unpack(datagram[pos : pos + 8 * count])
    base, start, out = pos + 8 * count, 0, {}
    for tag, end in table:
        if end < start or base + end > len(datagram):
            break
        out[tag] = datagram[base + start : base + end]
        start = end
    return out


#: one entry of a CHLO's tag table: the tag and where its value ends (little-endian)
_CHLO_ENTRY = struct.Struct("<4sI")
