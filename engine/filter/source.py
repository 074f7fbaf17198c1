"""One conversation table as the filter reads it: every column array, computed once and kept.

A view that filters the same table again and again (the GUI, once per keystroke pause) keeps
one :class:`FilterColumns`; the arrays a filter needs — a core column's values, which rows have
a value, a text column's distinct values — are computed on first use and reused.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from ..columns import COLUMNS, ColumnSpec
from ..packets import Kind
from ..protocols import IP_PROTOCOL_NAMES, PROTOCOLS
from ..table import ConversationTable
from .literals import AddressValue

#: the core columns whose values are endpoints: matched on the raw 128-bit halves, not text
ENDPOINT_SIDES = {"a_address": "a", "b_address": "b"}
_IP_PROTO = re.compile(r"^ip-proto-([0-9]{1,3})$")
_IP_FAMILIES = (4, 6)


class FilterColumns:
    """Columns of ``table`` for the evaluator. ``first_ns`` is the capture's first packet (what
    relative start times count from; the earliest start when not given)."""

    def __init__(self, table: ConversationTable, first_ns: int | None = None) -> None:
        self.table = table
        self.size = len(table)
        if first_ns is None:
            first_ns = int(table.start_ns.min()) if self.size else 0
        self.first_ns = int(first_ns)
        self._values: dict[str, np.ndarray | None] = {}
        self._present: dict[str, np.ndarray | None] = {}
        self._factors: dict[str, tuple[list[str], np.ndarray]] = {}
        self._lengths: dict[str, np.ndarray] = {}
        self._protocols: dict[frozenset[str], np.ndarray] = {}
        self.text_values: dict[str, np.ndarray] = {}  # bare words already looked up

    def none(self) -> np.ndarray:
        return np.zeros(self.size, dtype=bool)

    def all(self) -> np.ndarray:
        return np.ones(self.size, dtype=bool)

    # -- columns --------------------------------------------------------------------------
    def values(self, spec: ColumnSpec) -> np.ndarray | None:
        """The column's values (None when this table does not have it)."""
        if spec.name not in self._values:
            values = spec.column(self.table)
            self._values[spec.name] = None if values is None else np.asarray(values)
        return self._values[spec.name]

    def present(self, spec: ColumnSpec) -> np.ndarray | None:
        """Rows where the column has a value: of its protocols, and not the column's "not
        applicable" (-1, NaN, ""); None when the table lacks the column."""
        if spec.name not in self._present:
            if spec.core and spec.format in ("address", "protocol", "time"):
                # every row has endpoints, a protocol and a start (and their text is costly)
                self._present[spec.name] = self.all()
                return self._present[spec.name]
            values = self.values(spec)
            if values is None:
                mask = None
            else:
                if values.dtype.kind == "i":
                    mask = values != -1
                elif values.dtype.kind == "f":
                    mask = ~np.isnan(values)
                elif values.dtype.kind in "UOT":  # T: numpy's variable-width StringDType
                    mask = values != ""
                else:
                    mask = self.all()
                if spec.protocols:
                    mask &= self.protocols(frozenset(spec.protocols))
            self._present[spec.name] = mask
        return self._present[spec.name]

    def factorized(self, spec: ColumnSpec) -> tuple[list[str], np.ndarray]:
        """A text-like column as its distinct values (as text) and each row's index into them:
        a pattern is then tried once per distinct value, not once per row."""
        if spec.name not in self._factors:
            values = self.values(spec)
            assert values is not None
            if values.dtype.kind not in "UOT":
                values = values.astype(str)
            unique, inverse = _factorize(values)
            self._factors[spec.name] = ([str(u) for u in unique.tolist()], inverse)
        return self._factors[spec.name]

    def text_matches(self, spec: ColumnSpec, test: Callable[[str], object]) -> np.ndarray:
        """Rows whose text ``test`` accepts, trying each distinct value once."""
        unique, inverse = self.factorized(spec)
        hits = np.array([bool(test(u)) for u in unique], dtype=bool)
        return hits[inverse] if len(unique) else self.none()

    def contains(self, spec: ColumnSpec, part: str) -> np.ndarray:
        """Rows whose text contains ``part`` (exact case)."""
        values = self.values(spec)
        assert values is not None
        if values.dtype.kind in "UT":  # numpy's string functions: no Python call per row
            return np.char.find(values, part) >= 0
        return self.text_matches(spec, lambda u: part in u)

    def equals_any_case(self, spec: ColumnSpec, word: str) -> np.ndarray:
        """Rows whose text is ``word`` in any case. Only rows of the same length are lowered
        (lowering a million strings is what costs)."""
        values = self.values(spec)
        assert values is not None
        if values.dtype.kind not in "UT":
            lower = word.lower()
            return self.text_matches(spec, lambda u: u.lower() == lower)
        if spec.name not in self._lengths:
            self._lengths[spec.name] = np.char.str_len(values)
        rows = np.flatnonzero(self._lengths[spec.name] == len(word))
        mask = self.none()
        mask[rows] = np.char.lower(values[rows]) == word.lower()
        return mask

    def declared(self, fmt: str) -> list[tuple[ColumnSpec, np.ndarray]]:
        """The analyses' and plug-ins' columns of one format that this table has."""
        out = []
        for spec in COLUMNS.values():
            if not spec.core and spec.format == fmt:
                values = self.values(spec)
                if values is not None:
                    out.append((spec, values))
        return out

    # -- rows by protocol, family, endpoint -----------------------------------------------
    def protocols(self, names: frozenset[str]) -> np.ndarray:
        """Rows of these protocols (registered names, IP protocol names, ``ip-proto-N``)."""
        if names not in self._protocols:
            t = self.table
            mask = self.none()
            ip_numbers = []
            for name in names:
                registered = PROTOCOLS.get(name)
                if registered is not None:
                    mask |= t.kind == registered.kind
                    continue
                ip_numbers += [n for n, known in IP_PROTOCOL_NAMES.items() if known == name]
                m = _IP_PROTO.match(name)
                if m and int(m.group(1)) not in IP_PROTOCOL_NAMES:
                    ip_numbers.append(int(m.group(1)))
            if ip_numbers:
                mask |= (t.kind == Kind.IP) & np.isin(t.ip_proto, ip_numbers)
            self._protocols[names] = mask
        return self._protocols[names]

    def family(self, code: int) -> np.ndarray:
        return self.table.family == code

    def endpoint(self, side: str, address: AddressValue) -> np.ndarray:
        """Rows whose endpoint ``side`` ("a"/"b") is ``address`` or lies in its network."""
        t = self.table
        hi, lo = getattr(t, f"{side}_hi"), getattr(t, f"{side}_lo")
        mask = t.family == address.family
        for half, want, keep in ((hi, address.want_hi, address.mask_hi),
                                 (lo, address.want_lo, address.mask_lo)):
            if keep == 0:
                continue
            part = half if keep == (1 << 64) - 1 else half & np.uint64(keep)
            mask &= part == np.uint64(want)
        return mask

    def network_id(self, value: int | float) -> np.ndarray:
        """Rows with an endpoint of a non-IP family whose network part (``hi``: a Z-Wave home
        id) is ``value``."""
        t = self.table
        if not isinstance(value, int) or not 0 <= value < 1 << 64:
            return self.none()
        not_ip = ~np.isin(t.family, _IP_FAMILIES)
        want = np.uint64(value)
        return not_ip & ((t.a_hi == want) | (t.b_hi == want))


#: up to this many distinct values, a row's index is found by binary search (no full sort)
_FEW = 4096


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values (sorted) and each row's index into them. Text columns mostly hold a
    few distinct values (states, services): numpy's hash-based ``unique_values`` finds them
    without sorting a million strings, and a binary search places each row."""
    unique_values = getattr(np, "unique_values", None)  # numpy >= 2.0
    # (not for StringDType columns: numpy 2.4's searchsorted misplaces some of their values)
    if unique_values is not None and values.dtype.kind == "U":
        unique = np.sort(unique_values(values))
        if unique.size <= _FEW:
            return unique, np.searchsorted(unique, values)
    unique, inverse = np.unique(values, return_inverse=True)
    return unique, inverse.reshape(-1)
