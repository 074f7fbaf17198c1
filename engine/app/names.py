"""Names from the capture's own DNS: which address the capture's DNS answers gave which name.

Like Wireshark's "use captured DNS packet data for address resolution", and never a lookup
outside the capture. A name is a fact about the capture at a time, so the table keeps when each
(address, name) pair was first and last answered; a conversation's endpoint takes the name
answered most recently before the conversation started (or, failing that, the first answered
after it).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..protocols import format_address
from ..table import ConversationTable


@dataclass
class NameTable:
    """(address, name) pairs with the first and last time (ns) an answer gave them."""

    entries: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, address: str, name: str, ts_ns: int) -> None:
        """Record an answer; ``address`` is in canonical text form (as the DNS parser
        writes it: dotted quad, RFC 5952 IPv6)."""
        key = (address, name)
        seen = self.entries.get(key)
        if seen is None:
            self.entries[key] = [ts_ns, ts_ns]
        else:
            seen[0] = min(seen[0], ts_ns)
            seen[1] = max(seen[1], ts_ns)

    def add_many(self, answers: Iterable[tuple[str, str, int]]) -> None:
        """:meth:`add` for each (address, name, ts_ns)."""
        entries = self.entries
        for address, name, ts_ns in answers:
            key = (address, name)
            seen = entries.get(key)
            if seen is None:
                entries[key] = [ts_ns, ts_ns]
            elif ts_ns < seen[0]:
                seen[0] = ts_ns
            elif ts_ns > seen[1]:
                seen[1] = ts_ns

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(address, name, first seen ns, last seen ns), by address then first seen."""
        out = [(a, n, t[0], t[1]) for (a, n), t in self.entries.items()]
        return sorted(out, key=lambda r: (_sort_key(r[0]), r[2], r[1]))

    def names_of(self) -> dict[str, list[str]]:
        """address → sorted names (the oracle's ``dns_names`` shape)."""
        out: dict[str, set[str]] = {}
        for address, name in self.entries:
            out.setdefault(address, set()).add(name)
        return {a: sorted(n) for a, n in out.items()}

    def __len__(self) -> int:
        return len(self.entries)


def _sort_key(address: str) -> tuple[int, int]:
    return _address_value(address) or (9, 0)


def _address_key(address: str) -> tuple[int, int, int] | None:
    """(family, high 64 bits, low 64 bits) as the conversation table stores addresses."""
    found = _address_value(address)
    if found is None:
        return None
    version, value = found
    return version, value >> 64, value & ((1 << 64) - 1)


def _address_value(address: str) -> tuple[int, int] | None:
    """(IP version, address as an integer), or None for text that is not an address.

    ``inet_pton`` reads the DNS parser's canonical forms about ten times faster than
    ``ipaddress`` (9,000 answers took 0.1 s); what it refuses (an IPv6 scope, say) is left to
    ``ipaddress``, so both give the same answer for any text."""
    for family, version in _FAMILIES:
        try:
            return version, int.from_bytes(socket.inet_pton(family, address), "big")
        except (OSError, ValueError):  # (ValueError: an embedded NUL)
            continue
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return ip.version, int(ip)


_FAMILIES = ((socket.AF_INET, 4), (socket.AF_INET6, 6))


def _mix(family: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """One 64-bit key per address (for finding candidates; matches are then checked)."""
    with np.errstate(over="ignore"):
        return ((hi.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
                ^ (lo.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
                ^ family.astype(np.uint64))


def endpoint_names(names: NameTable, table: ConversationTable) -> dict[str, np.ndarray]:
    """For sides "a" and "b": each conversation's endpoint name ("" when the capture's DNS
    never named that address). Whole columns at once: the named addresses are found by key,
    then each address's rows pick their name by start time."""
    n = len(table)
    out: dict[str, np.ndarray] = {side: np.full(n, "", dtype=np.dtypes.StringDType())
                                  for side in ("a", "b")}
    by_address: dict[tuple[int, int, int], list[tuple[int, str]]] = {}
    for (address, name), (first, _) in names.entries.items():
        key = _address_key(address)
        if key is not None:
            by_address.setdefault(key, []).append((first, name))
    if not by_address:
        return out
    addresses = list(by_address)
    fam = np.array([a[0] for a in addresses], dtype=np.uint64)
    hi = np.array([a[1] for a in addresses], dtype=np.uint64)
    lo = np.array([a[2] for a in addresses], dtype=np.uint64)
    keys = _mix(fam, hi, lo)
    order = np.argsort(keys, kind="stable")
    keys, fam, hi, lo = keys[order], fam[order], hi[order], lo[order]
    seen = [sorted(by_address[addresses[k]]) for k in order.tolist()]
    for side in ("a", "b"):
        t_fam, t_hi, t_lo = table.family, getattr(table, f"{side}_hi"), getattr(table, f"{side}_lo")
        mixed = _mix(t_fam, t_hi, t_lo)
        at = np.minimum(np.searchsorted(keys, mixed), keys.size - 1)
        rows = np.flatnonzero((keys[at] == mixed) & (fam[at] == t_fam) & (hi[at] == t_hi)
                              & (lo[at] == t_lo))
        if not rows.size:
            continue
        which = at[rows]
        group = np.argsort(which, kind="stable")
        rows, which = rows[group], which[group]
        cuts = np.flatnonzero(np.r_[True, which[1:] != which[:-1], True])
        for start, stop in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            entries = seen[int(which[start])]
            mine = rows[start:stop]
            if len(entries) == 1:
                out[side][mine] = entries[0][1]
                continue
            firsts = np.array([e[0] for e in entries], dtype=np.int64)
            labels = np.array([e[1] for e in entries], dtype=np.dtypes.StringDType())
            # the latest answer at or before the start, else the first one
            pick = np.searchsorted(firsts, table.start_ns[mine], side="right") - 1
            out[side][mine] = labels[np.maximum(pick, 0)]
    return out


def address_text(family: int, hi: int, lo: int) -> str:
    return format_address(family, hi, lo)
