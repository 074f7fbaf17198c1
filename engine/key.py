"""Grouping packets by their bidirectional address/port tuple, for all packets at once.

A tuple is (what: conversation kind, IP protocol and version) plus the two endpoints, in either
direction; an endpoint is an address and a "port": the TCP/UDP port, the ICMP echo identifier, or
the ICMP type/code for other ICMP messages. Rows are sorted once by a 64-bit direction-free hash;
every row is then compared field by field with the first row of its run, so a hash collision can
never merge two tuples (a capture where that happens is regrouped exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .cancel import checkpoint
from .decode.layers import ICMP4_ECHO, ICMP6_ECHO
from .packets import Kind, PacketTable
from .sets import byte_table

_ICMP4_ECHO = byte_table(sorted(ICMP4_ECHO))
_ICMP6_ECHO = byte_table(sorted(ICMP6_ECHO))
#: added to the ICMP "port" of non-echo messages so type/code never equals an echo identifier
NON_ECHO = np.uint64(1 << 16)


def icmp_echo(kind: np.ndarray, itype: np.ndarray) -> np.ndarray:
    """Which rows (``kind``, ICMP type ``itype``) are ICMP or ICMPv6 messages that carry an
    identifier (echo and the like): those are told apart by it, the others by type and code."""
    icmp = (kind == Kind.ICMP) | (kind == Kind.ICMPV6)
    return icmp & np.where(kind == Kind.ICMP, _ICMP4_ECHO[itype], _ICMP6_ECHO[itype])


@dataclass
class Endpoints:
    """The key columns of the rows to group (packets, or headers quoted in ICMP errors)."""

    what: np.ndarray  # uint64: kind << 16 | ip_proto << 8 | IP version
    src_hi: np.ndarray  # uint64 halves of the 128-bit addresses
    src_lo: np.ndarray
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    sport: np.ndarray  # uint64 "ports"
    dport: np.ndarray

    def __len__(self) -> int:
        return int(self.what.size)

    @classmethod
    def of(cls, p: PacketTable, rows: np.ndarray, kinds: np.ndarray | None = None
           ) -> Endpoints:
        """The key columns of packets ``rows`` (views, not copies, when that is all of them);
        ``kinds`` (one per row) overrides the family they are grouped as."""
        # every packet: views, no gathered copies
        rows = slice(None) if rows.size == len(p) else rows  # type: ignore[assignment]
        kind = p.kind[rows] if kinds is None else kinds
        sport = p.sport[rows].astype(np.uint64)
        dport = p.dport[rows].astype(np.uint64)
        icmp = (kind == Kind.ICMP) | (kind == Kind.ICMPV6)
        if icmp.any():
            itype = p.icmp_type[rows]
            echo = icmp_echo(kind, itype)
            typecode = (itype.astype(np.uint64) << np.uint64(8)) | p.icmp_code[rows] | NON_ECHO
            value = np.where(echo, p.icmp_id[rows].astype(np.uint64), typecode)
            sport = np.where(icmp, value, sport)
            dport = np.where(icmp, value, dport)
        proto = np.where(kind == Kind.IP, p.ip_proto[rows], 0).astype(np.uint64)
        what = (kind.astype(np.uint64) << np.uint64(16)) | (proto << np.uint64(8)) | \
            p.family[rows]
        return cls(what, p.src_hi[rows], p.src_lo[rows], p.dst_hi[rows], p.dst_lo[rows],
                   sport, dport)

    @classmethod
    def concat(cls, parts: list[Endpoints]) -> Endpoints:
        parts = [e for e in parts if len(e)] or parts[:1]
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(e, f.name) for e in parts]) for f in fields(cls)))


@dataclass
class Tuples:
    """Rows grouped by tuple: ``order`` lists row positions tuple by tuple, in file order inside a
    tuple; ``starts[i]`` marks where a tuple begins in ``order``; ``forward[i]`` says whether row
    ``order[i]`` was sent by the endpoint that sent its tuple's first row."""

    order: np.ndarray
    starts: np.ndarray
    forward: np.ndarray

    @property
    def count(self) -> int:
        return int(self.starts.sum())

    def ids(self) -> np.ndarray:
        """Tuple number (in ``order``'s grouping) of every row, indexed by row position."""
        tid = np.empty(self.order.size, dtype=np.int64)
        tid[self.order] = np.cumsum(self.starts) - 1
        return tid


_C = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _mix(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    h = (h ^ v) * _C[1]
    return h ^ (h >> np.uint64(31))


def _endpoint_hash(hi: np.ndarray, lo: np.ndarray, port: np.ndarray) -> np.ndarray:
    return _mix(_mix(_mix(np.full(hi.size, _C[0]), hi), lo), port)


def tuple_hash(e: Endpoints) -> np.ndarray:
    """A 64-bit hash that is the same in both directions (splitmix-style mixing)."""
    with np.errstate(over="ignore"):
        a = _endpoint_hash(e.src_hi, e.src_lo, e.sport)
        b = _endpoint_hash(e.dst_hi, e.dst_lo, e.dport)
        h = _mix(_mix(_mix(np.full(a.size, _C[2]), e.what), np.minimum(a, b)), np.maximum(a, b))
        return (h ^ (h >> np.uint64(29))) * _C[2]


def radix_argsort(keys: np.ndarray) -> np.ndarray:
    """Stable argsort of uint64 keys: four passes over 16-bit digits, each a numpy radix sort
    (numpy sorts 16-bit integers stably in linear time) — faster than ``np.argsort`` on 64-bit
    keys, and equal keys keep their order."""
    mask = np.uint64(0xFFFF)
    order = np.argsort((keys & mask).astype(np.uint16), kind="stable")
    for shift in (16, 32, 48):
        digit = ((keys[order] >> np.uint64(shift)) & mask).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order


def group_tuples(e: Endpoints) -> Tuples:
    """Group rows by tuple with one stable sort of their hashes (equal hashes come out in file
    order), then check every row against its run's first row."""
    n = len(e)
    if n == 0:
        empty = np.zeros(0, dtype=bool)
        return Tuples(np.zeros(0, dtype=np.int64), empty, empty)
    h = tuple_hash(e)
    checkpoint()
    order = radix_argsort(h)
    checkpoint()
    hs = h[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = hs[1:] != hs[:-1]
    forward, same = _compare_with_first(e, order, starts)
    if not same.all():
        return _group_exact(e)
    return Tuples(order, starts, forward)


def _compare_with_first(e: Endpoints, order: np.ndarray, starts: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per sorted row: sent by the run's first sender? and the same tuple as that first row?"""
    first_all = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]

    def compare(part: slice) -> tuple[np.ndarray, np.ndarray]:
        rows, first = order[part], first_all[part]
        fwd = e.what[rows] == e.what[first]
        rev = fwd.copy()
        for mine, theirs in (("src_hi", "dst_hi"), ("src_lo", "dst_lo"), ("sport", "dport")):
            a, b = getattr(e, mine), getattr(e, theirs)
            a_row, b_row, a_first, b_first = a[rows], b[rows], a[first], b[first]
            fwd &= (a_row == a_first) & (b_row == b_first)
            rev &= (a_row == b_first) & (b_row == a_first)
        return fwd, fwd | rev

    # in slices, so the temporaries stay small
    step = 1 << 17
    pieces = [compare(slice(a, a + step)) for a in range(0, order.size, step)] or \
        [compare(slice(0, 0))]
    return (np.concatenate([f for f, _ in pieces]), np.concatenate([s for _, s in pieces]))


def _group_exact(e: Endpoints) -> Tuples:
    """Exact grouping by sorting the canonical key columns (only after a hash collision)."""
    swap = (e.src_hi > e.dst_hi) | ((e.src_hi == e.dst_hi) & (
        (e.src_lo > e.dst_lo) | ((e.src_lo == e.dst_lo) & (e.sport > e.dport))))
    cols = [e.what]
    for mine, theirs in (("src_hi", "dst_hi"), ("src_lo", "dst_lo"), ("sport", "dport")):
        a, b = getattr(e, mine), getattr(e, theirs)
        cols += [np.where(swap, b, a), np.where(swap, a, b)]
    order = np.lexsort(cols[::-1])  # stable: file order inside a tuple
    starts = np.ones(len(e), dtype=bool)
    same = np.ones(len(e) - 1, dtype=bool)
    for col in cols:
        c = col[order]
        same &= c[1:] == c[:-1]
    starts[1:] = ~same
    forward, _ = _compare_with_first(e, order, starts)
    return Tuples(order, starts, forward)
