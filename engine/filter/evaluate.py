"""Syntax tree × conversation table → one boolean per row, with numpy on whole columns.

Semantics follow Wireshark's display filters where a conversation column plays a field's part:
a comparison holds only on rows where the column has a value (a UDP row has no TCP state, an
ICMP row no port), so ``retransmissions < 5`` leaves UDP rows out while ``not retransmissions
>= 5`` keeps them. A field over several columns (``port``: Port A and Port B) holds when any of
them does, except ``!=``, which holds when none is equal (Wireshark's ``!=`` since 3.6).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..columns import ColumnSpec
from .errors import FilterError, quote
from .literals import AddressValue, TimeValue, as_float
from .nodes import (
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
from .source import ENDPOINT_SIDES, FilterColumns

_NUMERIC_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": np.equal, "word": np.equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
    ">=": np.greater_equal}
_INT64 = (-(1 << 63), (1 << 63) - 1)

#: what an "unknown term" error suggests instead
TERMS_HINT = ("expected an address (10.0.0.1, 10.0.0.0/8), port N, stream N, a protocol (tcp, "
              "udp, …), a comparison (packets>100) or a value a text column holds (SF, RSTO)")


def evaluate(node: Node, columns: FilterColumns, text: str = "") -> np.ndarray:
    """The rows ``node`` selects (a new boolean array the caller may change)."""
    if isinstance(node, And):
        mask = evaluate(node.operands[0], columns, text)
        for operand in node.operands[1:]:
            mask &= evaluate(operand, columns, text)
        return mask
    if isinstance(node, Or):
        mask = evaluate(node.operands[0], columns, text)
        for operand in node.operands[1:]:
            mask |= evaluate(operand, columns, text)
        return mask
    if isinstance(node, Not):
        return ~evaluate(node.operand, columns, text)
    if isinstance(node, Compare):
        return _compare(node, columns)
    if isinstance(node, ProtocolIs):
        return columns.protocols(node.names).copy()
    if isinstance(node, FamilyIs):
        return columns.family(node.family)
    if isinstance(node, EitherEndpoint):
        mask = columns.none()
        for address in node.addresses:
            mask |= columns.endpoint("a", address) | columns.endpoint("b", address)
        return mask
    if isinstance(node, HexValue):
        return _hex_value(node.value, columns)
    if isinstance(node, TextValue):
        return text_value(node, columns, text).copy()
    raise TypeError(f"not a filter node: {node!r}")


def text_value(node: TextValue, columns: FilterColumns, text: str) -> np.ndarray:
    """Rows where a declared text column holds ``node.word`` whole: in exactly that case if
    any row has it so, in any case otherwise; FilterError when none has it at all."""
    word = node.word
    found = columns.text_values.get(word)
    if found is not None:
        return found
    texts = columns.declared("text")
    exact = [values == word for _, values in texts]
    if any(m.any() for m in exact):
        found = np.logical_or.reduce(exact)
    else:
        loose = [columns.equals_any_case(spec, word) for spec, _ in texts]
        if not any(m.any() for m in loose):
            raise FilterError(f"Unknown filter term {quote(word)}: no column, protocol, address or "
                              f"text value is called so; {TERMS_HINT}",
                              text, node.start, node.end)
        found = np.logical_or.reduce(loose)
    columns.text_values[word] = found
    return found


def _hex_value(value: int | float, columns: FilterColumns) -> np.ndarray:
    mask = columns.network_id(value)
    if _INT64[0] <= value <= _INT64[1]:
        for _, values in columns.declared("hex"):
            mask |= values == value
    return mask


def _compare(node: Compare, columns: FilterColumns) -> np.ndarray:
    op = "==" if node.op in ("!=", "in") else node.op
    has_value = columns.none()
    matches = columns.none()
    for spec, value in zip(node.field.columns, node.values, strict=True):
        if value is None:
            continue
        present = columns.present(spec)
        if present is None:
            continue
        if node.op == "in":
            hit = columns.none()
            for item in value:  # type: ignore[attr-defined]
                hit |= _test(spec, op, item, columns)
        else:
            hit = _test(spec, op, value, columns)
        matches |= present & hit
        has_value |= present
    mask = has_value & ~matches if node.op == "!=" else matches
    field = node.field
    if field.protocols:
        mask &= columns.protocols(field.protocols)
    if field.family is not None:
        mask &= columns.family(field.family)
    return mask


def _test(spec: ColumnSpec, op: str, value: Any, columns: FilterColumns) -> np.ndarray:
    """Rows where the column's value passes ``op value`` (not-applicable rows may pass too:
    the caller keeps only rows with a value)."""
    if op == "present":
        if value == "positive":
            values = columns.values(spec)
            assert values is not None
            return values > 0
        return columns.all()
    if op in ("contains", "matches") or (op == "word" and isinstance(value, re.Pattern)):
        if op == "contains":
            return columns.contains(spec, value)
        return columns.text_matches(spec, lambda u: value.search(u) is not None)
    if spec.core and spec.name in ENDPOINT_SIDES:
        side = ENDPOINT_SIDES[spec.name]
        mask = columns.none()
        for address in value:
            mask |= columns.endpoint(side, address)
        return mask
    if isinstance(value, frozenset):  # protocol names
        return columns.protocols(value)
    if isinstance(value, tuple) and value and isinstance(value[0], AddressValue):
        # an address column of an analysis (text): compare with the address as typed
        return _text_column(spec, columns) == value[0].text
    if isinstance(value, TimeValue):
        value = value.ns + columns.first_ns if value.relative else value.ns
    values = columns.values(spec)
    assert values is not None
    if isinstance(value, str):
        return values == value
    if values.dtype.kind in "iu" and isinstance(value, int) and not (
            _INT64[0] <= value <= _INT64[1]):
        value = as_float(value)  # beyond int64: compare as a float, never overflow
    return np.asarray(_NUMERIC_OPS[op](values, value), dtype=bool)


def _text_column(spec: ColumnSpec, columns: FilterColumns) -> np.ndarray:
    values = columns.values(spec)
    assert values is not None
    return values.astype(str) if values.dtype.kind not in "UO" else values
