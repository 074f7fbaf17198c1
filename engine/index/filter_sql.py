"""The conversation filter language (:mod:`engine.filter`) as SQL over an index.

The filter text is parsed by the engine's own parser, so the index view accepts exactly the
capture table's language (``and``/``or``/``not``, parentheses, comparisons with units,
``contains``/``matches``, ``in``, qualified fields such as ``tcp.port``); this module turns the
syntax tree into a WHERE clause with the evaluator's semantics (:mod:`engine.filter.evaluate`):
a comparison holds only where the column has a value (NULL in the index), a field over several
columns holds when any does, ``!=`` when none is equal.

Values reach the SQL as literals built here from parsed numbers and escaped text, never as raw
user text. Endpoints of IPv4 are compared in SQL (the address text as a number); other address
families (IPv6, Z-Wave) and regular expressions go through small Python functions registered
with DuckDB (:func:`register_functions`), so they behave exactly as in the capture table.

Where the index differs from a capture's table: a bare word matches a text column's value in
any case (the table prefers the exact case when some row has it), an unknown word matches
nothing instead of being an error (the index does not know every value without reading it),
and columns the index stores as JSON (``command_classes``) can only be tested for presence.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any

from ..columns import ColumnSpec
from ..filter import FilterError, compile_filter
from ..filter.literals import AddressValue, TimeValue
from ..filter.nodes import (
    And,
    Compare,
    EitherEndpoint,
    FamilyIs,
    HexValue,
    Node,
    Not,
    Or,
    ProtocolIs,
    TextValue,
)
from ..protocols import FAMILIES
from .browse import quote

HELP = ("The capture table's filter language: addresses (10.0.0.0/8), port 443, tcp, RSTO, "
        "packets>100, duration>2s, and/or/not, parentheses; capture_path contains \"ring\" "
        "picks captures.")


class FilterSyntaxError(ValueError):
    """A filter the index cannot apply; ``str()`` says why."""


#: core columns → the index column holding the same value
_CORE = {"a_port": "a_port", "b_port": "b_port", "packets": "packets", "bytes": "bytes",
         "stream": "stream", "packets_ab": "packets_a_to_b", "bytes_ab": "bytes_a_to_b",
         "packets_ba": "packets_b_to_a", "bytes_ba": "bytes_b_to_a", "protocol": "protocol",
         "a_address": "a_address", "b_address": "b_address"}
#: core values the index holds in another unit: computed back exactly
_DURATION_NS = "(end_ns - start_ns)"
_RATES = {"bps_ab": "bytes_a_to_b", "bps_ba": "bytes_b_to_a"}
_INT64 = (-(1 << 63), (1 << 63) - 1)

#: what the registered Python functions look things up in (filled by the translator)
_ADDRESSES: dict[int, AddressValue] = {}
_PATTERNS: dict[int, re.Pattern[str]] = {}
_ids = itertools.count()
_lock = threading.Lock()


def text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value) if _INT64[0] <= value <= _INT64[1] else repr(float(value))
    number = float(value)
    if number != number:
        return "'NaN'::DOUBLE"
    if number in (float("inf"), float("-inf")):
        return "'Infinity'::DOUBLE" if number > 0 else "'-Infinity'::DOUBLE"
    return repr(number)


def _ipv4_value(column: str) -> str:
    """An IPv4 address column as a number (NULL for other addresses), in SQL."""
    c = quote(column)
    parts = [f"TRY_CAST(split_part({c}, '.', {k}) AS BIGINT)" for k in (1, 2, 3, 4)]
    shifted = " + ".join(f"{p} * {1 << (8 * (3 - k))}" for k, p in enumerate(parts))
    return f"(CASE WHEN regexp_full_match({c}, '\\d+\\.\\d+\\.\\d+\\.\\d+') THEN {shifted} END)"


def _true(sql: str) -> str:
    """A condition that is false, never NULL, where a value is missing."""
    return f"coalesce(({sql}), false)"


class FilterTranslator:
    """Filter text → SQL for an index whose columns have these DuckDB types."""

    def __init__(self, types: dict[str, str]) -> None:
        self.types = types

    def where(self, filter_text: str) -> str:
        """The WHERE clause (without the keyword) for a filter text; "" keeps every row."""
        try:
            parsed = compile_filter(filter_text)
        except FilterError as exc:
            raise FilterSyntaxError(str(exc)) from None
        return "" if parsed.root is None else self._node(parsed.root)

    # -- nodes ------------------------------------------------------------------------------
    def _node(self, node: Node) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self._node(n) for n in node.operands) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self._node(n) for n in node.operands) + ")"
        if isinstance(node, Not):
            return f"(NOT {self._node(node.operand)})"
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, ProtocolIs):
            return self._protocols(node.names)
        if isinstance(node, FamilyIs):
            return _true(self._family("a_address", node.family))
        if isinstance(node, EitherEndpoint):
            return "(" + " OR ".join(_true(self._endpoint(c, a)) for a in node.addresses
                                     for c in ("a_address", "b_address")) + ")"
        if isinstance(node, HexValue):
            return self._hex(node.value)
        if isinstance(node, TextValue):
            return self._word(node.word)
        raise FilterSyntaxError(f"The index view cannot apply this filter part ({node!r}).")

    def _protocols(self, names: frozenset[str]) -> str:
        return _true("protocol IN (" + ", ".join(text(n) for n in sorted(names)) + ")")

    def _family(self, column: str, family: int) -> str:
        if family == 4:
            return f"regexp_full_match({quote(column)}, '\\d+\\.\\d+\\.\\d+\\.\\d+')"
        return f"flowscope_family({quote(column)}, {int(family)})"

    def _endpoint(self, column: str, address: AddressValue) -> str:
        if address.family == 4:
            value = _ipv4_value(column)
            return f"({value} & {address.mask_lo & 0xFFFFFFFF}) = {address.want_lo}"
        key = _remember(_ADDRESSES, address)
        return f"flowscope_endpoint({quote(column)}, {key})"

    def _hex(self, value: int | float) -> str:
        if not isinstance(value, int) or not 0 <= value < 1 << 64:
            return "false"
        parts = [f"flowscope_network_id(a_address, {value}) OR "
                 f"flowscope_network_id(b_address, {value})"]
        if value <= _INT64[1]:
            for spec in _declared("hex"):
                column = self._declared_column(spec)
                if column is not None:
                    parts.append(f"{self._hex_number(column)} = {value}")
        return "(" + " OR ".join(_true(p) for p in parts) + ")"

    def _hex_number(self, column: str) -> str:
        if self.types[column] == "VARCHAR":  # written as hex digits (the Z-Wave home id)
            return f"TRY_CAST(('0x' || {quote(column)}) AS UBIGINT)"
        return quote(column)

    def _word(self, word: str) -> str:
        columns = [c for c in (self._declared_column(s) for s in _declared("text"))
                   if c is not None and self.types[c] == "VARCHAR"]
        if not columns:
            return "false"
        return "(" + " OR ".join(_true(f"lower({quote(c)}) = {text(word.lower())}")
                                 for c in columns) + ")"

    # -- comparisons --------------------------------------------------------------------------
    def _compare(self, node: Compare) -> str:
        op = "==" if node.op in ("!=", "in") else node.op
        has_value: list[str] = []
        matches: list[str] = []
        for spec, value in zip(node.field.columns, node.values, strict=True):
            if value is None:
                continue
            present = self._present(spec)
            if present is None:
                continue
            if node.op == "in":
                items = value if isinstance(value, tuple | list | frozenset) else (value,)
                hit = " OR ".join(_true(self._test(spec, op, item)) for item in items)
            else:
                hit = _true(self._test(spec, op, value))
            matches.append(f"({present} AND ({hit or 'false'}))")
            has_value.append(present)
        if not has_value:
            return "false"
        any_match = "(" + " OR ".join(matches) + ")"
        sql = (f"(({' OR '.join(has_value)}) AND NOT {any_match})" if node.op == "!="
               else any_match)
        field = node.field
        if field.protocols:
            sql = f"({sql} AND {self._protocols(field.protocols)})"
        if field.family is not None:
            sql = f"({sql} AND {_true(self._family('a_address', field.family))})"
        return sql

    def _present(self, spec: ColumnSpec) -> str | None:
        """SQL that holds where the column has a value (None: the index lacks the column)."""
        if spec.core:
            if spec.format in ("address", "protocol", "time") or spec.name == "duration":
                return "true"
            if spec.name in _RATES:
                return _true(f"{_DURATION_NS} > 0")
            column = _CORE.get(spec.name)
            return None if column is None else _true(f"{quote(column)} IS NOT NULL")
        column = self._declared_column(spec)
        return None if column is None else _true(f"{quote(column)} IS NOT NULL")

    def _declared_column(self, spec: ColumnSpec) -> str | None:
        name = spec.key.replace(".", "_")
        return name if name in self.types else None

    def _value_sql(self, spec: ColumnSpec) -> str:
        """The column's value as the filter compares it (the table's raw value)."""
        if spec.core:
            if spec.name == "duration":
                return _DURATION_NS
            if spec.name == "start":
                return "start_ns"
            if spec.name in _RATES:
                size = _RATES[spec.name]
                return f"({size} * 8.0 / ({_DURATION_NS} / 1e9))"
            return quote(_CORE[spec.name])
        column = self._declared_column(spec)
        assert column is not None
        kind = self.types[column]
        if kind == "JSON":
            raise FilterSyntaxError(f"The index keeps {column} as JSON: only “{column}” on its "
                                    "own (rows that have it) works in the index view.")
        if spec.format == "hex":
            return self._hex_number(column)
        if kind == "BOOLEAN":
            return f"CAST({quote(column)} AS BIGINT)"
        return quote(column)

    def _test(self, spec: ColumnSpec, op: str, value: Any) -> str:
        if op == "present":
            return f"{self._value_sql(spec)} > 0" if value == "positive" else "true"
        if spec.core and spec.name in ("a_address", "b_address") and op not in (
                "contains", "matches") and not isinstance(value, re.Pattern):
            return " OR ".join(_true(self._endpoint(spec.name, a)) for a in value) or "false"
        expr = self._value_sql(spec)
        as_text = f"CAST({expr} AS VARCHAR)"
        if op == "contains":
            return f"contains({as_text}, {text(str(value))})"
        if op == "matches" or (op == "word" and isinstance(value, re.Pattern)):
            return f"flowscope_matches({as_text}, {_remember(_PATTERNS, value)})"
        if isinstance(value, frozenset):  # protocol names
            return self._protocols(value)
        if isinstance(value, tuple) and value and isinstance(value[0], AddressValue):
            return f"{as_text} = {text(value[0].text)}"
        if isinstance(value, TimeValue):
            if value.relative:
                return f"({expr} - capture_first_ns) {_SQL_OPS[op]} {_number(value.ns)}"
            return f"{expr} {_SQL_OPS[op]} {_number(value.ns)}"
        if isinstance(value, str):
            return f"{as_text} = {text(value)}"
        return f"{expr} {_SQL_OPS[op]} {_number(value)}"


_SQL_OPS = {"==": "=", "word": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _declared(fmt: str) -> list[ColumnSpec]:
    from ..columns import COLUMNS

    return [spec for spec in COLUMNS.values() if not spec.core and spec.format == fmt]


def _remember(table: dict[int, Any], value: Any) -> int:
    """A number the registered functions look ``value`` up by."""
    with _lock:
        for key, known in table.items():
            if known == value:
                return key
        key = next(_ids)
        table[key] = value
        return key


# -- functions DuckDB calls --------------------------------------------------------------------
def _parsed(address: str | None, family: int) -> tuple[int, int] | None:
    known = FAMILIES.get(family)
    if address is None or known is None or known.parse is None:
        return None
    try:
        return known.parse(address)
    except ValueError:
        return None


def endpoint(address: str | None, key: int) -> bool:
    """Whether an endpoint's text is the address (or lies in the network) remembered as
    ``key``, compared as the table compares it (family, then masked halves)."""
    value = _ADDRESSES[key]
    halves = _parsed(address, value.family)
    if halves is None:
        return False
    hi, lo = halves
    return (hi & value.mask_hi, lo & value.mask_lo) == (value.want_hi, value.want_lo)


def family(address: str | None, code: int) -> bool:
    """Whether an endpoint's text reads as an address of family ``code``."""
    return _parsed(address, code) is not None


def network_id(address: str | None, value: int) -> bool:
    """Whether an endpoint of a non-IP family has ``value`` as its network part (``hi``)."""
    for code in FAMILIES:
        if code in (4, 6):
            continue
        halves = _parsed(address, code)
        if halves is not None and halves[0] == value:
            return True
    return False


def matches(value: str | None, key: int) -> bool:
    return value is not None and _PATTERNS[key].search(value) is not None


def register_functions(con: Any) -> None:
    """Make the functions above known to a DuckDB connection (and its cursors)."""
    for name, fn, params in (("flowscope_endpoint", endpoint, ["VARCHAR", "BIGINT"]),
                             ("flowscope_family", family, ["VARCHAR", "BIGINT"]),
                             ("flowscope_network_id", network_id, ["VARCHAR", "UBIGINT"]),
                             ("flowscope_matches", matches, ["VARCHAR", "BIGINT"])):
        con.create_function(name, fn, params, "BOOLEAN", null_handling="special",
                            side_effects=False)
