"""The application-layer analysis: run on every load, fills the application columns.

1. :func:`~engine.app.payload.openings` finds each direction's first payload packets;
2. signatures (:mod:`engine.app.detect`) test the first bytes of every conversation at once,
   in blocks, and nominate candidate protocols;
3. only nominated conversations go to a parser (:mod:`engine.app.inspect`), which confirms the
   protocol and reads the metadata;
4. whole-column passes add what needs more than the first packets: FTP data connections linked
   to their control connection, request and query counts, names from the capture's DNS, and a
   port guess for conversations with no payload to judge.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import FlowError
from ..follow import conversation_stream
from ..hooks import register_analysis
from ..packet_store import take
from ..packets import Kind
from ..protocols import format_address
from ..result import FlowResult
from . import dns
from .banners import ftp_channels
from .detect import Heads, nominate
from .fields import COUNT_FIELDS, empty_columns
from .inspect import (
    INSPECTORS,
    ONE_BY_ONE,
    ROWS_INSPECTORS,
    Context,
    Found,
    OneByOne,
    Verdict,
)
from .names import NameTable, endpoint_names
from .payload import (
    DirectionReader,
    NeedMore,
    Openings,
    PayloadReader,
    conversation_packets,
    openings,
)
from .services import TCP_PORTS, UDP_PORTS

#: conversations whose first bytes are tested at once (bounds the matrices' memory)
BLOCK = 1 << 15
#: payload packets per direction for the second look
DEEP = 24
_DNS_FAMILY = ("dns", "mdns", "llmnr")


@dataclass
class AppData:
    """What the analysis keeps beside the columns (``result.plugin_data["app"]``)."""

    names: NameTable = field(default_factory=NameTable)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the block runs. The analysis allocates some
    hundred thousand small containers (hello fields, records, one metadata dict per
    conversation) and keeps tens of thousands; the collector's passes over them cost about a
    seventh of the analysis and find nothing, since nothing here makes reference cycles."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def add_app_columns(result: FlowResult) -> None:
    """The analysis hook."""
    with _collector_paused():
        _add_app_columns(result)


def _add_app_columns(result: FlowResult) -> None:
    table = result.conversations
    columns = empty_columns(len(table))
    o = openings(result)
    reader = PayloadReader(result)
    found = _inspect(result, o, reader)
    _store(columns, o, found)
    _link_ftp_data(result, columns)
    _guess_by_port(result, columns)
    _count_requests(result, reader, columns)
    names = _dns_names(result, reader, columns)
    reader.release()
    _server_names(columns)
    named = endpoint_names(names, table)
    columns["a_name"], columns["b_name"] = named["a"], named["b"]
    table.extra.update(columns)
    result.plugin_data["app"] = AppData(names)


def _tcp_client(result: FlowResult, rows: np.ndarray) -> np.ndarray:
    """0 (A) or 1 (B) where the TCP analysis saw who opened the connection, else -1."""
    extra = result.conversations.extra
    out = np.full(rows.size, -1, dtype=np.int64)
    if "client" in extra and "partial" in extra:
        client, partial = extra["client"][rows], extra["partial"][rows]
        out[(client == "A") & (partial == 0)] = 0
        out[(client == "B") & (partial == 0)] = 1
    return out


def _inspect(result: FlowResult, o: Openings, reader: PayloadReader) -> list[Found | None]:
    """Signatures over every conversation in blocks, then the nominated parsers; a parser that
    needs more than the first packets gets a second, deeper look (one pass for all such)."""
    table = result.conversations
    rows = o.rows
    a_port = table.a_port[rows].astype(np.int64)
    b_port = table.b_port[rows].astype(np.int64)
    client = _tcp_client(result, rows)
    ctx = Context(o, DirectionReader(reader, o), a_port, b_port, client)
    found: list[Found | None] = [None] * len(o)
    deeper: dict[int, list[str]] = {}  # row → the nominated families still to try
    for start in range(0, len(o), BLOCK):
        stop = min(start + BLOCK, len(o))
        h0, s0 = reader.head_matrix(o.packets[start:stop, 0, 0])
        h1, s1 = reader.head_matrix(o.packets[start:stop, 1, 0])
        # signatures read byte columns: column-major matrices make each one contiguous (3×)
        heads = Heads((np.asfortranarray(h0), np.asfortranarray(h1)), (s0, s1),
                      o.tcp[start:stop], a_port[start:stop], b_port[start:stop])
        masks = nominate(heads)
        done = np.zeros(stop - start, dtype=bool)
        for family, inspector in INSPECTORS:
            nominated = np.flatnonzero(masks[family] & ~done).tolist()
            many = ROWS_INSPECTORS.get(family)
            verdicts: list[Verdict] = [ONE_BY_ONE] * len(nominated)
            if many is not None and nominated:
                verdicts = many(ctx, [start + k for k in nominated])
            for k, verdict in zip(nominated, verdicts, strict=True):
                if not isinstance(verdict, OneByOne):
                    hit = verdict
                else:
                    try:
                        hit = inspector(ctx, start + k)
                    except NeedMore:
                        deeper[start + k] = [f for f, _ in INSPECTORS if masks[f][k]]
                        done[k] = True
                        continue
                if hit is not None:
                    found[start + k] = hit
                    done[k] = True
    if deeper:
        _inspect_deeper(result, o, reader, deeper, found, client)
    return found


def _inspect_deeper(result: FlowResult, o: Openings, reader: PayloadReader,
                    deeper: dict[int, list[str]], found: list[Found | None],
                    client: np.ndarray) -> None:
    """The conversations whose first packets ended inside a message, with more packets."""
    table = result.conversations
    picked = np.array(sorted(deeper), dtype=np.int64)
    deep = openings(result, DEEP, o.rows[picked])
    where = np.searchsorted(deep.rows, o.rows[picked])
    ctx = Context(deep, DirectionReader(reader, deep, deep=True),
                  table.a_port[deep.rows].astype(np.int64),
                  table.b_port[deep.rows].astype(np.int64), client[picked])
    inspectors = dict(INSPECTORS)
    for i, j in zip(picked.tolist(), where.tolist(), strict=True):
        for family in deeper[i]:
            hit = inspectors[family](ctx, j)
            if hit is not None:
                found[i] = hit
                break


def _store(columns: dict[str, np.ndarray], o: Openings, found: list[Found | None]) -> None:
    rows = o.rows.tolist()
    hits = [(rows[i], f) for i, f in enumerate(found) if f is not None]
    values: dict[str, tuple[list[int], list[object]]] = {
        "service": ([row for row, f in hits if f.service], [f.service for _, f in hits
                                                             if f.service]),
        "service_by": ([row for row, _ in hits], ["content"] * len(hits)),
    }
    for row, f in hits:
        for name, value in f.meta.items():
            if value == "" or value is None:
                continue
            pair = values.get(name)
            if pair is None:
                pair = values[name] = ([], [])
            pair[0].append(row)
            pair[1].append(value)
    for name, (where, vals) in values.items():
        if name in columns and where:
            columns[name][np.array(where, dtype=np.int64)] = vals


def _guess_by_port(result: FlowResult, columns: dict[str, np.ndarray]) -> None:
    """Conversations without payload to judge (none, or under 4 bytes each way) get the
    service their port is known for, marked as a guess."""
    t = result.conversations
    ip = (t.kind == Kind.TCP) | (t.kind == Kind.UDP)
    empty = ip & (columns["service"] == "") & (t.payload_ab + t.payload_ba < 4 * np.maximum(
        t.packets_ab + t.packets_ba, 1))
    for kind, ports in ((Kind.TCP, TCP_PORTS), (Kind.UDP, UDP_PORTS)):
        rows = np.flatnonzero(empty & (t.kind == kind))
        if not rows.size:
            continue
        # the port listed first wins (either side): each port's rank in the list, per side
        rank = np.full((1 << 16) + 1, len(ports), dtype=np.int64)  # the last: no port
        rank[list(ports)] = np.arange(len(ports))
        a, b = t.a_port[rows].astype(np.int64), t.b_port[rows].astype(np.int64)
        outside = 1 << 16
        best = np.minimum(rank[np.where((a >= 0) & (a < outside), a, outside)],
                          rank[np.where((b >= 0) & (b < outside), b, outside)])
        names = np.array([*ports.values(), ""], dtype=np.dtypes.StringDType())
        hit = best < len(ports)
        if hit.any():
            columns["service"][rows[hit]] = names[best[hit]]
            columns["service_by"][rows[hit]] = "port"


def _link_ftp_data(result: FlowResult, columns: dict[str, np.ndarray]) -> None:
    """Data connections announced on FTP control connections (PASV, EPSV, PORT, EPRT) become
    ``ftp-data`` with ``parent`` = the control conversation."""
    t = result.conversations
    controls = np.flatnonzero((columns["service"] == "ftp") & (t.kind == Kind.TCP))
    tcp = t.kind == Kind.TCP
    for control in controls.tolist():
        try:
            with conversation_stream(result, control) as s:
                data = (s.data(0), s.data(1))
        except FlowError:
            continue
        client = max(int(_tcp_client(result, np.array([control]))[0]), 0)
        server = 1 - client
        server_address = format_address(int(t.family[control]),
                                        int(t.b_hi[control] if server else t.a_hi[control]),
                                        int(t.b_lo[control] if server else t.a_lo[control]))
        for channel in ftp_channels(data[client], data[server], server_address):
            key = _address_parts(channel.address)
            if key is None:
                continue
            family, hi, lo = key
            at = ((t.family == family) & tcp & (np.arange(len(t)) != control)
                  & (t.start_ns >= t.start_ns[control]) & (t.start_ns <= t.end_ns[control]))
            on_a = ((t.a_hi == np.uint64(hi)) & (t.a_lo == np.uint64(lo))
                    & (t.a_port == channel.port))
            on_b = ((t.b_hi == np.uint64(hi)) & (t.b_lo == np.uint64(lo))
                    & (t.b_port == channel.port))
            for row in np.flatnonzero(at & (on_a | on_b)).tolist():
                if columns["parent"][row] < 0:
                    columns["parent"][row] = control
                    columns["service"][row] = "ftp-data"
                    columns["service_by"][row] = "content"


def _address_parts(text: str) -> tuple[int, int, int] | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    value = int(ip)
    return ip.version, value >> 64, value & ((1 << 64) - 1)


_METHODS = (b"GET ", b"POST", b"HEAD", b"PUT ", b"DELE", b"OPTI", b"CONN", b"PATC", b"TRAC",
            b"PROP", b"MKCO", b"COPY", b"MOVE", b"LOCK", b"UNLO")


def _count_requests(result: FlowResult, reader: PayloadReader,
                    columns: dict[str, np.ndarray]) -> None:
    """HTTP requests (client segments starting with a method) and DNS queries (messages with
    the query bit clear), counted over every packet of those conversations."""
    p = result.inner_view()  # conversations inside UDP tunnels read their inner packets
    by_content = columns["service_by"] == "content"
    http = np.flatnonzero((columns["service"] == "http") & by_content)
    if http.size:
        packets = conversation_packets(result, http)
        packets = packets[take(p.payload_len, packets) > 0]
        head, size = reader.head_matrix(packets, 4)
        starts = np.zeros(packets.size, dtype=bool)
        for method in _METHODS:
            starts |= (size >= 4) & np.all(head == np.frombuffer(method, dtype=np.uint8), axis=1)
        counts = np.bincount(p.conv[packets[starts]], minlength=len(result.conversations))
        columns["http_requests"][http] = counts[http]
    dns_rows = np.flatnonzero(np.isin(columns["service"], (*_DNS_FAMILY, "nbns"))
                              & (result.conversations.kind == Kind.UDP) & by_content)
    if dns_rows.size:
        packets = conversation_packets(result, dns_rows)
        head, size = reader.head_matrix(packets, 4)
        query = (size >= 12) & (head[:, 2] & 0x80 == 0)
        counts = np.bincount(p.conv[packets[query]], minlength=len(result.conversations))
        columns["dns_queries"][dns_rows] = counts[dns_rows]


#: DNS packets one compiled pass of the names reads before the capture's pages are let go
PACKETS_PER_PASS = 1 << 12


def _dns_names(result: FlowResult, reader: PayloadReader,
               columns: dict[str, np.ndarray]) -> NameTable:
    """Every A/AAAA answer of the capture's DNS, mDNS and LLMNR responses."""
    names = NameTable()
    p = result.inner_view()  # conversations inside UDP tunnels read their inner packets
    rows = np.flatnonzero(np.isin(columns["service"], _DNS_FAMILY)
                          & (columns["service_by"] == "content"))
    if not rows.size:
        return names
    kinds = result.conversations.kind
    udp_rows = rows[kinds[rows] == Kind.UDP]
    # passes of whole conversations, about PACKETS_PER_PASS packets each
    batch = np.cumsum(result.conversations.packets[udp_rows]) // PACKETS_PER_PASS
    # compared once per conversation: indexing the text column per packet copies each string
    mdns = np.asarray(columns["service"] == "mdns", dtype=bool)
    for part in np.split(udp_rows, np.flatnonzero(np.diff(batch)) + 1):
        packets = conversation_packets(result, part)
        multicast = mdns[take(p.conv, packets)]
        buffer, starts, sizes = reader.spans(packets)
        when = take(p.ts_ns, packets).tolist()
        names.add_many((address, name, when[k]) for k, address, name in dns.answered_names(
            buffer, starts, sizes, multicast, responses_only=True))
        reader.release()  # the pages of the capture the compiled pass mapped
    for row in rows[kinds[rows] == Kind.TCP].tolist():
        try:
            with conversation_stream(result, row) as s:
                data = (s.data(0), s.data(1))
                when = int(s.chunks.ts_ns[0]) if len(s.chunks) else 0
        except FlowError:
            continue
        for side in data:
            for raw in dns.tcp_messages(side):
                msg = dns.parse_message(raw)
                if msg is not None and msg.response:
                    for address, name in dns.addresses_to_names(msg):
                        names.add(address, name, when)
    return names


def _server_names(columns: dict[str, np.ndarray]) -> None:
    """TLS SNI, else QUIC SNI, else HTTP Host, else the first DNS query name."""
    server = columns["server_name"]
    for source in ("dns_name", "http_host", "quic_sni", "tls_sni"):
        values = columns[source]
        rows = np.flatnonzero(values != "")
        server[rows] = values[rows]


register_analysis(add_app_columns)

__all__ = ["COUNT_FIELDS", "AppData", "add_app_columns"]
