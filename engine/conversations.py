"""From decoded packets to the conversation table: grouping, stream numbers, per-direction sums.

One sort (in :mod:`engine.key`) puts the packets tuple by tuple in file order; conversations are
contiguous runs of that order, so every later step is a reduction over runs, not another sort.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .cancel import checkpoint, every
from .config import FlowConfig
from .decode.exact import Quoted
from .key import Endpoints, Tuples, group_tuples, icmp_echo, tuple_hash
from .packets import InnerPackets, Kind, PacketTable, Reason
from .protocols import ip_kinds, kinds_with_ports
from .sets import distinct
from .stream_numbers import conversation_starts
from .table import ConversationTable

_MASK64 = (1 << 64) - 1


@dataclass
class QuotedLinks:
    """ICMP errors and the conversation each one quotes (-1 when it quotes none we saw)."""

    packets: np.ndarray  # int64 packet indices of the ICMP error packets
    conversations: np.ndarray  # int64 conversation ids


def build_conversations(p: PacketTable, quoted: list[tuple[int, Quoted]], config: FlowConfig,
                        ) -> tuple[ConversationTable, QuotedLinks]:
    """Group the IP packets of ``p`` into conversations; writes ``p.conv`` and ``p.direction``.

    TCP headers Wireshark numbers but does not count (``Reason.TCP_HEADER``) are grouped and
    numbered with the rest, then left out: they may start a stream and use up its number, as in
    tshark, but no conversation counts them and one made of them only is not listed.
    """
    numbered = p.reason == Reason.TCP_HEADER
    rows = np.flatnonzero(np.isin(p.kind, ip_kinds()) | numbered)
    kinds = np.where(numbered[rows], np.uint8(Kind.TCP), p.kind[rows])
    ends = Endpoints.of(p, rows, kinds)
    tuples = group_tuples(ends)
    checkpoint()
    new = conversation_starts(p, rows, tuples, config.udp_timeout_ns, config.icmp_timeout_ns,
                              kinds)
    checkpoint()
    order, fwd = tuples.order, tuples.forward
    seg_pos = np.flatnonzero(new)  # where each conversation starts in `order`
    tuple_of = (np.cumsum(tuples.starts) - 1)[seg_pos]
    q_rows, q_tuple, q_where, q_kind = _match_quoted(quoted, ends, tuples)
    checkpoint()
    stream, q_conv = _streams(rows[order[seg_pos]], tuple_of, kinds[order[seg_pos]], q_tuple,
                              q_where, q_kind)
    checkpoint()
    counted = ~numbered[rows[order]]
    if not counted.all():
        order, fwd, new, stream, q_conv = _leave_out(counted, order, fwd, new, stream, q_conv)

    n = order.size
    seg = np.cumsum(new) - 1  # conversation (in tuple order) of each sorted position
    seg_pos = np.flatnonzero(new)
    nconv = seg_pos.size
    first = rows[order[seg_pos]]  # packet index of each conversation's first packet

    # A = the sender of the conversation's first packet; direction 1 = sent by B
    direction = (fwd != fwd[seg_pos][seg]).astype(np.uint8)
    prow = rows[order]
    cols = _sums(p, prow, seg_pos, direction, n)
    checkpoint()

    # the endpoints of each conversation, A first
    a_rows = order[seg_pos]
    kind = p.kind[first]
    has_ports = np.isin(kind, kinds_with_ports())
    itype = p.icmp_type[first]
    echo = icmp_echo(kind, itype)

    table = ConversationTable(
        kind=kind, ip_proto=p.ip_proto[first], family=p.family[first], stream=stream,
        a_hi=ends.src_hi[a_rows], a_lo=ends.src_lo[a_rows],
        a_port=np.where(has_ports, ends.sport[a_rows], -1).astype(np.int32),
        b_hi=ends.dst_hi[a_rows], b_lo=ends.dst_lo[a_rows],
        b_port=np.where(has_ports, ends.dport[a_rows], -1).astype(np.int32),
        icmp_type=itype, icmp_code=p.icmp_code[first],
        icmp_id=np.where(echo, p.icmp_id[first].astype(np.int32), -1).astype(np.int32),
        quotes=np.full(nconv, -1, dtype=np.int64), first_packet=first, **cols)

    # final ids: by start time, then by first packet
    by_start = np.lexsort((first, table.start_ns))
    new_id = np.empty(nconv, dtype=np.int64)
    new_id[by_start] = np.arange(nconv)
    conv_sorted = new_id[seg]
    p.conv[prow] = conv_sorted
    p.direction[prow] = direction

    checkpoint()
    links = _quote_links(quoted, q_rows, q_conv, p, new_id)
    table = _reorder(table, by_start)
    _icmp_targets(table, links, p)
    if config.store_packet_indices:
        table.packet_index, table.packet_start = _packet_lists(prow, seg_pos, new_id, n)
    return table, links


def _leave_out(counted: np.ndarray, order: np.ndarray, fwd: np.ndarray, new: np.ndarray,
               stream: np.ndarray, q_conv: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop the sorted positions that are not ``counted`` (TCP headers Wireshark numbers but
    leaves out of its table), and the conversations left with none: their stream numbers stay
    used. Returns order, forward, conversation starts, stream numbers and quote targets for the
    counted packets."""
    seg = (np.cumsum(new) - 1)[counted]
    alive = np.bincount(seg, minlength=stream.size) > 0
    renumber = np.cumsum(alive) - 1
    new = np.ones(seg.size, dtype=bool)
    new[1:] = seg[1:] != seg[:-1]
    q_conv = np.where((q_conv >= 0) & alive[np.maximum(q_conv, 0)],
                      renumber[np.maximum(q_conv, 0)], -1)
    return order[counted], fwd[counted], new, stream[alive], q_conv


def _sums(p: PacketTable, prow: np.ndarray, seg_pos: np.ndarray, direction: np.ndarray,
          n: int) -> dict[str, Any]:
    """Per-direction packet, byte and payload sums, times and flags, reduced over runs."""
    nconv = seg_pos.size
    if nconv == 0:
        z = np.zeros(0, dtype=np.int64)
        return {name: z for name in ("packets_ab", "packets_ba", "bytes_ab", "bytes_ba",
                                     "payload_ab", "payload_ba", "start_ns", "end_ns",
                                     "last_packet")} | {
            "flags_ab": np.zeros(0, np.uint16), "flags_ba": np.zeros(0, np.uint16)}
    b = direction.astype(bool)
    a = ~b
    frame = p.origlen[prow].astype(np.int64)
    payload = np.maximum(p.payload_len[prow], 0).astype(np.int64)
    ts = p.ts_ns[prow]
    flags = p.tcp_flags[prow]
    add = np.add.reduceat
    packets_ba = add(b.astype(np.int64), seg_pos)
    lengths = np.diff(np.append(seg_pos, n))
    bytes_ba = add(np.where(b, frame, 0), seg_pos)
    payload_ba = add(np.where(b, payload, 0), seg_pos)
    return {
        "packets_ab": lengths - packets_ba, "packets_ba": packets_ba,
        "bytes_ab": add(frame, seg_pos) - bytes_ba, "bytes_ba": bytes_ba,
        "payload_ab": add(payload, seg_pos) - payload_ba, "payload_ba": payload_ba,
        "start_ns": np.minimum.reduceat(ts, seg_pos),
        "end_ns": np.maximum.reduceat(ts, seg_pos),
        "last_packet": prow[np.append(seg_pos[1:], n) - 1],
        "flags_ab": np.bitwise_or.reduceat(np.where(a, flags, 0), seg_pos).astype(np.uint16),
        "flags_ba": np.bitwise_or.reduceat(np.where(b, flags, 0), seg_pos).astype(np.uint16),
    }


def _packet_lists(prow: np.ndarray, seg_pos: np.ndarray, new_id: np.ndarray, n: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """CSR packet lists by final id: the runs of ``prow`` rearranged, no sort of packets."""
    lengths = np.diff(np.append(seg_pos, n))
    by_id = np.argsort(new_id)  # conversation (in tuple order) of each final id
    lens = lengths[by_id]
    start = np.zeros(seg_pos.size + 1, dtype=np.int64)
    np.cumsum(lens, out=start[1:])
    within = np.arange(n, dtype=np.int64) - np.repeat(start[:-1], lens)
    return prow[np.repeat(seg_pos[by_id], lens) + within], start


def packet_lists(p: PacketTable, nconv: int, inner: InnerPackets | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """CSR packet lists from ``p.conv`` and the inner packets' (after tables were merged):
    indices grouped by conversation, file order inside."""
    rows = np.flatnonzero(p.conv >= 0)
    conv = p.conv[rows]
    if inner is not None and len(inner):  # a conversation's packets are all of one level
        tunnelled = inner.packets.conv >= 0
        rows = np.concatenate((rows, inner.frame[tunnelled]))
        conv = np.concatenate((conv, inner.packets.conv[tunnelled]))
    index = rows[np.argsort(conv, kind="stable")]
    start = np.zeros(nconv + 1, dtype=np.int64)
    np.cumsum(np.bincount(conv, minlength=nconv), out=start[1:])
    return index, start


# -- ICMP errors and stream numbers ---------------------------------------------------------
def _quoted_endpoints(refs: list[tuple[int, Quoted]]) -> Endpoints:
    m = len(refs)
    t = PacketTable.empty(m)
    for row in every(m):
        q = refs[row][1]
        t.kind[row], t.family[row] = q.kind, q.family
        t.src_hi[row], t.src_lo[row] = q.src >> 64, q.src & _MASK64
        t.dst_hi[row], t.dst_lo[row] = q.dst >> 64, q.dst & _MASK64
        t.sport[row], t.dport[row] = q.sport, q.dport
    return Endpoints.of(t, np.arange(m))


def _match_quoted(quoted: list[tuple[int, Quoted]], ends: Endpoints, tuples: Tuples
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each quoted TCP/UDP header: its index in ``quoted``, the tuple it names (tuples with
    no packets get numbers after the real ones), the quoting packet, and the kind."""
    picked = [k for k, (_, q) in enumerate(quoted) if q.kind in (Kind.TCP, Kind.UDP)]
    if not picked:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z
    refs = [quoted[k] for k in picked]
    q = _quoted_endpoints(refs)
    # each tuple's key is its first row; look the quoted keys up among them by hash
    heads = tuples.order[tuples.starts]
    head_hash = tuple_hash(_take(ends, heads))
    by_hash = np.argsort(head_hash)
    sorted_hash = head_hash[by_hash]
    q_hash = tuple_hash(q)
    q_tuple = np.full(len(refs), -1, dtype=np.int64)
    found = np.searchsorted(sorted_hash, q_hash).tolist()
    for k in every(len(found)):
        pos = found[k]
        while pos < sorted_hash.size and sorted_hash[pos] == q_hash[k]:
            cand = int(by_hash[pos])
            pos += 1
            r = int(heads[cand])
            fwd = (ends.src_hi[r], ends.src_lo[r], ends.sport[r], ends.dst_hi[r], ends.dst_lo[r],
                   ends.dport[r])
            mine = (q.src_hi[k], q.src_lo[k], q.sport[k], q.dst_hi[k], q.dst_lo[k], q.dport[k])
            if ends.what[r] == q.what[k] and (mine == fwd or mine == fwd[3:] + fwd[:3]):
                q_tuple[k] = cand
                break
    missing = np.flatnonzero(q_tuple < 0)
    if missing.size:  # quoted tuples that never show up: group them among themselves
        q_tuple[missing] = tuples.count + group_tuples(_take(q, missing)).ids()
    where = np.array([i for i, _ in refs], dtype=np.int64)
    kind = np.array([int(r.kind) for _, r in refs], dtype=np.int64)
    return np.array(picked, dtype=np.int64), q_tuple, where, kind


def _take(e: Endpoints, rows: np.ndarray) -> Endpoints:
    return Endpoints(*(getattr(e, f.name)[rows] for f in fields(Endpoints)))


def _streams(first: np.ndarray, tuple_of: np.ndarray, kind: np.ndarray, q_tuple: np.ndarray,
             q_where: np.ndarray, q_kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wireshark's tcp.stream / udp.stream numbers, and the conversation each quote refers to.

    A stream number is handed out when a conversation starts, or earlier, when an ICMP error
    quotes the tuple before any of its packets was seen (Wireshark creates the conversation then;
    a quoted tuple that never shows up still uses a number). UDP pieces cut by an idle timeout
    keep their tuple's number.
    """
    nconv = first.size
    stream = np.full(nconv, -1, dtype=np.int64)
    ntuples = int(max(tuple_of.max(initial=-1), q_tuple.max(initial=-1))) + 1
    big = np.iinfo(np.int64).max
    # the earliest conversation of every tuple (conversations are in tuple order, so the first
    # of each run of equal tuple numbers)
    head = np.full(ntuples, -1, dtype=np.int64)
    is_head = np.ones(nconv, dtype=bool)
    is_head[1:] = tuple_of[1:] != tuple_of[:-1]
    head[tuple_of[is_head]] = np.flatnonzero(is_head)
    # earliest quote of every tuple
    q_first = np.full(ntuples, big, dtype=np.int64)
    np.minimum.at(q_first, q_tuple, q_where)
    alloc = first.copy()
    early = is_head & (q_first[tuple_of] < first)
    alloc[early] = q_first[tuple_of[early]]

    for k in (Kind.TCP, Kind.UDP):
        checkpoint()
        mine = np.flatnonzero((kind == k) & (is_head if k == Kind.UDP else True))
        orphan = distinct(q_tuple[(q_kind == k) & (head[q_tuple] < 0)])
        points = np.concatenate((alloc[mine], q_first[orphan]))
        ranks = np.empty(points.size, dtype=np.int64)
        ranks[np.argsort(points, kind="stable")] = np.arange(points.size)
        stream[mine] = ranks[: mine.size]
    udp = kind == Kind.UDP
    stream[udp] = stream[head[tuple_of[udp]]]

    # a quote refers to the latest conversation of its tuple that started before it, or to the
    # tuple's first conversation when the quote came first
    q_conv = np.full(q_tuple.size, -1, dtype=np.int64)
    checkpoint()
    if q_tuple.size and nconv:
        span = big // (ntuples + 1)  # tuple-major keys with room for any packet index
        conv_key = tuple_of * span + first
        order = np.argsort(conv_key)
        pos = np.searchsorted(conv_key[order], q_tuple * span + q_where, side="right") - 1
        cand = order[np.maximum(pos, 0)]
        started = (pos >= 0) & (tuple_of[cand] == q_tuple)
        q_conv = np.where(started, cand, head[q_tuple])
    return stream, q_conv


def _quote_links(quoted: list[tuple[int, Quoted]], q_rows: np.ndarray, q_conv: np.ndarray,
                 p: PacketTable, new_id: np.ndarray) -> QuotedLinks:
    where = np.array([i for i, _ in quoted], dtype=np.int64)
    target = np.full(len(quoted), -1, dtype=np.int64)
    if q_rows.size:
        target[q_rows] = np.where(q_conv >= 0, new_id[np.maximum(q_conv, 0)], -1)
    return QuotedLinks(where, target)


def _icmp_targets(table: ConversationTable, links: QuotedLinks, p: PacketTable) -> None:
    """An ICMP error conversation shows the conversation its first error quotes."""
    if not links.packets.size:
        return
    conv = p.conv[links.packets][::-1].tolist()
    targets = links.conversations[::-1].tolist()
    for k in every(len(conv), 1 << 16):
        c, target = conv[k], targets[k]
        if c >= 0:
            table.quotes[c] = target  # reversed, so the first error of a conversation wins


def _reorder(t: ConversationTable, order: np.ndarray) -> ConversationTable:
    cols = {name: getattr(t, name)[order] for name in t.__dataclass_fields__
            if name not in ("packet_index", "packet_start", "extra")}
    return ConversationTable(**cols)
