"""The vectorised decoder: headers of every packet in a chunk at once, with numpy.

Each stage gathers a fixed-width window of header bytes for all packets that reached it (one fancy
index per stage, see :func:`engine.capture.chunk.gather`), reads fields as column slices, and
sends packets whose shape it does not handle to :mod:`engine.decode.exact`.
Bytes beyond a packet's captured length are never trusted: every stage checks ``caplen`` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from ..cancel import checkpoint, every
from ..capture import linktypes as lt
from ..capture.chunk import RecordChunk, gather
from ..packets import InnerPackets, Kind, PacketTable, Reason
from ..protocols import ported_ip_protocols
from ..sets import distinct
from .common_path import decode_common
from .exact import Fields, Fragment, Quoted, decode_packet
from .layers import (
    ETH_IPV4,
    ETH_IPV6,
    ETHERTYPE_LINKS,
    EXACT_LINKS,
    ICMP4_ERRORS,
    ICMP6_ERRORS,
    ICMP_HEADER,
    IPV4_HEADER,
    IPV6_EXTENSIONS,
    IPV6_HEADER,
    MAX_VLAN_TAGS,
    NULL_HEADER,
    NULL_IPV4,
    NULL_IPV6,
    NULL_LINKS,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    RAW_IP_LINKS,
    SHORT_HEADER,
    SLOW_ETHERTYPES,
    TCP_HEADER,
    TCP_STREAM_FIELDS,
    TUNNEL_PROTOCOLS,
    UDP_HEADER,
    VLAN_TYPES,
)
from .tunnels import HEAD as TUNNEL_HEAD
from .tunnels import INNER_ETHERNET, INNER_IP, inner_starts, tunnels_of


def _lut(size: int, values: object) -> np.ndarray:
    """A membership table: ``table[v]`` is True for the listed values (faster than ``isin``)."""
    table = np.zeros(size, dtype=bool)
    table[np.asarray(values, dtype=np.int64)] = True
    return table


VLAN = _lut(1 << 16, sorted(VLAN_TYPES))
SLOW_ETHERTYPE = _lut(1 << 16, sorted(SLOW_ETHERTYPES))
TUNNELS = _lut(256, sorted(TUNNEL_PROTOCOLS))
IPV6_EXT = _lut(256, sorted(IPV6_EXTENSIONS))
ICMP4_ERR = _lut(256, sorted(ICMP4_ERRORS))
ICMP6_ERR = _lut(256, sorted(ICMP6_ERRORS))
NULL_V4 = sorted(NULL_IPV4)
NULL_V6 = sorted(NULL_IPV6)


@dataclass
class SideInfo:
    """What the chunk decode found that needs the whole capture to resolve, and the packets
    inside UDP tunnels."""

    fragments: list[tuple[int, Fragment]] = field(default_factory=list)  # (packet index, …)
    quoted: list[tuple[int, Quoted]] = field(default_factory=list)
    inner: list[InnerPackets] = field(default_factory=list)
    #: ICMP errors inside UDP tunnels: (packet index of the frame, what they quote)
    inner_quoted: list[tuple[int, Quoted]] = field(default_factory=list)

    def extend(self, other: SideInfo) -> None:
        """Add what a later chunk found."""
        self.fragments += other.fragments
        self.quoted += other.quoted
        self.inner += other.inner
        self.inner_quoted += other.inner_quoted


def _u16(rows: np.ndarray, col: int) -> np.ndarray:
    return (rows[:, col].astype(np.uint16) << 8) | rows[:, col + 1]


def _u32(rows: np.ndarray, col: int) -> np.ndarray:
    return np.ascontiguousarray(rows[:, col : col + 4]).view(">u4")[:, 0].astype(np.uint32)


def _u64(rows: np.ndarray, col: int) -> np.ndarray:
    return np.ascontiguousarray(rows[:, col : col + 8]).view(">u8")[:, 0].astype(np.uint64)


def _at(rows: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Per-row byte at a per-row column."""
    return rows[np.arange(rows.shape[0]), col]


def decode_chunk(chunk: RecordChunk, linktypes: np.ndarray, first_index: int,
                 foreign: frozenset[int] = frozenset(), out: PacketTable | None = None
                 ) -> tuple[PacketTable, SideInfo]:
    """Decode every packet of ``chunk``; ``linktypes[iface]`` gives each packet's link type.

    Writes into ``out`` (cleared rows, one per packet) when given. Packets of ``foreign`` link
    types are left untouched for the plug-in that decodes them.
    """
    n = len(chunk)
    t = PacketTable.empty(n) if out is None else out
    t.ts_ns[:] = chunk.ts_ns
    t.caplen[:] = chunk.caplen
    t.origlen[:] = chunk.origlen
    t.offset[:] = chunk.data_off + chunk.base
    t.iface[:] = chunk.iface
    t.linktype[:] = linktypes[chunk.iface]
    side = SideInfo()
    buf, pos = chunk.buf, chunk.data_off
    cap = chunk.caplen.astype(np.int64)
    l3 = np.zeros(n, dtype=np.int64)
    version = np.zeros(n, dtype=np.uint8)
    slow = np.zeros(n, dtype=bool)

    done = decode_common(buf, pos, chunk.caplen, t, foreign)  # the common shapes, compiled
    for link in distinct(t.linktype):
        rows = np.flatnonzero(t.linktype == link)
        if done is not None:
            rows = rows[~done[rows]]
        if int(link) not in foreign and rows.size:
            _link_layer(int(link), rows, buf, pos, cap, t, l3, version, slow)

    checkpoint()
    l4, l4len = _ip_layer(buf, pos, cap, t, l3, version, slow)
    checkpoint()
    _transport(buf, pos, cap, t, l4, l4len, slow)
    inner = _udp_tunnels(buf, pos, cap, t, slow)

    checkpoint()
    slow_rows = np.flatnonzero(slow)
    for k in every(slow_rows.size, 1 << 10):
        _decode_slow(int(slow_rows[k]), buf, pos, cap, t, side, first_index)
    if len(inner):
        inner.frame += first_index
        side.inner.append(inner)
    return t, side


# -- link layer -----------------------------------------------------------------------------
def _link_layer(link: int, rows: np.ndarray, buf: np.ndarray, pos: np.ndarray, cap: np.ndarray,
                t: PacketTable, l3: np.ndarray, version: np.ndarray, slow: np.ndarray) -> None:
    if link in ETHERTYPE_LINKS:
        _ethertypes(rows, buf, pos, cap, t, l3, version, slow, *ETHERTYPE_LINKS[link])
    elif link in RAW_IP_LINKS:
        implied = RAW_IP_LINKS[link]
        if implied is None:
            first = gather(buf, pos[rows], 1)[:, 0] >> 4
        else:
            first = np.full(rows.size, implied, dtype=np.uint8)
        ok = (first == 4) | (first == 6)
        version[rows[ok]] = first[ok]
        _fail(t, rows[~ok], Reason.MALFORMED)
        _fail(t, rows[cap[rows] < 1], Reason.TRUNCATED)
    elif link in NULL_LINKS:
        head = gather(buf, pos[rows], NULL_HEADER)
        le = head.view("<u4")[:, 0]
        be = head.view(">u4")[:, 0]
        family = np.where(le < 0x10000, le, be)
        if link == lt.LOOP:
            family = np.where(be < 0x10000, be, le)
        v4 = np.isin(family, NULL_V4)
        v6 = np.isin(family, NULL_V6)
        version[rows[v4]] = 4
        version[rows[v6]] = 6
        l3[rows] = NULL_HEADER
        _fail(t, rows[~(v4 | v6)], Reason.NON_IP)
        _fail(t, rows[cap[rows] < NULL_HEADER], Reason.TRUNCATED)
    elif link in EXACT_LINKS:
        slow[rows] = True
    else:
        _fail(t, rows, Reason.LINKTYPE)


def _ethertypes(rows: np.ndarray, buf: np.ndarray, pos: np.ndarray, cap: np.ndarray,
                t: PacketTable, l3: np.ndarray, version: np.ndarray, slow: np.ndarray,
                type_col: int, header: int) -> None:
    """EtherType at ``type_col`` with up to three VLAN tags after it; IP starts after them."""
    width = header + 4 * MAX_VLAN_TAGS
    head = gather(buf, pos[rows], width)
    etype = _u16(head, type_col)
    etype[cap[rows] < header] = 0  # header cut short: what follows is the next packet's bytes
    off = np.full(rows.size, header, dtype=np.int64)
    for _ in range(MAX_VLAN_TAGS):
        # a tag cut short stays unfollowed: the exact path reports it as truncated
        tagged = np.flatnonzero(VLAN[etype] & (cap[rows] >= off + 4))
        if not tagged.size:
            break
        col = off[tagged] + 2
        etype[tagged] = (_at(head[tagged], col).astype(np.uint16) << 8) | _at(head[tagged], col + 1)
        off[tagged] += 4
    t.ethertype[rows] = etype
    l3[rows] = off
    short = cap[rows] < off
    v4 = (etype == ETH_IPV4) & ~short
    v6 = (etype == ETH_IPV6) & ~short
    version[rows[v4]] = 4
    version[rows[v6]] = 6
    odd = VLAN[etype] | SLOW_ETHERTYPE[etype]
    slow[rows[odd & ~short]] = True
    _fail(t, rows[short], Reason.TRUNCATED)
    _fail(t, rows[~(v4 | v6 | odd | short)], Reason.NON_IP)


def _fail(t: PacketTable, rows: np.ndarray, reason: Reason | np.ndarray) -> None:
    t.kind[rows] = Kind.UNASSIGNED
    t.reason[rows] = reason


def _fail_short(t: PacketTable, rows: np.ndarray, plen: np.ndarray, need: int) -> None:
    """Transport headers shorter than ``need``: malformed where the IP length leaves no room
    for them, truncated where the capture cut them (as the exact decoder says)."""
    _fail(t, rows, np.where(plen < need, Reason.MALFORMED, Reason.TRUNCATED).astype(np.uint8))


# -- IP -------------------------------------------------------------------------------------
def _ip_layer(buf: np.ndarray, pos: np.ndarray, cap: np.ndarray, t: PacketTable, l3: np.ndarray,
              version: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns the transport offset and the transport length (-1 where there is none)."""
    n = cap.size
    l4 = np.full(n, -1, dtype=np.int64)
    l4len = np.zeros(n, dtype=np.int64)

    rows = np.flatnonzero((version == 4) & ~slow)
    if rows.size:
        h = gather(buf, pos[rows] + l3[rows], IPV4_HEADER)
        ihl = (h[:, 0] & 0x0F).astype(np.int64) * 4
        total = _u16(h, 2).astype(np.int64)
        frag = _u16(h, 6)
        proto = h[:, 9]
        c = cap[rows] - l3[rows]
        # checked in the exact decoder's order: a wrong version or IHL is malformed even when
        # the IHL it claims runs past the captured bytes
        bad_head = ((h[:, 0] >> 4) != 4) | (ihl < IPV4_HEADER)
        trunc = (c < IPV4_HEADER) | ((c < ihl) & ~bad_head)
        bad = bad_head | ((total < ihl) & (total != 0))
        odd = (total == 0) | ((frag & 0x3FFF) != 0) | TUNNELS[proto]
        good = ~(trunc | bad | odd)
        slow[rows[odd & ~trunc & ~bad]] = True
        _fail(t, rows[trunc], Reason.TRUNCATED)
        _fail(t, rows[bad & ~trunc], Reason.MALFORMED)
        g = rows[good]
        if g.size != rows.size:
            h, ihl, total, proto = h[good], ihl[good], total[good], proto[good]
        t.family[g] = 4
        t.ip_proto[g] = proto
        t.src_lo[g] = _u32(h, 12)
        t.dst_lo[g] = _u32(h, 16)
        l4[g] = l3[g] + ihl
        l4len[g] = total - ihl

    rows = np.flatnonzero((version == 6) & ~slow)
    if rows.size:
        h = gather(buf, pos[rows] + l3[rows], IPV6_HEADER)
        plen = _u16(h, 4).astype(np.int64)
        nh = h[:, 6]
        c = cap[rows] - l3[rows]
        trunc = c < IPV6_HEADER
        bad = (h[:, 0] >> 4) != 6
        odd = (plen == 0) | IPV6_EXT[nh] | TUNNELS[nh]
        good = ~(trunc | bad | odd)
        slow[rows[odd & ~trunc & ~bad]] = True
        _fail(t, rows[trunc], Reason.TRUNCATED)
        _fail(t, rows[bad & ~trunc], Reason.MALFORMED)
        g = rows[good]
        if g.size != rows.size:
            h, nh, plen = h[good], nh[good], plen[good]
        t.family[g] = 6
        t.ip_proto[g] = nh
        t.src_hi[g] = _u64(h, 8)
        t.src_lo[g] = _u64(h, 16)
        t.dst_hi[g] = _u64(h, 24)
        t.dst_lo[g] = _u64(h, 32)
        l4[g] = l3[g] + IPV6_HEADER
        l4len[g] = plen
    return l4, l4len


# -- transport ------------------------------------------------------------------------------
def _transport(buf: np.ndarray, pos: np.ndarray, cap: np.ndarray, t: PacketTable,
               l4: np.ndarray, l4len: np.ndarray, slow: np.ndarray) -> None:
    rows = np.flatnonzero(l4 >= 0)
    if not rows.size:
        return
    h = gather(buf, pos[rows] + l4[rows], TCP_HEADER)
    proto = t.ip_proto[rows]
    fam = t.family[rows]
    c = cap[rows] - l4[rows]
    plen = l4len[rows]

    avail = np.minimum(c, plen)  # header bytes there: captured, and within the IP length

    tcp = proto == PROTO_TCP
    short = tcp & (avail < TCP_STREAM_FIELDS)
    _fail_short(t, rows[short], plen[short], TCP_STREAM_FIELDS)
    hlen = (h[:, 12] >> 4).astype(np.int64) * 4
    has = tcp & ~short
    r, x = rows[has], h[has]  # one subset, then plain column slices
    t.sport[r] = _u16(x, 0)
    t.dport[r] = _u16(x, 2)
    t.seq[r] = _u32(x, 4)
    t.ack[r] = _u32(x, 8)
    t.tcp_hlen[r] = hlen[has]
    t.tcp_flags[r] = ((x[:, 12].astype(np.uint16) & 1) << 8) | x[:, 13]
    t.win[r] = _u16(x, 14)
    bad = has & ((hlen < TCP_HEADER) | (hlen > avail))
    _fail(t, rows[bad], Reason.TCP_HEADER)  # a tcp.stream, but no conversation packet
    ok = has & ~bad
    r = rows[ok]
    t.kind[r] = Kind.TCP
    t.payload_off[r] = l4[r] + hlen[ok]
    t.payload_len[r] = plen[ok] - hlen[ok]

    udp = proto == PROTO_UDP
    short = udp & (avail < UDP_HEADER)
    _fail_short(t, rows[short], plen[short], UDP_HEADER)
    ulen = _u16(h, 4).astype(np.int64)
    bad = udp & ~short & (ulen < UDP_HEADER) & ~((ulen == 0) & (fam == 6))
    _fail(t, rows[bad], Reason.MALFORMED)  # Wireshark: "bad length value", no udp.stream
    ok = udp & ~short & ~bad
    r, x, pl, ulen = rows[ok], h[ok], plen[ok], ulen[ok]
    t.kind[r] = Kind.UDP
    t.sport[r] = _u16(x, 0)
    t.dport[r] = _u16(x, 2)
    t.payload_off[r] = l4[r] + UDP_HEADER
    sane = (ulen >= UDP_HEADER) & (ulen <= pl)
    t.payload_len[r] = np.where(sane, ulen - UDP_HEADER, pl - UDP_HEADER)

    icmp = ((proto == PROTO_ICMP) & (fam == 4)) | ((proto == PROTO_ICMPV6) & (fam == 6))
    if icmp.any():
        trunc = icmp & (avail < SHORT_HEADER)
        errors = icmp & ~trunc & np.where(fam == 4, ICMP4_ERR[h[:, 0]], ICMP6_ERR[h[:, 0]])
        ok = icmp & ~trunc & ~errors
        _fail_short(t, rows[trunc], plen[trunc], SHORT_HEADER)
        slow[rows[errors]] = True
        r, x = rows[ok], h[ok]
        full = avail[ok] >= ICMP_HEADER
        t.kind[r] = np.where(fam[ok] == 4, Kind.ICMP, Kind.ICMPV6)
        t.icmp_type[r] = x[:, 0]
        t.icmp_code[r] = x[:, 1]
        t.icmp_id[r] = np.where(full, _u16(x, 4), 0)
        t.icmp_seq[r] = np.where(full, _u16(x, 6), 0)
        t.payload_off[r] = l4[r] + ICMP_HEADER
        t.payload_len[r] = np.maximum(plen[ok] - ICMP_HEADER, 0)

    other = ~(tcp | udp | icmp)
    if other.any():
        r = rows[other]
        t.kind[r] = Kind.IP
        t.payload_off[r] = l4[r]
        t.payload_len[r] = np.maximum(plen[other], 0)
        for number, protocol in ported_ip_protocols().items():
            ported = other & (proto == number)
            if not ported.any():
                continue
            trunc = ported & (avail < SHORT_HEADER)
            _fail_short(t, rows[trunc], plen[trunc], SHORT_HEADER)
            t.payload_off[rows[trunc]] = -1
            t.payload_len[rows[trunc]] = 0
            ok = ported & ~trunc
            r, x, size = rows[ok], h[ok], protocol.transport_header
            t.kind[r] = protocol.kind
            t.sport[r] = _u16(x, 0)
            t.dport[r] = _u16(x, 2)
            t.payload_off[r] = l4[r] + size
            t.payload_len[r] = np.maximum(plen[ok] - size, 0)


# -- UDP tunnels ----------------------------------------------------------------------------
def _udp_tunnels(buf: np.ndarray, pos: np.ndarray, cap: np.ndarray, t: PacketTable,
                 slow: np.ndarray) -> InnerPackets:
    """The packets inside the chunk's UDP tunnels, decoded by the same stages as the frames
    (chunk-local frame numbers); shapes those stages hand over send the whole frame to the
    exact decoder."""
    udp = np.flatnonzero((t.kind == Kind.UDP) & ~slow)
    tunnel = tunnels_of(t.sport[udp], t.dport[udp])
    rows = udp[tunnel > 0]
    if not rows.size:
        return InnerPackets.empty()
    tunnel = tunnel[tunnel > 0]
    start = t.payload_off[rows].astype(np.int64)
    end = start + np.minimum(t.payload_len[rows], np.maximum(cap[rows] - start, 0))
    head = gather(buf, pos[rows] + start, TUNNEL_HEAD)
    kind, at, exact = inner_starts(head, end - start, tunnel)
    slow[rows[exact]] = True
    go = kind > 0
    rows, tunnel, kind, at, end = rows[go], tunnel[go], kind[go], start[go] + at[go], end[go]
    m = rows.size
    sub = PacketTable.empty(m)
    sub_pos = pos[rows] + at
    sub_cap = np.maximum(end - at, 0)  # the UDP payload ends the packet inside
    l3 = np.zeros(m, dtype=np.int64)
    version = np.zeros(m, dtype=np.uint8)
    sub_slow = np.zeros(m, dtype=bool)
    eth = np.flatnonzero(kind == INNER_ETHERNET)
    if eth.size:
        _link_layer(lt.ETHERNET, eth, buf, sub_pos, sub_cap, sub, l3, version, sub_slow)
    ip = np.flatnonzero(kind == INNER_IP)
    if ip.size:
        _link_layer(lt.RAW, ip, buf, sub_pos, sub_cap, sub, l3, version, sub_slow)
    l4, l4len = _ip_layer(buf, sub_pos, sub_cap, sub, l3, version, sub_slow)
    _transport(buf, sub_pos, sub_cap, sub, l4, l4len, sub_slow)
    slow[rows[sub_slow]] = True  # the exact decoder does those frames, inside and out
    keep = ~sub_slow & ((sub.kind != Kind.UNASSIGNED) | (sub.reason == Reason.TCP_HEADER))
    rows, tunnel, at = rows[keep], tunnel[keep], at[keep]
    inner = sub.rows(0, m) if keep.all() else PacketTable(
        **{f.name: getattr(sub, f.name)[keep] for f in fields(PacketTable)})
    inner.payload_off[:] = np.where(inner.payload_off >= 0, inner.payload_off + at, -1)
    _copy_frame_columns(inner, t, rows)
    return InnerPackets(rows.astype(np.int64), tunnel.astype(np.uint8), inner)


def _copy_frame_columns(inner: PacketTable, t: PacketTable, rows: np.ndarray) -> None:
    """What an inner packet shares with its frame: time, lengths, place in the capture."""
    for name in FRAME_COLUMNS:
        getattr(inner, name)[:] = getattr(t, name)[rows]


#: the packet-table columns that describe the frame, not the packet inside a tunnel
FRAME_COLUMNS = ("ts_ns", "caplen", "origlen", "offset", "iface", "linktype")


# -- the exact path -------------------------------------------------------------------------
def _decode_slow(row: int, buf: np.ndarray, pos: np.ndarray, cap: np.ndarray, t: PacketTable,
                 side: SideInfo, first_index: int) -> None:
    start = int(pos[row])
    data = buf[start : start + int(cap[row])].tobytes()
    f = decode_packet(data, int(t.linktype[row]), int(t.origlen[row]))
    store_fields(t, row, f)
    if f.fragment is not None:
        side.fragments.append((first_index + row, f.fragment))
    if f.quoted is not None:
        side.quoted.append((first_index + row, f.quoted))
    if f.inner is not None:
        one = PacketTable.empty(1)
        store_fields(one, 0, f.inner)
        _copy_frame_columns(one, t, np.array([row]))
        side.inner.append(InnerPackets(np.array([first_index + row], dtype=np.int64),
                                       np.array([f.tunnel], dtype=np.uint8), one))
        if f.inner.quoted is not None:
            side.inner_quoted.append((first_index + row, f.inner.quoted))


_MASK64 = (1 << 64) - 1


def store_fields(t: PacketTable, row: int, f: Fields) -> None:
    """Write one exactly-decoded packet into the table."""
    t.kind[row] = f.kind
    t.reason[row] = f.reason
    t.ethertype[row] = f.ethertype
    t.family[row] = f.family
    t.ip_proto[row] = f.ip_proto
    t.src_hi[row], t.src_lo[row] = f.src >> 64, f.src & _MASK64
    t.dst_hi[row], t.dst_lo[row] = f.dst >> 64, f.dst & _MASK64
    t.sport[row], t.dport[row] = f.sport, f.dport
    t.payload_off[row], t.payload_len[row] = f.payload_off, f.payload_len
    t.tcp_flags[row], t.seq[row], t.ack[row] = f.tcp_flags, f.seq, f.ack
    t.win[row], t.tcp_hlen[row] = f.win, f.tcp_hlen
    t.icmp_type[row], t.icmp_code[row] = f.icmp_type, f.icmp_code
    t.icmp_id[row], t.icmp_seq[row] = f.icmp_id, f.icmp_seq
