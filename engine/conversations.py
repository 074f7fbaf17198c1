"""From decoded packets to the conversation table: grouping, stream numbers, per-direction sums."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import FlowConfig
from .decode.exact import Quoted
from .key import ICMP4_ECHO_TYPES, ICMP6_ECHO_TYPES, Keys, canonical_keys, concat_keys, group_keys
from .packets import Kind, PacketTable
from .streams import split_conversations
from .table import ConversationTable

_MASK64 = (1 << 64) - 1


@dataclass
class QuotedLinks:
    """ICMP errors and the conversation each one quotes (-1 when it quotes none we saw)."""

    packets: np.ndarray  # int64 packet indices of the ICMP error packets
    conversations: np.ndarray  # int64 conversation ids


def _quoted_keys(quoted: list[tuple[int, Quoted]]) -> tuple[Keys, np.ndarray]:
    """Keys of the TCP/UDP headers quoted inside ICMP errors, shaped like packet keys."""
    refs = [(i, q) for i, q in quoted if q.kind in (Kind.TCP, Kind.UDP)]
    m = len(refs)
    t = PacketTable.empty(m)
    for row, (_, q) in enumerate(refs):
        t.kind[row], t.family[row] = q.kind, q.family
        t.src_hi[row], t.src_lo[row] = q.src >> 64, q.src & _MASK64
        t.dst_hi[row], t.dst_lo[row] = q.dst >> 64, q.dst & _MASK64
        t.sport[row], t.dport[row] = q.sport, q.dport
    where = np.array([i for i, _ in refs], dtype=np.int64)
    return canonical_keys(t, np.arange(m)), where


def build_conversations(p: PacketTable, quoted: list[tuple[int, Quoted]], config: FlowConfig,
                        kinds: tuple[Kind, ...] = (Kind.TCP, Kind.UDP, Kind.ICMP, Kind.ICMPV6,
                                                   Kind.IP),
                        ) -> tuple[ConversationTable, QuotedLinks]:
    """Group the IP packets of ``p`` into conversations; writes ``p.conv`` and ``p.direction``."""
    rows = np.flatnonzero(np.isin(p.kind, kinds))
    keys = canonical_keys(p, rows)
    qkeys, qwhere = _quoted_keys(quoted)
    gid_all, _ = group_keys(concat_keys([keys, qkeys]))
    gid, qgid = gid_all[: rows.size], gid_all[rows.size :]
    conv, starts = split_conversations(p, rows, gid, keys.from_hi, config.udp_timeout_ns,
                                       config.icmp_timeout_ns)
    nconv = starts.size
    first = rows[starts]  # packet index of each conversation's first packet
    conv_gid = gid[starts]

    # A = the sender of the first packet; direction 1 = sent by B
    a_is_hi = keys.from_hi[starts]
    direction = (keys.from_hi != a_is_hi[conv]).astype(np.uint8)

    cols = _sums(p, rows, conv, direction, nconv)
    lo = (keys.lo_hi[starts], keys.lo_lo[starts], keys.lo_port[starts])
    hi = (keys.hi_hi[starts], keys.hi_lo[starts], keys.hi_port[starts])
    a = [np.where(a_is_hi, h, low) for h, low in zip(hi, lo, strict=True)]
    b = [np.where(a_is_hi, low, h) for h, low in zip(hi, lo, strict=True)]
    kind = p.kind[first]
    has_ports = (kind == Kind.TCP) | (kind == Kind.UDP)
    itype = p.icmp_type[first]
    is_icmp = (kind == Kind.ICMP) | (kind == Kind.ICMPV6)
    echo = is_icmp & np.where(kind == Kind.ICMP, np.isin(itype, ICMP4_ECHO_TYPES),
                              np.isin(itype, ICMP6_ECHO_TYPES))

    stream, qconv = _streams(first, conv_gid, kind, qgid, qwhere, qkeys.family >> 16)
    table = ConversationTable(
        kind=kind, ip_proto=p.ip_proto[first], family=p.family[first], stream=stream,
        a_hi=a[0], a_lo=a[1], a_port=np.where(has_ports, a[2], -1).astype(np.int32),
        b_hi=b[0], b_lo=b[1], b_port=np.where(has_ports, b[2], -1).astype(np.int32),
        icmp_type=itype, icmp_code=p.icmp_code[first],
        icmp_id=np.where(echo, p.icmp_id[first].astype(np.int32), -1).astype(np.int32),
        quotes=np.full(nconv, -1, dtype=np.int64), first_packet=first, **cols)

    # quoted errors point at conversations; an ICMP conversation shows its first error's target
    link_conv = np.full(len(quoted), -1, dtype=np.int64)
    where_all = np.array([i for i, _ in quoted], dtype=np.int64)
    if qwhere.size:
        link_conv[np.searchsorted(where_all, qwhere)] = qconv
    icmp_rows = np.full(where_all.size, -1, dtype=np.int64)
    if where_all.size:
        pos = np.searchsorted(rows, where_all)
        ok = (pos < rows.size) & (rows[np.minimum(pos, rows.size - 1)] == where_all)
        icmp_rows[ok] = conv[pos[ok]]
        for c, target in zip(icmp_rows[::-1], link_conv[::-1], strict=True):
            if c >= 0:
                table.quotes[c] = target  # reversed: the first error of a conversation wins

    # final order: by start time, then by first packet (ids are positions in this order)
    order = np.lexsort((first, table.start_ns))
    new_id = np.empty(nconv, dtype=np.int64)
    new_id[order] = np.arange(nconv)
    table = _reorder(table, order, new_id)
    p.conv[rows] = new_id[conv]
    p.direction[rows] = direction
    if config.store_packet_indices:
        table.packet_index, table.packet_start = packet_lists(p, nconv)
    links = QuotedLinks(where_all, np.where(link_conv >= 0, new_id[np.maximum(link_conv, 0)], -1))
    return table, links


def packet_lists(p: PacketTable, nconv: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR packet lists from ``p.conv``: indices grouped by conversation, file order inside."""
    rows = np.flatnonzero(p.conv >= 0)
    conv = p.conv[rows]
    index = rows[np.argsort(conv, kind="stable")]
    start = np.zeros(nconv + 1, dtype=np.int64)
    np.cumsum(np.bincount(conv, minlength=nconv), out=start[1:])
    return index, start


def _sums(p: PacketTable, rows: np.ndarray, conv: np.ndarray, direction: np.ndarray,
          nconv: int) -> dict[str, np.ndarray]:
    """Per-direction packet, byte and payload sums, times and flags (bincount/reduceat)."""
    slot = conv * 2 + direction
    size = 2 * nconv
    packets = np.bincount(slot, minlength=size).reshape(nconv, 2)
    frame = np.bincount(slot, weights=p.origlen[rows], minlength=size).reshape(nconv, 2)
    payload = np.bincount(slot, weights=np.maximum(p.payload_len[rows], 0),
                          minlength=size).reshape(nconv, 2)
    order = np.argsort(conv, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(packets.sum(axis=1))[:-1]))
    ts = p.ts_ns[rows][order]
    idx = rows[order]
    flags = p.tcp_flags[rows][order]
    d = direction[order]
    return {
        "packets_ab": packets[:, 0].astype(np.int64), "packets_ba": packets[:, 1].astype(np.int64),
        "bytes_ab": frame[:, 0].astype(np.int64), "bytes_ba": frame[:, 1].astype(np.int64),
        "payload_ab": payload[:, 0].astype(np.int64),
        "payload_ba": payload[:, 1].astype(np.int64),
        "start_ns": np.minimum.reduceat(ts, bounds) if nconv else ts[:0],
        "end_ns": np.maximum.reduceat(ts, bounds) if nconv else ts[:0],
        "last_packet": np.maximum.reduceat(idx, bounds) if nconv else idx[:0],
        "flags_ab": (np.bitwise_or.reduceat(np.where(d == 0, flags, 0), bounds)
                     if nconv else flags[:0]).astype(np.uint16),
        "flags_ba": (np.bitwise_or.reduceat(np.where(d == 1, flags, 0), bounds)
                     if nconv else flags[:0]).astype(np.uint16),
    }


def _streams(first: np.ndarray, conv_gid: np.ndarray, kind: np.ndarray, qgid: np.ndarray,
             qwhere: np.ndarray, qkind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wireshark's tcp.stream / udp.stream numbers, and the conversation each quote refers to.

    A stream number is handed out when a conversation starts, or earlier, when an ICMP error
    quotes the tuple before any of its packets was seen (Wireshark creates the conversation then;
    a quoted tuple that never shows up still uses a number).
    """
    nconv = first.size
    stream = np.full(nconv, -1, dtype=np.int64)
    qconv = np.full(qgid.size, -1, dtype=np.int64)
    by_gid: dict[int, list[int]] = {}
    for c in np.argsort(first, kind="stable").tolist():
        by_gid.setdefault(int(conv_gid[c]), []).append(c)
    alloc_at = first.copy()
    extra_allocs: dict[int, list[int]] = {int(Kind.TCP): [], int(Kind.UDP): []}
    claimed: dict[int, tuple[int, int]] = {}  # quoted-only tuple gid -> (packet, kind)
    for q, (g, where) in enumerate(zip(qgid.tolist(), qwhere.tolist(), strict=True)):
        convs = by_gid.get(g)
        if convs:
            before = [c for c in convs if first[c] <= where]
            target = before[-1] if before else convs[0]
            qconv[q] = target
            if not before:
                alloc_at[convs[0]] = min(int(alloc_at[convs[0]]), where)
        elif g not in claimed:
            claimed[g] = (where, int(qkind[q]))
    for where, k in claimed.values():
        extra_allocs[k].append(where)
    for k in (Kind.TCP, Kind.UDP):
        mine = np.flatnonzero(kind == k)
        if k == Kind.UDP:  # an idle-timeout split is one udp.stream in Wireshark: number tuples
            mine = np.array([convs[0] for convs in by_gid.values() if kind[convs[0]] == k],
                            dtype=np.int64)
        points = np.concatenate((alloc_at[mine], np.array(extra_allocs[int(k)], dtype=np.int64)))
        tags = np.concatenate((mine, np.full(len(extra_allocs[int(k)]), -1, dtype=np.int64)))
        order = np.argsort(points, kind="stable")
        ranks = np.empty(order.size, dtype=np.int64)
        ranks[order] = np.arange(order.size)
        keep = tags >= 0
        stream[tags[keep]] = ranks[keep]
    for convs in by_gid.values():
        if len(convs) > 1 and kind[convs[0]] == Kind.UDP:
            stream[convs[1:]] = stream[convs[0]]
    return stream, qconv


def _reorder(t: ConversationTable, order: np.ndarray, new_id: np.ndarray) -> ConversationTable:
    cols = {name: getattr(t, name)[order] for name in t.__dataclass_fields__
            if name not in ("packet_index", "packet_start", "extra")}
    quotes = cols["quotes"]
    cols["quotes"] = np.where(quotes >= 0, new_id[np.maximum(quotes, 0)], -1)
    return ConversationTable(**cols)
