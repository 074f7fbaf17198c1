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
import operator
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import FlowError
from ..hooks import Ahead, register_analysis
from ..packet_store import take
from ..packets import Kind
from ..protocols import format_address
from ..result import FlowResult
from ..tcp.events import openers
from . import dns
from .banners import ftp_channels
from .detect import Heads, nominate
from .fields import COUNT_FIELDS, FIELDS, empty_columns
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
#: conversations from which the analysis runs ahead in a forked process (engine.analyses)
AHEAD_CONVERSATIONS = 2048
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
    keep_findings(result, app_findings(result))


def app_findings(result: FlowResult) -> tuple[dict[str, np.ndarray], NameTable]:
    """The application columns and the names from the capture's DNS. Reads the packets only
    (who opened each TCP connection from its first SYN, not from the TCP summary), so it may
    run ahead of the other analyses, in a forked copy (:class:`engine.hooks.Ahead`)."""
    columns, sparse, names = _findings(result)
    return _unpacked(len(result.conversations), sparse, columns), names


#: a column as its known rows and their values (how most columns are found, and how they
#: travel between processes: a text column pickled whole goes value by value, and costs the
#: two processes about ten times more); from a forked copy the values come pickled on their
#: own (bytes), each column unpickled as it is filled in
Packed = tuple[np.ndarray, list[object] | bytes]
#: values written into a column per step: each step holds the interpreter for a few ms, and a
#: GUI thread gets its turn between steps (200,000 values at once held it for 30 ms a column)
FILL_STEP = 1 << 14
#: the columns that passes after the parsers read or write, kept whole while they run
_WHOLE = ("service", "service_by", "server_name", "parent", "http_requests", "dns_queries",
          "tls_sni", "quic_sni", "http_host", "dns_name", "a_name", "b_name")


def _findings(result: FlowResult) -> tuple[dict[str, np.ndarray], dict[str, Packed],
                                           NameTable]:
    """(the columns of :data:`_WHOLE`, every other column as its known rows and values, the
    names): the parsers' metadata goes straight from their records to the rows and values
    lists, never through a whole text column the passes do not need."""
    with _collector_paused():
        table = result.conversations
        columns = empty_columns(len(table), _WHOLE)
        opener = openers(result.inner_view(), table)
        o = openings(result)
        reader = PayloadReader(result)
        found = _inspect(result, o, reader, opener[o.rows])
        sparse = _store(columns, o, found)
        _link_ftp_data(result, columns, opener)
        _guess_by_port(result, columns)
        _count_requests(result, reader, columns)
        names = _dns_names(result, reader, columns)
        reader.release()
        _server_names(columns)
        named = endpoint_names(names, table)
        columns["a_name"], columns["b_name"] = named["a"], named["b"]
        return columns, sparse, names


def keep_findings(result: FlowResult, found: tuple[dict[str, np.ndarray], NameTable]) -> None:
    columns, names = found
    result.conversations.extra.update(columns)
    result.plugin_data["app"] = AppData(names)


def _packed_findings(result: FlowResult) -> tuple[dict[str, Packed], NameTable]:
    """:func:`app_findings` as the forked copy sends them back: each column as its known rows
    and their values as a list."""
    columns, packed, names = _findings(result)
    for name, column in columns.items():
        rows = np.flatnonzero(column != (-1 if name in COUNT_FIELDS else ""))
        packed[name] = (rows, column[rows].tolist())
    # each column's values pickled on their own: the parent unpickles the whole answer in one
    # call, holding the interpreter (130 ms for 200,000 conversations, a GUI's stall), and
    # unpickles a column at a time when it fills it in instead
    for name, (rows, values) in packed.items():
        packed[name] = (rows, pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL))
    return packed, names


def _keep_packed(result: FlowResult, found: tuple[dict[str, Packed], NameTable]) -> None:
    packed, names = found
    keep_findings(result, (_unpacked(len(result.conversations), packed), names))


def _unpacked(n: int, packed: dict[str, Packed],
              whole: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every application column for ``n`` rows: ``whole`` as they are, ``packed`` filled in."""
    columns = empty_columns(n)
    columns.update(whole or {})
    for name, (rows, values) in packed.items():
        if not rows.size:
            continue
        if isinstance(values, bytes):
            values = pickle.loads(values)  # (our own forked copy's answer)
        column = columns[name]
        for a in range(0, rows.size, FILL_STEP):
            column[rows[a : a + FILL_STEP]] = values[a : a + FILL_STEP]
    return columns


def _worth_running_ahead(result: FlowResult) -> bool:
    """Enough conversations for a forked process to pay. Big captures too: the child reads
    payloads with pread there (bounded memory), and on 5M packets it took 0.35–0.4 s off the
    analyses, which ran one after the other on one core while the TCP summary waited."""
    return len(result.conversations) >= AHEAD_CONVERSATIONS


def _inspect(result: FlowResult, o: Openings, reader: PayloadReader,
             client: np.ndarray) -> list[Found | None]:
    """Signatures over every conversation in blocks, then the nominated parsers; a parser that
    needs more than the first packets gets a second, deeper look (one pass for all such)."""
    table = result.conversations
    rows = o.rows
    a_port = table.a_port[rows].astype(np.int64)
    b_port = table.b_port[rows].astype(np.int64)
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


def _store(columns: dict[str, np.ndarray], o: Openings,
           found: list[Found | None]) -> dict[str, Packed]:
    """The parsers' findings: written into ``columns`` where a column is there, else returned
    as known rows and values. Records with the same fields (one parser's, mostly) are read a
    field at a time; values that say nothing ("" or None) are left out."""
    rows = o.rows.tolist()
    hits = [(rows[i], f) for i, f in enumerate(found) if f is not None]
    columns["service_by"][np.array([row for row, _ in hits], dtype=np.int64)] = "content"
    values: dict[str, tuple[list[int], list[object]]] = {
        "service": ([row for row, f in hits if f.service], [f.service for _, f in hits
                                                             if f.service])}
    alike: dict[tuple[str, ...], list[tuple[int, Found]]] = {}
    for hit in hits:
        alike.setdefault(tuple(hit[1].meta), []).append(hit)
    for names, group in alike.items():
        where = [row for row, _ in group]
        metas = [f.meta for _, f in group]
        for name in names:
            got = list(map(operator.itemgetter(name), metas))
            pair = values.setdefault(name, ([], []))
            if "" in got or None in got:
                known = [k for k, v in enumerate(got) if v != "" and v is not None]
                pair[0].extend(where[k] for k in known)
                pair[1].extend(got[k] for k in known)
            else:
                pair[0].extend(where)
                pair[1].extend(got)
    sparse: dict[str, Packed] = {}
    for name, (where, vals) in values.items():
        if name in columns:
            if where:
                columns[name][np.array(where, dtype=np.int64)] = vals
        elif name in FIELDS and where:
            sparse[name] = (np.array(where, dtype=np.int64), vals)
    return sparse


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


def _link_ftp_data(result: FlowResult, columns: dict[str, np.ndarray],
                   opener: np.ndarray) -> None:
    """Data connections announced on FTP control connections (PASV, EPSV, PORT, EPRT) become
    ``ftp-data`` with ``parent`` = the control conversation."""
    t = result.conversations
    controls = np.flatnonzero((columns["service"] == "ftp") & (t.kind == Kind.TCP))
    if not controls.size:
        return
    from ..follow import conversation_stream  # (7 ms of imports: only FTP control needs it)

    tcp = t.kind == Kind.TCP
    for control in controls.tolist():
        try:
            with conversation_stream(result, control) as s:
                data = (s.data(0), s.data(1))
        except FlowError:
            continue
        client = max(int(opener[control]), 0)
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
    tcp_rows = rows[kinds[rows] == Kind.TCP].tolist()
    if tcp_rows:
        from ..follow import conversation_stream  # (DNS over TCP: reassembled)
    for row in tcp_rows:
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


register_analysis(add_app_columns,
                  Ahead(_packed_findings, _keep_packed, _worth_running_ahead))

__all__ = ["COUNT_FIELDS", "AppData", "add_app_columns"]
