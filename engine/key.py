"""Canonical bidirectional conversation keys, computed for all packets at once.

A key is (family of conversation, the two endpoints in canonical order); an endpoint is an address
plus a "port": the TCP/UDP port, the ICMP echo identifier, or the ICMP type/code for other ICMP.
Packets are grouped by a 64-bit hash of the key; groups are then checked against the full key, so a
hash collision can never merge two conversations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .packets import Kind, PacketTable

ICMP4_ECHO_TYPES = np.array([0, 8], dtype=np.uint8)
ICMP6_ECHO_TYPES = np.array([128, 129], dtype=np.uint8)
#: added to the ICMP "port" of non-echo messages so type/code never equals an echo identifier
NON_ECHO = np.uint32(1 << 16)


@dataclass
class Keys:
    """Per-packet canonical key columns (rows = the packets being grouped)."""

    rows: np.ndarray  # int64, packet indices these keys belong to
    family: np.ndarray  # uint32: kind << 16 | ip_proto << 8 | IP version (the "what" of a key)
    lo_hi: np.ndarray  # uint64, the smaller endpoint's address (high half)
    lo_lo: np.ndarray
    lo_port: np.ndarray  # uint32
    hi_hi: np.ndarray  # the larger endpoint
    hi_lo: np.ndarray
    hi_port: np.ndarray
    from_hi: np.ndarray  # bool: the packet was sent by the larger endpoint

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.family, self.lo_hi, self.lo_lo, self.lo_port, self.hi_hi, self.hi_lo,
                self.hi_port)


def endpoint_ports(p: PacketTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The "port" of each side: real ports, or the ICMP identifier / type-code."""
    kind = p.kind[rows]
    sport = p.sport[rows].astype(np.uint32)
    dport = p.dport[rows].astype(np.uint32)
    icmp = (kind == Kind.ICMP) | (kind == Kind.ICMPV6)
    if icmp.any():
        itype = p.icmp_type[rows]
        echo = np.where(kind == Kind.ICMP, np.isin(itype, ICMP4_ECHO_TYPES),
                        np.isin(itype, ICMP6_ECHO_TYPES))
        tc = (itype.astype(np.uint32) << 8) | p.icmp_code[rows] | NON_ECHO
        value = np.where(echo, p.icmp_id[rows].astype(np.uint32), tc)
        sport = np.where(icmp, value, sport)
        dport = np.where(icmp, value, dport)
    return sport, dport


def canonical_keys(p: PacketTable, rows: np.ndarray) -> Keys:
    """Keys for ``rows``; the endpoint that sorts first is ``lo`` whichever side sent."""
    sport, dport = endpoint_ports(p, rows)
    s_hi, s_lo, d_hi, d_lo = p.src_hi[rows], p.src_lo[rows], p.dst_hi[rows], p.dst_lo[rows]
    swap = (s_hi > d_hi) | ((s_hi == d_hi) & ((s_lo > d_lo) | ((s_lo == d_lo) & (sport > dport))))
    proto = np.where(p.kind[rows] == Kind.IP, p.ip_proto[rows], 0).astype(np.uint32)
    family = (p.kind[rows].astype(np.uint32) << 16) | (proto << 8) | p.family[rows]
    return Keys(
        rows=rows, family=family,
        lo_hi=np.where(swap, d_hi, s_hi), lo_lo=np.where(swap, d_lo, s_lo),
        lo_port=np.where(swap, dport, sport),
        hi_hi=np.where(swap, s_hi, d_hi), hi_lo=np.where(swap, s_lo, d_lo),
        hi_port=np.where(swap, sport, dport), from_hi=swap)


def concat_keys(parts: list[Keys]) -> Keys:
    return Keys(*(np.concatenate([getattr(k, f) for k in parts])
                  for f in Keys.__dataclass_fields__))


_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _mix(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    h = (h ^ v.astype(np.uint64)) * _M2
    return h ^ (h >> np.uint64(31))


def key_hash(keys: Keys) -> np.ndarray:
    """A 64-bit hash of each key (splitmix-style mixing of every column)."""
    h = np.full(keys.rows.size, _M1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in keys.columns():
            h = _mix(h, col)
        h = (h ^ (h >> np.uint64(29))) * _M3
    return h


def group_keys(keys: Keys) -> tuple[np.ndarray, int]:
    """A dense group number per row (groups numbered by first appearance) and the group count."""
    n = keys.rows.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    h = key_hash(keys)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    start = np.ones(n, dtype=bool)
    start[1:] = hs[1:] != hs[:-1]
    # a collision would put different keys in one run of equal hashes: compare every column
    # with the first row of its run and fall back to an exact sort if anything differs
    run = np.cumsum(start) - 1
    first = order[np.flatnonzero(start)][run]
    for col in keys.columns():
        if not np.array_equal(col[order], col[first]):
            return _group_exact(keys)
    return _number_by_first(order, start, n)


def _group_exact(keys: Keys) -> tuple[np.ndarray, int]:
    cols = keys.columns()
    order = np.lexsort(cols[::-1])
    start = np.ones(keys.rows.size, dtype=bool)
    same = np.ones(keys.rows.size - 1, dtype=bool)
    for col in cols:
        c = col[order]
        same &= c[1:] == c[:-1]
    start[1:] = ~same
    return _number_by_first(order, start, keys.rows.size)


def _number_by_first(order: np.ndarray, start: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Turn sorted runs into group ids ordered by each group's first row (stable sort)."""
    run = np.cumsum(start) - 1
    groups = int(run[-1]) + 1
    first_row = order[np.flatnonzero(start)]  # stable sort: a run starts with its earliest row
    rank = np.empty(groups, dtype=np.int64)
    rank[np.argsort(first_row, kind="stable")] = np.arange(groups)
    gid = np.empty(n, dtype=np.int64)
    gid[order] = rank[run]
    return gid, groups
