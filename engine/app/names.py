"""Names from the capture's own DNS: which address the capture's DNS answers gave which name.

Like Wireshark's "use captured DNS packet data for address resolution", and never a lookup
outside the capture. A name is a fact about the capture at a time, so the table keeps when each
(address, name) pair was first and last answered; a conversation's endpoint takes the name
answered most recently before the conversation started (or, failing that, the first answered
after it).
"""

from __future__ import annotations

import ipaddress
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
    try:
        ip = ipaddress.ip_address(address)
        return ip.version, int(ip)
    except ValueError:
        return 9, 0


def _address_key(address: str) -> tuple[int, int, int] | None:
    """(family, high 64 bits, low 64 bits) as the conversation table stores addresses."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    value = int(ip)
    return ip.version, value >> 64, value & ((1 << 64) - 1)


def endpoint_names(names: NameTable, table: ConversationTable) -> dict[str, np.ndarray]:
    """For sides "a" and "b": each conversation's endpoint name ("" when the capture's DNS
    never named that address)."""
    n = len(table)
    out: dict[str, np.ndarray] = {side: np.full(n, "", dtype=np.dtypes.StringDType())
                                  for side in ("a", "b")}
    by_address: dict[str, list[tuple[int, int, str]]] = {}
    for (address, name), (first, last) in names.entries.items():
        by_address.setdefault(address, []).append((first, last, name))
    for address, seen in by_address.items():
        key = _address_key(address)
        if key is None:
            continue
        family, hi, lo = key
        seen.sort()
        firsts = np.array([s[0] for s in seen], dtype=np.int64)
        labels = np.array([s[2] for s in seen], dtype=np.dtypes.StringDType())
        for side in ("a", "b"):
            rows = np.flatnonzero((table.family == family)
                                  & (getattr(table, f"{side}_hi") == np.uint64(hi))
                                  & (getattr(table, f"{side}_lo") == np.uint64(lo)))
            if not rows.size:
                continue
            # the latest answer at or before the start, else the first one
            pick = np.searchsorted(firsts, table.start_ns[rows], side="right") - 1
            out[side][rows] = labels[np.maximum(pick, 0)]
    return out


def address_text(family: int, hi: int, lo: int) -> str:
    return format_address(family, hi, lo)
