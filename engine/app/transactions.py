"""The whole application record of one conversation, computed when someone asks.

The load-time columns describe how a conversation starts; :func:`transactions` reads the
conversation itself (its first :data:`MAX_PACKETS` packets) and lists what happened: every
HTTP request and response, every DNS message, the TLS handshake with the certificate chain,
SSH identification strings, the FTP dialogue and the data connections it opened. The result is
plain data (sections of lines, each line optionally pointing at a packet or a conversation), so
the GUI's Application pane and ``flowscope-cli app`` show the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..capture import CancelFn
from ..columns import COLUMNS
from ..errors import ConversationNotFound, LoadCancelled
from ..result import FlowResult
from . import banners, dns, http, quic, tls
from .ciphers import cipher_name
from .fields import ORDER
from .fingerprints import ja3, ja3_string, ja3s, ja4
from .wire import is_grease
from .x509 import certificate_names

#: packets of a conversation read for its transaction list (the first ones)
MAX_PACKETS = 20_000
#: lines per section before the rest is summarised
MAX_LINES = 5_000


@dataclass
class Line:
    text: str
    packet: int | None = None  # packet index in the capture (a click selects it)
    conversation: int | None = None  # another conversation (a click jumps to it)


@dataclass
class Section:
    title: str
    lines: list[Line] = field(default_factory=list)

    def add(self, text: str, packet: int | None = None, conversation: int | None = None) -> None:
        if len(self.lines) < MAX_LINES:
            self.lines.append(Line(text, packet, conversation))
        elif len(self.lines) == MAX_LINES:
            self.lines.append(Line("… (more lines not shown)"))


@dataclass
class AppDetail:
    """One conversation's application record."""

    conversation: int
    name: str  # "TCP stream 3"
    service: str
    summary: dict[str, Any]  # the conversation's JSON record (its application fields)
    sections: list[Section] = field(default_factory=list)
    note: str = ""  # e.g. that only the first packets were read

    def text(self) -> str:
        """All of it as plain text (what Copy puts on the clipboard)."""
        out = [f"{self.name}: {self.service or 'service unknown'}"]
        if self.note:
            out.append(self.note)
        for section in self.sections:
            out.append("")
            out.append(section.title)
            out.extend("  " + line.text for line in section.lines)
        return "\n".join(out) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {"conversation": self.conversation, "name": self.name,
                "service": self.service or None,
                "summary": self.summary, "note": self.note or None,
                "sections": [{"title": s.title, "lines": [
                    {"text": ln.text, "packet": ln.packet, "conversation": ln.conversation}
                    for ln in s.lines]} for s in self.sections]}


def app_summary(result: FlowResult, conversation: int) -> dict[str, Any]:
    """The conversation's application fields as in its JSON record (``tls`` → {...}), those
    with a value only, plus ``a_name`` / ``b_name``."""
    extra = result.conversations.extra
    out: dict[str, Any] = {}
    for name in ORDER:
        spec = COLUMNS[name]
        if name not in extra:
            continue
        value = spec.convert(extra[name][conversation])
        if value is None:
            continue
        group, _, key = spec.key.rpartition(".")
        if group in ("a", "b"):
            out[name] = value  # an endpoint's field: a_name, b_name
        elif group:
            out.setdefault(group, {})[key] = value
        else:
            out[key] = value
    return out


def transactions(result: FlowResult, conversation: int, cancel: CancelFn | None = None
                 ) -> AppDetail:
    """The application record of ``conversation`` (a table row)."""
    # (the Follow machinery is 7 ms of imports that a load, which imports this module, never
    # needs)
    from ..follow import conversation_stream, has_stream, no_stream_reason

    if not has_stream(result, conversation):
        raise ConversationNotFound(no_stream_reason(result, conversation))
    summary = app_summary(result, conversation)
    service = summary.get("service") or ""
    detail = AppDetail(conversation, _stream_name(result, conversation), service, summary)
    t = result.conversations
    children = np.flatnonzero(t.extra.get("parent", np.zeros(0, dtype=np.int64)) == conversation)
    if children.size:
        links = Section("Connections it opened")
        for child in children.tolist():
            conv = t[child]
            links.add(f"{_stream_name(result, child)}: {conv.a[0]}:{conv.a[1]} ↔ "
                      f"{conv.b[0]}:{conv.b[1]} ({int(t.packets[child]):,} packets, "
                      f"{int(t.bytes[child]):,} bytes)", conversation=child)
        detail.sections.append(links)
    parent = summary.get("parent")
    if parent is not None:
        detail.sections.append(Section("Opened by", [Line(
            f"{_stream_name(result, parent)} ({t.extra['service'][parent]})",
            conversation=parent)]))
    total = int(result.conversations.packets[conversation])
    with conversation_stream(result, conversation, cancel=cancel,
                             first_packets=MAX_PACKETS if total > MAX_PACKETS else None) as s:
        view = _View(s, cancel)
        for build in _BUILDERS.get(service, ()):
            build(result, view, detail)
    if total > MAX_PACKETS:
        detail.note = f"Read the first {MAX_PACKETS:,} of {total:,} packets."
    return detail


class _View:
    """The conversation's bytes: both directions, and each datagram or chunk with its
    packet."""

    def __init__(self, stream: Any, cancel: CancelFn | None) -> None:
        self.data = (stream.data(0), stream.data(1))
        c = stream.chunks
        self.direction = c.direction.copy()
        self.offset = c.offset.copy()
        self.packet = c.packet.copy()
        self.chunks = [stream.chunk_bytes(k) for k in range(len(c))] if len(c) < 50_000 else []
        self.cancel = cancel

    def packet_at(self, d: int, offset: int) -> int | None:
        """The packet that carried byte ``offset`` of direction ``d``."""
        mine = np.flatnonzero(self.direction == d)
        if not mine.size:
            return None
        k = int(np.searchsorted(self.offset[mine], offset, side="right")) - 1
        return int(self.packet[mine[max(k, 0)]])

    def datagrams(self, d: int) -> list[tuple[int, bytes]]:
        return [(int(self.packet[k]), self.chunks[k]) for k in range(len(self.chunks))
                if self.direction[k] == d]

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise LoadCancelled("Cancelled.")


def _stream_name(result: FlowResult, conversation: int) -> str:
    """``TCP stream 3``: the number the user sees in the table, not the row id."""
    t = result.conversations
    proto = "UDP" if int(t.kind[conversation]) == 2 else "TCP"
    return f"{proto} stream {int(t.stream[conversation])}"


def _client(detail: AppDetail, result: FlowResult) -> int:
    extra = result.conversations.extra
    client = extra.get("client")
    if client is not None and str(client[detail.conversation]) == "B":
        return 1
    return 0


# -- builders -----------------------------------------------------------------------------------
def _tls_sections(result: FlowResult, view: _View, detail: AppDetail) -> None:
    data = view.data
    for d in (0, 1):
        start = _first_record(data[d])
        hs = tls.tls_handshake(data[d][start:]) if start >= 0 else tls.Handshake()
        _handshake_section(detail, hs, "t", view.packet_at(d, max(start, 0)), d)


def _first_record(data: bytes) -> int:
    if tls.looks_like_tls_record(data):
        return 0
    for kind in (1, 2):
        pos = data.find(b"\x16\x03")
        while pos >= 0:
            if pos + 6 <= len(data) and data[pos + 2] <= 4 and data[pos + 5] == kind:
                return pos
            pos = data.find(b"\x16\x03", pos + 1)
    return -1


def _handshake_section(detail: AppDetail, hs: tls.Handshake, transport: str,
                       packet: int | None, d: int) -> None:
    side = "from A" if d == 0 else "from B"
    body = hs.first(tls.CLIENT_HELLO)
    hello = tls.parse_client_hello(body, transport == "d") if body is not None else None
    if hello is not None:
        s = Section(f"ClientHello ({side})")
        s.add(f"version {tls.version_name(hello.version)}", packet)
        if hello.supported_versions:
            s.add("supported versions: " + ", ".join(
                tls.version_name(v) for v in hello.supported_versions if not is_grease(v)))
        s.add(f"server name (SNI): {hello.sni or '—'}")
        s.add(f"ALPN offered: {', '.join(hello.alpn) or '—'}")
        s.add(f"{len(hello.ciphers)} cipher suites: " + ", ".join(
            cipher_name(c) for c in hello.ciphers if not is_grease(c)))
        s.add(f"JA3 {ja3(hello)}  ({ja3_string(hello)})")
        s.add(f"JA4 {ja4(hello, transport)}")
        detail.sections.append(s)
    body = hs.first(tls.SERVER_HELLO)
    server = tls.parse_server_hello(body) if body is not None else None
    if server is not None:
        s = Section(f"ServerHello ({side})")
        s.add(f"version {tls.version_name(server.negotiated)}", packet)
        s.add(f"cipher {cipher_name(server.cipher)}")
        s.add(f"ALPN chosen: {server.alpn or '—'}")
        s.add(f"JA3S {ja3s(server)}")
        detail.sections.append(s)
    body = hs.first(tls.CERTIFICATE)
    if body is not None:
        s = Section(f"Certificate chain ({side})")
        for k, der in enumerate(tls.certificate_list(body)):
            names = certificate_names(der)
            if names is None:
                s.add(f"{k}: (not readable)")
                continue
            s.add(f"{k}: subject {names.subject}")
            s.add(f"   issuer  {names.issuer}")
            s.add(f"   valid   {names.not_before} … {names.not_after}")
        detail.sections.append(s)


def _dtls_sections(result: FlowResult, view: _View, detail: AppDetail) -> None:
    for d in (0, 1):
        grams = view.datagrams(d)
        hs = tls.dtls_handshake([g for _, g in grams if tls.looks_like_dtls_record(g)])
        _handshake_section(detail, hs, "d", grams[0][0] if grams else None, d)


def _quic_sections(result: FlowResult, view: _View, detail: AppDetail) -> None:
    client = _client(detail, result)
    grams = (view.datagrams(client)[:32], view.datagrams(1 - client)[:32])
    s = Section("QUIC")
    q = detail.summary.get("quic") or {}
    s.add(f"version {q.get('version') or '—'}", grams[0][0][0] if grams[0] else None)
    first = grams[0][0][1] if grams[0] else b""
    packets = quic.long_packets(first)
    if packets:
        s.add(f"destination connection id {packets[0].dcid.hex()}")
        s.add(f"source connection id {packets[0].scid.hex() or '—'}")
    if q.get("user_agent"):
        s.add(f"user agent {q['user_agent']}")
    detail.sections.append(s)
    initials = quic.read_initials([g for _, g in grams[0]], [g for _, g in grams[1]])
    _handshake_section(detail, tls.crypto_handshake(initials.client_crypto), "q",
                       grams[0][0][0] if grams[0] else None, client)
    _handshake_section(detail, tls.crypto_handshake(initials.server_crypto), "q",
                       grams[1][0][0] if grams[1] else None, 1 - client)


def _http_sections(result: FlowResult, view: _View, detail: AppDetail) -> None:
    client = _client(detail, result)
    requests = list(http.messages(view.data[client]))
    responses = list(http.messages(view.data[1 - client]))
    s = Section(f"HTTP: {len(requests)} requests, {len(responses)} responses")
    for k in range(max(len(requests), len(responses))):
        view.check()
        if k < len(requests):
            offset, head = requests[k]
            host = head.header("host") or ""
            ua = head.header("user-agent")
            s.add(f"C: {head.method} {host}{head.uri}" + (f"   [{ua}]" if ua else ""),
                  view.packet_at(client, offset))
        if k < len(responses):
            offset, head = responses[k]
            kind = head.header("content-type")
            size = head.header("content-length")
            s.add(f"S: {head.status} {head.reason}" + (f"   {kind}" if kind else "")
                  + (f"   {size} bytes" if size else ""), view.packet_at(1 - client, offset))
    detail.sections.append(s)


def _dns_sections(result: FlowResult, view: _View, detail: AppDetail) -> None:
    s = Section("DNS messages")
    messages: list[tuple[int | None, bytes]] = []
    if int(result.conversations.kind[detail.conversation]) == 1:  # TCP: length-prefixed
        for d in (0, 1):
            pos = 0
            for raw in dns.tcp_messages(view.data[d]):
                messages.append((view.packet_at(d, pos), raw))
                pos += 2 + len(raw)
    else:
        messages = [(int(view.packet[k]), view.chunks[k]) for k in range(len(view.chunks))]
    for packet, raw in messages:
        view.check()
        msg = dns.parse_message(raw)
        if msg is None:
            s.add("(not a DNS message)", packet)
            continue
        question = ", ".join(f"{dns.type_name(t)} {n}" for n, t in msg.questions)
        if not msg.response:
            s.add(f"query {msg.id:#06x}: {question}", packet)
            continue
        text = f"response {msg.id:#06x} {dns.rcode_name(msg.rcode)}: {question}"
        for label, records in (("", msg.answers), ("authority ", msg.authority),
                               ("additional ", msg.additional)):
            listed = ", ".join(f"{dns.type_name(r.type)} {r.data}" for r in records if r.data)
            if listed:
                text += f" | {label}{listed}" if label else f" → {listed}"
        s.add(text, packet)
    detail.sections.append(s)


def _ssh_sections(result: FlowResult, view: _View, detail: AppDetail) -> None:
    client = _client(detail, result)
    s = Section("SSH identification")
    for d, who in ((client, "client"), (1 - client, "server")):
        s.add(f"{who}: {banners.ssh_banner(view.data[d]) or '—'}", view.packet_at(d, 0))
    detail.sections.append(s)


def _dialogue_sections(result: FlowResult, view: _View, detail: AppDetail) -> None:
    """SMTP, POP3, IMAP, FTP: the commands and replies, in the order they were sent."""
    client = _client(detail, result)
    s = Section("Dialogue")
    events = []
    for d in (0, 1):
        pos = 0
        for raw in view.data[d].split(b"\n"):
            line = raw.rstrip(b"\r")
            if line:
                packet = view.packet_at(d, pos)
                events.append((packet if packet is not None else -1, d, pos,
                               line.decode("utf-8", "replace")))
            pos += len(raw) + 1
            if len(events) > MAX_LINES:
                break
    for packet, d, _, text in sorted(events):
        if tls.looks_like_tls_record(text.encode("latin-1", "replace")):
            break
        who = "C:" if d == client else "S:"
        s.add(f"{who} {_printable(text)}", packet if packet >= 0 else None)
    detail.sections.append(s)
    if detail.summary.get("tls"):
        _tls_sections(result, view, detail)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "·" for c in text)[:400]


_BUILDERS: dict[str, tuple[Callable[[FlowResult, _View, AppDetail], None], ...]] = {
    "tls": (_tls_sections,), "dtls": (_dtls_sections,), "quic": (_quic_sections,),
    "http": (_http_sections,), "ssdp": (_http_sections,),
    "dns": (_dns_sections,), "mdns": (_dns_sections,), "llmnr": (_dns_sections,),
    "nbns": (_dns_sections,), "ssh": (_ssh_sections,),
    "ftp": (_dialogue_sections,), "smtp": (_dialogue_sections,), "pop3": (_dialogue_sections,),
    "imap": (_dialogue_sections,), "mysql": (_tls_sections,), "postgresql": (_tls_sections,),
}
