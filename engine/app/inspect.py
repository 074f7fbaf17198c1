"""Per-protocol confirmation and metadata for the conversations a signature nominated.

Each inspector reads the real bytes of one conversation (through :class:`Context`) and either
confirms its protocol, returning a :class:`Found` with the metadata columns it filled, or
returns None ("not this protocol"). Inspectors never raise: every parser below them turns
short or hostile bytes into None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import accel, banners, dns, quic, tls
from .ciphers import cipher_name
from .fingerprints import ja3, ja3s, ja4
from .http import parse_head
from .payload import DirectionReader, Openings
from .x509 import certificate_names

Meta = dict[str, Any]


@dataclass
class Found:
    service: str
    meta: Meta = field(default_factory=dict)
    client: int | None = None  # 0: A is the client, 1: B


class OneByOne:
    """A many-rows inspector's answer for a row it leaves to the one-by-one inspector."""


ONE_BY_ONE = OneByOne()
Verdict = Found | None | OneByOne


class Context:
    """What inspectors may read about row ``i`` of the openings."""

    def __init__(self, openings: Openings, reader: DirectionReader, a_port: np.ndarray,
                 b_port: np.ndarray, tcp_client: np.ndarray) -> None:
        self.o = openings
        self.r = reader
        self.a_port = a_port.tolist()
        self.b_port = b_port.tolist()
        self.tcp_client = tcp_client.tolist()  # 0/1 for TCP rows whose opener is known, else -1
        self.tcp: list[bool] = openings.tcp.tolist()

    def ports(self, i: int) -> tuple[int, int]:
        return self.a_port[i], self.b_port[i]

    def port(self, i: int, *ports: int) -> bool:
        return self.a_port[i] in ports or self.b_port[i] in ports

    def client(self, i: int) -> int | None:
        c = self.tcp_client[i]
        return c if c >= 0 else None


# -- TLS, wherever it runs ---------------------------------------------------------------------
def tls_meta(client: tls.ClientHello | None, server: tls.ServerHello | None,
             certificates: list[bytes], transport: str) -> Meta:
    """The ``tls_*`` columns from what the handshake showed in clear."""
    meta: Meta = {}
    if client is not None:
        meta["tls_sni"] = client.sni or ""
        meta["tls_alpn_offered"] = ",".join(client.alpn)
        meta["tls_ja3"] = ja3(client)
        meta["tls_ja4"] = ja4(client, transport)
    if server is not None:
        meta["tls_version"] = tls.version_name(server.negotiated)
        meta["tls_cipher"] = cipher_name(server.cipher)
        meta["tls_alpn"] = server.alpn or ""
        meta["tls_ja3s"] = ja3s(server)
    if certificates:
        names = certificate_names(certificates[0])
        if names is not None:
            meta["tls_cert_subject"] = names.subject
            meta["tls_cert_issuer"] = names.issuer
            meta["tls_cert_not_before"] = names.not_before or ""
            meta["tls_cert_not_after"] = names.not_after or ""
    return meta


def _hellos(data: tuple[bytes, bytes], dtls: bool = False
            ) -> tuple[int | None, tls.ClientHello | None, tls.ServerHello | None, list[bytes],
                       bool]:
    """(client side, ClientHello, ServerHello, certificates, wants more bytes) of two
    handshakes."""
    fast = accel.FAST
    if fast is not None:
        side, client, server, certs, wants = fast.tls_hellos(data[0], data[1], dtls)
        return side, tls.client_hello_of(client), tls.server_hello_of(server), certs, wants
    return py_hellos(data, dtls)


def py_hellos(data: tuple[bytes, bytes], dtls: bool = False
              ) -> tuple[int | None, tls.ClientHello | None, tls.ServerHello | None, list[bytes],
                         bool]:
    """:func:`_hellos` in Python (the reference for the compiled walk)."""
    client_side, ch, sh, certs, wants = None, None, None, [], False
    for d in (0, 1):
        hs = tls.tls_handshake(data[d])
        body = hs.first(tls.CLIENT_HELLO)
        if body is not None and ch is None:
            ch, client_side = tls.parse_client_hello(body, dtls), d
        body = hs.first(tls.SERVER_HELLO)
        if body is not None and sh is None:
            sh = tls.parse_server_hello(body)
            cert = hs.first(tls.CERTIFICATE)
            if cert is not None:
                certs = tls.certificate_list(cert)
            elif sh is not None and sh.negotiated < 0x0304 and not _finished_flight(hs):
                wants = True
        if hs.wants_more:
            wants = True
    return client_side, ch, sh, certs, wants


def _finished_flight(hs: tls.Handshake) -> bool:
    """The server's first flight is over (ServerHelloDone, or the record stream moved on)."""
    return hs.ended or any(kind == 14 for kind, _ in hs.messages)


def _record_want(data: bytes) -> int:
    """Bytes needed for the first TLS record of ``data`` (its header says)."""
    return 5 + (data[3] << 8 | data[4]) if len(data) >= 5 else 0


#: conversations one compiled pass reads from the capture's memory map before its pages are
#: let go: every packet read maps its page and the kernel maps neighbours with it (up to
#: 64 kB), so one pass over all of a big capture's conversations would map most of the file
ROWS_PER_PASS = 1024


def inspect_tls_rows(ctx: Context, rows: list[int]) -> list[Verdict]:
    """:func:`inspect_tls` for many rows in compiled passes over their first packets (from
    the capture's memory map); a row whose hellos go on past those packets, or whose packets
    leave a hole, is left to the one-by-one inspector."""
    out: list[Verdict] = []
    for a in range(0, len(rows), ROWS_PER_PASS):
        out += _inspect_tls_pass(ctx, rows[a : a + ROWS_PER_PASS])
        ctx.r.reader.release()  # the pages of the capture the compiled pass mapped
    return out


def _inspect_tls_pass(ctx: Context, rows: list[int]) -> list[Verdict]:
    fast = accel.FAST
    spans = ctx.r.stream_spans(rows)
    if fast is None or spans is None:
        return [ONE_BY_ONE] * len(rows)
    out: list[Verdict] = []
    for verdict in fast.tls_streams(*spans):
        if verdict is None or verdict is True:
            out.append(verdict and Found("tls"))
        elif verdict is False:
            out.append(ONE_BY_ONE)
        else:
            side, ch, sh, certs = verdict
            out.append(Found("tls", tls_meta(tls.client_hello_of(ch), tls.server_hello_of(sh),
                                             certs, "t"), side))
    return out


def inspect_tls(ctx: Context, i: int) -> Found | None:
    r = ctx.r
    firsts = (r.first(i, 0), r.first(i, 1))
    if not any(tls.looks_like_tls_record(f) for f in firsts):
        if any(len(f) >= 5 and f[0] in (20, 21, 22, 23) and f[1] == 3 and f[2] <= 4
               for f in firsts):
            return Found("tls")  # a connection seen after its handshake
        return None
    data = (r.stream(i, 0, _record_want(firsts[0])), r.stream(i, 1, _record_want(firsts[1])))
    side, ch, sh, certs, wants = _hellos(data)
    if wants:  # a hello or the certificate chain goes on past these packets
        data = (r.everything(i, 0), r.everything(i, 1))
        side, ch, sh, certs, _ = _hellos(data)
    if ch is None and sh is None:
        return Found("tls")  # a hello record that never completes: TLS, nothing more known
    if side is None and sh is not None:
        side = 1 - _server_side(data)
    return Found("tls", tls_meta(ch, sh, certs, "t"), side)


def _server_side(data: tuple[bytes, bytes]) -> int:
    for d in (0, 1):
        if tls.tls_handshake(data[d]).first(tls.SERVER_HELLO) is not None:
            return d
    return 1


def starttls(data: tuple[bytes, bytes], client: int) -> Meta:
    """TLS after a clear-text preamble (STARTTLS, MySQL/PostgreSQL SSL requests): find each
    side's first handshake record after its text and read the hellos there."""
    starts = []
    for d, want in ((client, 1), (1 - client, 2)):
        pos = _find_hello(data[d], want)
        starts.append(data[d][pos:] if pos >= 0 else b"")
    client_data, server_data = starts
    ordered = (client_data, server_data) if client == 0 else (server_data, client_data)
    _, ch, sh, certs, _ = _hellos(ordered)
    if ch is None:
        return {}
    return tls_meta(ch, sh, certs, "t")


def _find_hello(data: bytes, kind: int) -> int:
    pos = data.find(b"\x16\x03")
    while pos >= 0 and pos + 6 <= len(data):
        if data[pos + 2] <= 4 and data[pos + 5] == kind:
            return pos
        pos = data.find(b"\x16\x03", pos + 1)
    return -1


def inspect_dtls(ctx: Context, i: int) -> Found | None:
    datagrams = (ctx.r.datagrams(i, 0), ctx.r.datagrams(i, 1))
    found = _dtls(datagrams)
    if found is None or found.meta.get("tls_version") is None:
        ctx.r.more_datagrams(i)
    return found


def _dtls(datagrams: tuple[list[bytes], list[bytes]]) -> Found | None:
    ch = sh = None
    side = None
    certs: list[bytes] = []
    for d in (0, 1):
        hs = tls.dtls_handshake([g for g in datagrams[d] if tls.looks_like_dtls_record(g)])
        body = hs.first(tls.CLIENT_HELLO)
        if body is not None and ch is None:
            ch, side = tls.parse_client_hello(body, dtls=True), d
        body = hs.first(tls.SERVER_HELLO)
        if body is not None and sh is None:
            sh = tls.parse_server_hello(body)
            cert = hs.first(tls.CERTIFICATE)
            certs = tls.certificate_list(cert) if cert is not None else []
    if ch is None and sh is None:
        return None
    return Found("dtls", tls_meta(ch, sh, certs, "d"), side)


# -- QUIC ---------------------------------------------------------------------------------------
def inspect_quic(ctx: Context, i: int) -> Found | None:
    r = ctx.r
    for d in (0, 1):
        first = r.first(i, d)
        version = quic.gquic_version(first)
        if version is not None:
            tags: dict[bytes, bytes] = {}
            for datagram in r.datagrams(i, d):
                tags = quic.chlo_tags(datagram)
                if tags:
                    break
            meta: Meta = {"quic_version": quic.version_name(version)}
            if b"SNI\x00" in tags:
                meta["quic_sni"] = tags[b"SNI\x00"].decode("utf-8", "replace")
            if b"UAID" in tags:
                meta["quic_user_agent"] = tags[b"UAID"].decode("utf-8", "replace")
            return Found("quic", meta, d)
    for d in (0, 1):
        packets = quic.long_packets(r.first(i, d))
        if packets and packets[0].initial:
            return _ietf_quic(ctx, i, d)
    return None


def _ietf_quic(ctx: Context, i: int, client: int) -> Found:
    r = ctx.r
    datagrams = (r.datagrams(i, client), r.datagrams(i, 1 - client))
    initials = quic.read_initials(*datagrams)
    hs = tls.crypto_handshake(initials.client_crypto)
    if hs.first(tls.CLIENT_HELLO) is None:
        r.more_datagrams(i)  # the CRYPTO frames go on in later packets
    meta: Meta = {}
    if initials.version is not None:
        meta["quic_version"] = quic.version_name(initials.version)
    body = hs.first(tls.CLIENT_HELLO)
    ch = tls.parse_client_hello(body) if body is not None else None
    body = tls.crypto_handshake(initials.server_crypto).first(tls.SERVER_HELLO)
    sh = tls.parse_server_hello(body) if body is not None else None
    meta.update(tls_meta(ch, sh, [], "q"))
    if ch is not None:
        meta["quic_sni"] = ch.sni or ""
        meta["quic_alpn"] = ",".join(ch.alpn)
        meta["quic_ja4"] = meta["tls_ja4"]
    return Found("quic", meta, client)


# -- HTTP, RTSP, SIP, SSDP and the mail/FTP dialogues -------------------------------------------
def _stream_head(ctx: Context, i: int, d: int, first: Any) -> Any:
    """The message head at the start of direction ``d``'s stream: the head already read from
    its first packet when that one is complete and the stream begins with that packet."""
    if first is not None and first.complete and ctx.o.contiguous[i, d]:
        return first
    data = ctx.r.stream(i, d)
    if b"\r\n\r\n" not in data[:65536]:
        data = ctx.r.stream(i, d, len(data) + 1)
    return parse_head(data)


def http_meta(request: Any, response: Any) -> Meta:
    meta: Meta = {}
    if request is not None:
        meta.update(http_method=request.method, http_uri=request.uri,
                    http_host=request.header("host") or "",
                    http_user_agent=request.header("user-agent") or "")
    if response is not None:
        meta["http_status"] = response.status
        meta["http_content_type"] = response.header("content-type") or ""
    return meta


def inspect_text(ctx: Context, i: int) -> Found | None:
    r = ctx.r
    firsts = (r.first(i, 0), r.first(i, 1))
    heads = [parse_head(f) for f in firsts]
    if any(h is not None for h in heads):
        return _message_protocol(ctx, i, heads)
    return _dialogue(ctx, i, firsts)


def _message_protocol(ctx: Context, i: int, heads: list[Any]) -> Found | None:
    request_side = next((d for d in (0, 1) if heads[d] is not None and heads[d].request), None)
    head = heads[request_side] if request_side is not None else next(h for h in heads if h)
    tcp = bool(ctx.o.tcp[i])
    if head.protocol == "SIP":
        return Found("sip", client=request_side)
    if head.protocol == "RTSP":
        return Found("rtsp", client=request_side)
    if not tcp:
        if head.request and head.method not in ("M-SEARCH", "NOTIFY") and not ctx.port(i, 1900):
            return None
        meta = http_meta(head, None) if head.request else http_meta(None, head)
        return Found("ssdp", meta, request_side)
    client = request_side if request_side is not None else ctx.client(i)
    request = response = None
    if client is not None:
        request = _stream_head(ctx, i, client, heads[client])
        response = _stream_head(ctx, i, 1 - client, heads[1 - client])
        request = request if request is not None and request.request else None
        response = response if response is not None and not response.request else None
    else:
        response = head
    return Found("http", http_meta(request, response), client)


_SMTP_COMMANDS = (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"STARTTLS")
_FTP_COMMANDS = (b"USER", b"AUTH", b"SYST", b"FEAT", b"OPTS", b"PASV", b"EPSV", b"PWD",
                 b"TYPE", b"PORT", b"LIST", b"RETR", b"STOR", b"CWD")
_POP_COMMANDS = (b"CAPA", b"APOP", b"STAT", b"UIDL", b"STLS", b"RETR", b"TOP ")
_TLS_UPGRADES = {"smtp": b"STARTTLS", "pop3": b"STLS", "imap": b"STARTTLS", "ftp": b"AUTH TLS"}


def _dialogue(ctx: Context, i: int, firsts: tuple[bytes, bytes]) -> Found | None:
    """SMTP, POP3, IMAP, FTP: the server greets (or, captured late, the client commands)."""
    client = ctx.client(i)
    if client is None:
        client = 0 if _command(firsts[0]) and not _reply(firsts[0]) else 1 if _reply(
            firsts[0]) else 0
    server = 1 - client
    greeting, command = firsts[server], firsts[client]
    service = None
    if greeting.startswith(b"+OK"):
        service = "pop3"
    elif greeting.startswith((b"* OK", b"* PREAUTH")):
        service = "imap"
    elif greeting[:3] == b"220" and greeting[3:4] in (b" ", b"-"):
        verb = command[:4].upper()
        if verb in _SMTP_COMMANDS or command[:8].upper() == b"STARTTLS":
            service = "smtp"
        elif verb in _FTP_COMMANDS:
            service = "ftp"
        else:
            line = greeting.upper()
            service = "ftp" if b"FTP" in line else "smtp" if b"SMTP" in line or b"MAIL" in line \
                else "ftp" if ctx.port(i, 21) else "smtp" if ctx.port(i, 25, 587) else None
    elif not greeting and command:
        verb = command[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            service = "smtp"
        elif verb in _POP_COMMANDS and not ctx.port(i, 21):
            service = "pop3"
        elif verb in _FTP_COMMANDS and ctx.port(i, 21):
            service = "ftp"
        elif _imap_command(command):
            service = "imap"
    if service is None:
        return None
    meta: Meta = {}
    banner = banners.first_line(greeting)
    if banner is not None:
        meta["banner"] = banner
    upgrade = _TLS_UPGRADES.get(service)
    if service == "ftp" or upgrade is not None:
        both = (ctx.r.everything(i, 0), ctx.r.everything(i, 1))
        if service == "ftp":
            user = banners.ftp_user(both[client])
            if user is not None:
                meta["ftp_user"] = user
        if upgrade is not None and upgrade in both[client].upper():
            meta.update(starttls(both, client))
    return Found(service, meta, client)


def _reply(data: bytes) -> bool:
    return data[:3].isdigit() or data.startswith((b"+OK", b"-ERR", b"* "))


def _command(data: bytes) -> bool:
    return data[:4].isalpha()


def _imap_command(data: bytes) -> bool:
    tag, _, rest = data.partition(b" ")
    return bool(tag) and rest[:4].upper() in (b"CAPA", b"LOGI", b"STAR", b"AUTH", b"SELE",
                                               b"NOOP", b"ID (", b"LIST")


# -- binary protocols ---------------------------------------------------------------------------
def inspect_ssh(ctx: Context, i: int) -> Found | None:
    r = ctx.r
    found = []
    for d in (0, 1):
        data = r.stream(i, d)
        found.append(banners.ssh_banner(data) or (banners.ssh_banner(r.stream(
            i, d, len(data) + 1)) if b"\n" not in data else None))
    if not any(found):
        return None
    client = ctx.client(i)
    if client is None:
        client = 0
    meta = {"ssh_client": found[client] or "", "ssh_server": found[1 - client] or ""}
    return Found("ssh", meta, client)


def inspect_mysql(ctx: Context, i: int) -> Found | None:
    for d in (0, 1):
        first = ctx.r.first(i, d)
        if len(first) >= 6 and first[3] == 0 and first[4] == 10:
            end = first.find(b"\x00", 5, 64)
            if end < 0:
                continue
            meta: Meta = {"banner": first[5:end].decode("utf-8", "replace")}
            request = ctx.r.first(i, 1 - d)
            # an SSLRequest: a 32-byte packet with the CLIENT_SSL capability (0x0800)
            if len(request) == 36 and request[4 + 1] & 0x08:
                meta.update(starttls((ctx.r.everything(i, 0), ctx.r.everything(i, 1)), 1 - d))
            return Found("mysql", meta, 1 - d)
    return None


def inspect_postgresql(ctx: Context, i: int) -> Found | None:
    for d in (0, 1):
        first = ctx.r.first(i, d)
        if len(first) >= 8 and int.from_bytes(first[:4], "big") == len(first):
            code = int.from_bytes(first[4:8], "big")
            if code in (0x00030000, 0x04D2162F, 0x04D21630):
                meta: Meta = {}
                if code == 0x04D2162F and ctx.r.first(i, 1 - d)[:1] == b"S":
                    meta.update(starttls((ctx.r.everything(i, 0), ctx.r.everything(i, 1)),
                                         d))
                return Found("postgresql", meta, d)
    return None


def _ber_length(data: bytes, pos: int) -> tuple[int, int] | None:
    """(length, where the contents start) of a BER length at ``pos``."""
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if not 1 <= count <= 4 or pos + 1 + count > len(data):
        return None
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


_LDAP_OPS = frozenset({0x60, 0x61, 0x42, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B,
                       0x6C, 0x6D, 0x4A, 0x6E, 0x6F, 0x50, 0x77, 0x78, 0x79, 0x73})


def _ldap_message(data: bytes) -> bool:
    """An LDAPMessage: SEQUENCE { messageID INTEGER, protocolOp [APPLICATION n] … }."""
    if len(data) < 7 or data[0] != 0x30:
        return False
    head = _ber_length(data, 1)
    if head is None or head[0] + head[1] > len(data) + 4096:
        return False
    pos = head[1]
    if pos + 2 > len(data) or data[pos] != 0x02 or not 1 <= data[pos + 1] <= 4:
        return False
    pos += 2 + data[pos + 1]
    return pos < len(data) and data[pos] in _LDAP_OPS


def inspect_ldap(ctx: Context, i: int) -> Found | None:
    for d in (0, 1):
        if _ldap_message(ctx.r.first(i, d)):
            return Found("ldap", client=ctx.client(i))
    return None


def _snmp_message(data: bytes) -> bool:
    """SEQUENCE { version INTEGER (0, 1 or 3), … }."""
    head = _ber_length(data, 1) if data[:1] == b"\x30" else None
    if head is None or head[0] + head[1] != len(data):
        return False
    pos = head[1]
    return data[pos : pos + 2] == b"\x02\x01" and pos + 2 < len(data) and data[pos + 2] in (0, 1, 3)


def inspect_snmp(ctx: Context, i: int) -> Found | None:
    if any(_snmp_message(ctx.r.first(i, d)) for d in (0, 1)):
        return Found("snmp")
    return None


def _kerberos_message(data: bytes) -> bool:
    if len(data) < 8 or data[0] not in (0x6A, 0x6B, 0x6C, 0x6D, 0x7E):
        return False
    head = _ber_length(data, 1)
    return head is not None and head[0] + head[1] == len(data) and data[head[1]] == 0x30


def inspect_kerberos(ctx: Context, i: int) -> Found | None:
    for d in (0, 1):
        first = ctx.r.first(i, d)
        if ctx.o.tcp[i]:
            first = ctx.r.stream(i, d, 4 + int.from_bytes(first[:4], "big"))[4:]
        if _kerberos_message(first) or (ctx.o.tcp[i] and first[:1] in (b"\x6a", b"\x6c")
                                        and _ber_length(first, 1) is not None):
            return Found("kerberos")
    return None


#: the DNS-format protocols by port, in the order a conversation's ports are judged
_DNS_PORTS = ((5353, "mdns"), (5355, "llmnr"), (137, "nbns"), (53, "dns"), (853, "dns"))


def _dns_service(a_port: int, b_port: int) -> str | None:
    for port, service in _DNS_PORTS:
        if port in (a_port, b_port):
            return service
    return None


def inspect_dns(ctx: Context, i: int) -> Found | None:
    """DNS and the protocols in its format; the port says which (or, on another port, a
    query and its answer agreeing on id and question)."""
    tcp = ctx.tcp[i]
    messages: list[dns.Summary | None] = []
    for d in (0, 1):
        data = ctx.r.first(i, d)
        if tcp:
            data = ctx.r.stream(i, d, 2 + int.from_bytes(data[:2], "big"))
            parts = dns.tcp_messages(data)
            data = parts[0] if parts else b""
        messages.append(dns.message_summary(data, len(data) > 2 and data[2] & 0x80 > 0)
                        if data else None)
    return _dns_found(ctx, i, messages[0], messages[1])


def inspect_dns_rows(ctx: Context, rows: list[int]) -> list[Verdict]:
    """:func:`inspect_dns` for many rows: the UDP ones' first messages read in compiled
    passes, the TCP ones left to the one-by-one inspector."""
    out: list[Verdict] = []
    for a in range(0, len(rows), ROWS_PER_PASS):
        part = rows[a : a + ROWS_PER_PASS]
        udp = [i for i in part if not ctx.tcp[i]]
        starts, sizes = ctx.r.first_spans(udp)
        buffer, starts, sizes = ctx.r.reader.spans_at(starts.ravel(), sizes.ravel())
        summaries = iter(dns.message_summaries(buffer, starts, sizes))
        ctx.r.reader.release()  # the pages of the capture the compiled pass mapped
        out += [ONE_BY_ONE if ctx.tcp[i] else _dns_found(ctx, i, next(summaries),
                                                         next(summaries)) for i in part]
    return out


def _dns_found(ctx: Context, i: int, q: dns.Summary | None, a: dns.Summary | None
               ) -> Found | None:
    """The DNS verdict on row ``i`` from the first message of each direction."""
    if not ((q is not None and (q[3] or q[4])) or (a is not None and (a[3] or a[4]))):
        return None
    service = _dns_service(ctx.a_port[i], ctx.b_port[i])
    if service is None:  # another port: a query and its answer must agree
        if not (q is not None and a is not None and q[0] == a[0] and q[1] != a[1] and q[3]
                and q[3] == a[3]):
            return None
        service = "dns"
    # the client sent the first query; the first response answers
    client = 0 if q is not None and not q[1] and q[3] else (
        1 if a is not None and not a[1] and a[3] else None)
    answer = q if q is not None and q[1] else a if a is not None and a[1] else None
    meta: Meta = {}
    asked = (q, a)[client] if client is not None else answer
    if asked is not None and asked[3]:
        name, qtype = asked[3][0]
        meta["dns_name"] = dns.netbios_name(name) if service == "nbns" else name
        meta["dns_type"] = dns.type_name(qtype)
    if answer is not None:
        meta["dns_rcode"] = dns.rcode_name(answer[2])
        meta["dns_answers"] = ",".join(answer[5])
    return Found(service, meta, client)


def inspect_dhcp(ctx: Context, i: int) -> Found | None:
    for d in (0, 1):
        first = ctx.r.first(i, d)
        if len(first) >= 240 and first[236:240] == b"\x63\x82\x53\x63":
            return Found("dhcp")
    return None


def inspect_rtp(ctx: Context, i: int) -> Found | None:
    """RTP: two packets of one direction with the same SSRC and close sequence numbers."""
    for d in (0, 1):
        grams = [g for g in ctx.r.datagrams(i, d) if len(g) >= 12 and g[0] >> 6 == 2]
        if len(grams) >= 2 and grams[0][8:12] == grams[1][8:12]:
            gap = (int.from_bytes(grams[1][2:4], "big") - int.from_bytes(grams[0][2:4], "big"))
            if 0 < gap % 65536 < 16 and grams[0][1] & 0x7F == grams[1][1] & 0x7F:
                return Found("rtp", client=d)
    return None


def inspect_stun(ctx: Context, i: int) -> Found | None:
    """STUN; a WebRTC flow that goes on to a DTLS handshake is DTLS (as nDPI says)."""
    if not ctx.o.tcp[i]:
        found = _dtls((ctx.r.datagrams(i, 0), ctx.r.datagrams(i, 1)))
        if found is None:
            ctx.r.more_datagrams(i)
        if found is not None:
            return found
    return Found("stun")


def inspect_dropbox(ctx: Context, i: int) -> Found | None:
    """Dropbox LAN sync discovery: a JSON broadcast naming the host."""
    return Found("dropbox") if b'"host_int"' in ctx.r.first(i, 0)[:512] else None


def inspect_openvpn(ctx: Context, i: int) -> Found | None:
    """OpenVPN: a hard reset, then packets of the same session id (the next packet of that
    side, or the peer's first, which acknowledges it)."""
    offset = 2 if ctx.o.tcp[i] else 0
    for d in (0, 1):
        grams = ctx.r.datagrams(i, d) if offset == 0 else _framed(ctx.r.stream(i, d))
        if len(grams) < 2 or len(grams[0]) < 10 or grams[0][0] >> 3 not in (1, 2, 7, 8, 10):
            continue
        session = grams[0][1:9]
        if grams[1][1:9] == session and grams[1][0] >> 3 in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10):
            return Found("openvpn", client=d if grams[0][0] >> 3 in (1, 7, 10) else 1 - d)
    return None


def _framed(stream: bytes) -> list[bytes]:
    """OpenVPN-over-TCP packets (each behind a two-byte length)."""
    out: list[bytes] = []
    pos = 0
    while pos + 2 <= len(stream) and len(out) < 4:
        size = int.from_bytes(stream[pos : pos + 2], "big")
        out.append(stream[pos + 2 : pos + 2 + size])
        pos += 2 + size
    return out


def inspect_rdp(ctx: Context, i: int) -> Found | None:
    """RDP: X.224 connection request/confirm in TPKT (TCP), or RDP-UDP on port 3389: a SYN
    (source ack 0xffffffff with the SYN flag) or, captured mid-flow, both sides keeping the
    top bytes of their sequence numbers over their first two datagrams."""
    if ctx.o.tcp[i]:
        return Found("rdp", client=ctx.client(i))
    grams = (ctx.r.datagrams(i, 0), ctx.r.datagrams(i, 1))
    for d in (0, 1):
        first = grams[d][0] if grams[d] else b""
        if first[:4] == b"\xff\xff\xff\xff" and len(first) >= 16 and first[7] & 1:
            return Found("rdp", client=d)
    if all(len(g) >= 2 and len(g[0]) >= 10 and g[0][:3] == g[1][:3] for g in grams):
        return Found("rdp")
    return None


def _confirmed(service: str) -> Callable[[Context, int], Found | None]:
    """Signatures strict enough on their own (magic strings, exact length fields)."""
    return lambda ctx, i: Found(service)


#: families whose inspector also reads many rows in one call, with the same verdicts (or
#: ONE_BY_ONE for a row it leaves to the inspector of :data:`INSPECTORS`)
ROWS_INSPECTORS: dict[str, Callable[[Context, list[int]], list[Verdict]]] = {
    "tls": inspect_tls_rows, "dns": inspect_dns_rows,
}

#: families in the order they are tried; a row takes the first that confirms
INSPECTORS: list[tuple[str, Callable[[Context, int], Found | None]]] = [
    ("tls", inspect_tls), ("quic", inspect_quic), ("dtls", inspect_dtls),
    ("ssh", inspect_ssh), ("http2", _confirmed("http2")), ("text", inspect_text),
    ("smb", _confirmed("smb")), ("nbss", _confirmed("nbss")), ("rdp", inspect_rdp),
    ("mysql", inspect_mysql), ("postgresql", inspect_postgresql), ("redis", _confirmed("redis")),
    ("mqtt", _confirmed("mqtt")), ("bittorrent", _confirmed("bittorrent")),
    ("modbus", _confirmed("modbus")), ("openvpn", inspect_openvpn),
    ("wireguard", _confirmed("wireguard")), ("ike", _confirmed("ike")),
    ("stun", inspect_stun), ("dns", inspect_dns), ("nbdgm", _confirmed("nbdgm")),
    ("dhcp", inspect_dhcp), ("dhcpv6", _confirmed("dhcpv6")), ("ntp", _confirmed("ntp")),
    ("snmp", inspect_snmp), ("syslog", _confirmed("syslog")), ("kerberos", inspect_kerberos),
    ("ldap", inspect_ldap), ("telnet", _confirmed("telnet")),
    ("dropbox", inspect_dropbox), ("spotify", _confirmed("spotify")),
    ("rtcp", _confirmed("rtcp")), ("rtp", inspect_rtp),
]
