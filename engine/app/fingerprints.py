"""TLS client and server fingerprints: JA3, JA3S (Salesforce) and JA4 (FoxIO).

JA3 and JA3S are MD5 hashes of decimal field lists with GREASE values left out, as Wireshark's
``tls.handshake.ja3``/``ja3s`` compute them. JA4 follows the FoxIO specification
(``technical_details/JA4.md``): ``t13d1516h2_8daaf6152771_b0da82dd1658``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from . import accel
from .tls import ClientHello, ServerHello
from .wire import GREASE

#: JA4's two-character TLS version
_JA4_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
                 0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}
_SNI, _ALPN = 0x0000, 0x0010


def py_dash(values: Sequence[int]) -> str:
    """Decimal values joined by "-", GREASE left out (JA3's lists; the reference for the
    compiled JA3 and JA3S)."""
    return "-".join([str(v) for v in values if v not in GREASE])


def ja3_string(hello: ClientHello) -> str:
    return _ja3_text(hello.version, hello.ciphers, hello.extensions, hello.groups,
                     hello.point_formats)


def _ja3_text(version: int, ciphers: Sequence[int], extensions: Sequence[int],
              groups: Sequence[int], point_formats: Sequence[int]) -> str:
    """The string JA3 hashes (one compiled call when the module is there)."""
    fast = accel.FAST
    if fast is not None:
        text: str | None = fast.ja3_text(version, ciphers, extensions, groups, point_formats)
        if text is not None:
            return text
    return py_ja3_text(version, ciphers, extensions, groups, point_formats)


def py_ja3_text(version: int, ciphers: Sequence[int], extensions: Sequence[int],
                groups: Sequence[int], point_formats: Sequence[int]) -> str:
    """:func:`_ja3_text` in Python (the reference for the compiled one)."""
    return ",".join((str(version), py_dash(ciphers), py_dash(extensions), py_dash(groups),
                     "-".join(str(v) for v in point_formats)))


def ja3(hello: ClientHello) -> str:
    return _ja3(hello.version, tuple(hello.ciphers), tuple(hello.extensions),
                tuple(hello.groups), tuple(hello.point_formats))


#: fingerprints are computed once per distinct input: a client's many connections share them
_CACHE = 4096


@functools.lru_cache(maxsize=_CACHE)
def _ja3(version: int, ciphers: tuple[int, ...], extensions: tuple[int, ...],
         groups: tuple[int, ...], point_formats: tuple[int, ...]) -> str:
    fast = accel.FAST
    if fast is not None:  # the text and its MD5 in one compiled call
        digest: str | None = fast.ja3_text(version, ciphers, extensions, groups, point_formats,
                                           True)
        if digest is not None:
            return digest
    return py_ja3(version, ciphers, extensions, groups, point_formats)


def py_ja3(version: int, ciphers: Sequence[int], extensions: Sequence[int],
           groups: Sequence[int], point_formats: Sequence[int]) -> str:
    """:func:`_ja3` in Python (the reference for the compiled one)."""
    raw = py_ja3_text(version, ciphers, extensions, groups, point_formats)
    return _md5(raw)


def ja3s(hello: ServerHello) -> str:
    return _ja3s(hello.version, hello.cipher, tuple(hello.extensions))


@functools.lru_cache(maxsize=_CACHE)
def _ja3s(version: int, cipher: int, extensions: tuple[int, ...]) -> str:
    fast = accel.FAST
    if fast is not None:
        digest: str | None = fast.ja3s_md5(version, cipher, extensions)
        if digest is not None:
            return digest
    return py_ja3s(version, cipher, extensions)


def py_ja3s(version: int, cipher: int, extensions: Sequence[int]) -> str:
    """:func:`_ja3s` in Python (the reference for the compiled one)."""
    raw = f"{version},{cipher},{py_dash(extensions)}"
    return _md5(raw)


def _hash12(raw: str) -> str:
    import hashlib

    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _md5(raw: str) -> str:
    """JA3's MD5 digest in hex. (hashlib, OpenSSL's module, is imported on the first call:
    4 ms of every start-up, and only captures with TLS need it.)"""
    import hashlib

    return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


def _alpn_chars(alpn: list[str]) -> str:
    """First and last character of the first ALPN value; "00" without one. A value that does
    not start and end with ASCII letters or digits gives the first and last hex digit of it."""
    if not alpn or not alpn[0]:
        return "00"
    value = alpn[0]
    first, last = value[0], value[-1]
    if first.isascii() and first.isalnum() and last.isascii() and last.isalnum():
        return first + last
    raw = value.encode("utf-8", "surrogateescape").hex()
    return raw[0] + raw[-1]


def py_hex_list(values: tuple[int, ...], sort: bool, drop_sni_alpn: bool) -> tuple[str, int]:
    """(the GREASE-free values as comma-separated 4-digit lower-case hex ("002f,0035"), sorted
    if asked, without SNI and ALPN if asked; how many GREASE-free values there are): JA4's
    lists, the reference for the compiled JA4."""
    kept = [v for v in values if v not in GREASE]
    ordered = sorted(kept) if sort else kept
    if drop_sni_alpn:
        ordered = [v for v in ordered if v != _SNI and v != _ALPN]
    return ",".join([f"{v:04x}" for v in ordered]), len(kept)


def py_ja4_hashes(ciphers: tuple[int, ...], extensions: tuple[int, ...],
                  signature_algorithms: tuple[int, ...]) -> tuple[int, int, str, str]:
    """(cipher count, extension count, cipher hash, extension hash) of JA4: the first 12 hex
    digits of the SHA-256 of the sorted cipher list, and of the sorted extensions without SNI
    and ALPN followed by the signature algorithms; twelve zeros for an empty list."""
    cipher_text, cipher_count = py_hex_list(ciphers, True, False)
    extension_text, extension_count = py_hex_list(extensions, True, True)
    sigs, sig_count = py_hex_list(signature_algorithms, False, False)
    cipher_hash = _hash12(cipher_text) if cipher_count else "0" * 12
    raw = f"{extension_text}_{sigs}" if sig_count else extension_text
    ext_hash = _hash12(raw) if extension_count else "0" * 12
    return cipher_count, extension_count, cipher_hash, ext_hash


def ja4(hello: ClientHello, transport: str) -> str:
    """JA4 of a ClientHello; ``transport`` is "t" (TCP), "q" (QUIC) or "d" (DTLS)."""
    return _ja4(transport, hello.version, tuple(hello.supported_versions), bool(hello.sni),
                tuple(hello.ciphers), tuple(hello.extensions), _alpn_chars(hello.alpn),
                tuple(hello.signature_algorithms))


@functools.lru_cache(maxsize=_CACHE)
def _ja4(transport: str, legacy: int, supported: tuple[int, ...], sni: bool,
         all_ciphers: tuple[int, ...], all_extensions: tuple[int, ...], alpn: str,
         signature_algorithms: tuple[int, ...]) -> str:
    fast = accel.FAST
    if fast is not None:  # the whole fingerprint in one compiled call
        whole: str | None = fast.ja4(transport, legacy, supported, sni, all_ciphers,
                                     all_extensions, alpn, signature_algorithms)
        if whole is not None:
            return whole
    return py_ja4(transport, legacy, supported, sni, all_ciphers, all_extensions, alpn,
                  signature_algorithms)


def py_ja4(transport: str, legacy: int, supported: Sequence[int], sni: bool,
           all_ciphers: tuple[int, ...], all_extensions: tuple[int, ...], alpn: str,
           signature_algorithms: tuple[int, ...]) -> str:
    """:func:`_ja4` in Python (the reference for the compiled one)."""
    versions = [v for v in supported if v not in GREASE]
    if versions and transport != "d":
        version = max(versions)
    elif versions:  # DTLS numbers count down: 1.3 = 0xfefc < 1.2 = 0xfefd
        version = min(versions)
    else:
        version = legacy
    cipher_count, extension_count, cipher_hash, ext_hash = py_ja4_hashes(
        all_ciphers, all_extensions, signature_algorithms)
    return (f"{transport}{_JA4_VERSIONS.get(version, '00')}{'d' if sni else 'i'}"
            f"{min(cipher_count, 99):02d}{min(extension_count, 99):02d}{alpn}_{cipher_hash}_"
            f"{ext_hash}")
