"""The application-layer columns, declared once (table, column chooser, filter, JSON, CSV).

Text columns hold "" where nothing is known and become JSON null; list-valued fields (ALPN
offers, DNS answers) are comma-joined text in the table, so they sort and filter like any text,
and JSON lists in the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..columns import ColumnSpec, declare_columns

_IP = ("tcp", "udp")


def _text(value: Any) -> str | None:
    return str(value) or None


def _list(value: Any) -> list[str] | None:
    return str(value).split(",") if value else None


def _count(value: Any) -> int | None:
    return None if int(value) < 0 else int(value)


#: column name → (title, doc, JSON key, shown by default, list-valued)
TEXT_FIELDS: dict[str, tuple[str, str, str, bool, bool]] = {
    "service": ("Service", "The application protocol, identified from the bytes (README: "
                "Application layer)", "service", True, False),
    "service_by": ("Service by", "content (the bytes said so) or port (a guess: no or too "
                   "little payload)", "service_by", False, False),
    "server_name": ("Server name", "TLS SNI, else QUIC SNI, else HTTP Host, else the first "
                    "DNS query name", "server_name", True, False),
    "tls_version": ("TLS version", "Negotiated TLS/DTLS version (ServerHello)", "tls.version",
                    False, False),
    "tls_cipher": ("Cipher", "Cipher suite the server chose", "tls.cipher", False, False),
    "tls_alpn_offered": ("ALPN offered", "Application protocols the client offered",
                         "tls.alpn_offered", False, True),
    "tls_alpn": ("ALPN", "Application protocol the server chose (in clear up to TLS 1.2)",
                 "tls.alpn", False, False),
    "tls_sni": ("SNI", "Server name the TLS client asked for", "tls.sni", False, False),
    "tls_ja3": ("JA3", "JA3 fingerprint of the ClientHello", "tls.ja3", False, False),
    "tls_ja3s": ("JA3S", "JA3S fingerprint of the ServerHello", "tls.ja3s", False, False),
    "tls_ja4": ("JA4", "JA4 fingerprint of the ClientHello (FoxIO)", "tls.ja4", False, False),
    "tls_cert_subject": ("Certificate subject", "Server certificate subject (TLS ≤ 1.2)",
                         "tls.cert_subject", False, False),
    "tls_cert_issuer": ("Certificate issuer", "Server certificate issuer (TLS ≤ 1.2)",
                        "tls.cert_issuer", False, False),
    "tls_cert_not_before": ("Valid from", "Server certificate validity start (UTC)",
                            "tls.cert_not_before", False, False),
    "tls_cert_not_after": ("Valid until", "Server certificate validity end (UTC)",
                           "tls.cert_not_after", False, False),
    "quic_version": ("QUIC version", "v1, v2, draft-NN, Google Q0xx/T0xx", "quic.version",
                     False, False),
    "quic_sni": ("QUIC SNI", "Server name in the QUIC client hello", "quic.sni", False, False),
    "quic_alpn": ("QUIC ALPN", "Application protocols the QUIC client offered", "quic.alpn",
                  False, True),
    "quic_ja4": ("QUIC JA4", "JA4 fingerprint of the QUIC ClientHello", "quic.ja4", False,
                 False),
    "quic_user_agent": ("QUIC user agent", "Google QUIC's UAID tag", "quic.user_agent", False,
                        False),
    "http_method": ("HTTP method", "Method of the first request", "http.method", False, False),
    "http_host": ("HTTP host", "Host header of the first request", "http.host", False, False),
    "http_uri": ("HTTP URI", "URI of the first request", "http.uri", False, False),
    "http_user_agent": ("User agent", "User-Agent of the first request", "http.user_agent",
                        False, False),
    "http_content_type": ("Content type", "Content-Type of the first response",
                          "http.content_type", False, False),
    "dns_name": ("DNS query", "Name in the first question", "dns.name", False, False),
    "dns_type": ("DNS type", "Type of the first question (A, AAAA, HTTPS, …)", "dns.type",
                 False, False),
    "dns_rcode": ("DNS rcode", "Response code of the first answer", "dns.rcode", False, False),
    "dns_answers": ("DNS answers", "Addresses and names in the first answer", "dns.answers",
                    False, True),
    "ssh_client": ("SSH client", "Client's SSH identification string", "ssh.client", False,
                   False),
    "ssh_server": ("SSH server", "Server's SSH identification string", "ssh.server", False,
                   False),
    "banner": ("Banner", "Server greeting (SMTP, POP3, IMAP, FTP; MySQL version)", "banner",
               False, False),
    "ftp_user": ("FTP user", "User name of the first USER command", "ftp.user", False, False),
    "a_name": ("Name A", "Endpoint A's name from the capture's own DNS answers", "a.name", False,
               False),
    "b_name": ("Name B", "Endpoint B's name from the capture's own DNS answers", "b.name", False,
               False),
}
#: column name → (title, doc, JSON key)
COUNT_FIELDS: dict[str, tuple[str, str, str]] = {
    "parent": ("Parent", "The conversation that opened this one (an FTP data connection's "
               "control connection)", "parent"),
    "http_requests": ("HTTP requests", "Client segments that start an HTTP request",
                      "http.requests"),
    "http_status": ("HTTP status", "Status code of the first response", "http.status"),
    "dns_queries": ("DNS queries", "Query messages in the conversation", "dns.queries"),
}
#: the order the JSON groups appear in (the issue's sketch)
ORDER = ["service", "service_by", "server_name", "parent", "tls_version", "tls_cipher",
         "tls_alpn_offered", "tls_alpn", "tls_sni", "tls_ja3", "tls_ja3s", "tls_ja4",
         "tls_cert_subject", "tls_cert_issuer", "tls_cert_not_before", "tls_cert_not_after",
         "quic_version", "quic_sni", "quic_alpn", "quic_ja4", "quic_user_agent",
         "http_requests", "http_method", "http_host", "http_uri", "http_user_agent",
         "http_status", "http_content_type", "dns_queries", "dns_name", "dns_type",
         "dns_rcode", "dns_answers", "ssh_client", "ssh_server", "banner", "ftp_user",
         "a_name", "b_name"]
FIELDS = frozenset(ORDER)
#: aliases the filter accepts (``ja4 t13d…`` matches either JA4 column)
ALIASES = {"tls_ja4": ("ja4",), "quic_ja4": ("ja4",), "tls_ja3": ("ja3",),
           "tls_ja3s": ("ja3s",), "tls_sni": ("sni",), "service": ("app",),
           "server_name": ("name",), "a_name": ("name",), "b_name": ("name",)}
#: columns that describe every conversation (an ICMP or GRE endpoint has a name too)
_EVERY_PROTOCOL = frozenset({"a_name", "b_name"})


def _spec(name: str) -> ColumnSpec:
    if name in COUNT_FIELDS:
        title, doc, key = COUNT_FIELDS[name]
        return ColumnSpec(name, title, "count", doc, _IP, hidden=True, json_key=key,
                          to_json=_count)
    title, doc, key, shown, listed = TEXT_FIELDS[name]
    protocols = () if name in _EVERY_PROTOCOL else _IP
    return ColumnSpec(name, title, "text", doc, protocols, hidden=not shown, json_key=key,
                      to_json=_list if listed else _text, aliases=ALIASES.get(name, ()),
                      text_title=title if name in ("service", "server_name") else None)


declare_columns(*(_spec(name) for name in ORDER))


def empty_columns(n: int, names: Iterable[str] = ORDER) -> dict[str, np.ndarray]:
    """The application columns (every one, or ``names``) for ``n`` rows, all "not known"."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name in COUNT_FIELDS:
            out[name] = np.full(n, -1, dtype=np.int64)
        else:
            out[name] = np.empty(n, dtype=np.dtypes.StringDType())  # all ""
    return out
