"""A slow reference for the filter evaluator: the same syntax tree, decided row by row in plain
Python (ipaddress for networks, ``operator`` for comparisons, the registry's parsers for plug-in
endpoints), so the numpy evaluator can be checked against it on random filters."""

from __future__ import annotations

import ipaddress
import math
import operator
import re
from typing import Any

from engine.columns import COLUMNS, ColumnSpec
from engine.filter.literals import AddressValue, TimeValue
from engine.filter.nodes import (
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
from engine.protocols import FAMILIES
from engine.table import ConversationTable

_OPS = {"==": operator.eq, "word": operator.eq, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


class Reference:
    """Row-by-row decisions over one table."""

    def __init__(self, table: ConversationTable, first_ns: int) -> None:
        self.table = table
        self.first_ns = first_ns
        self.rows = list(table)  # Conversation views
        self.columns = {spec.name: (None if (v := spec.column(table)) is None else v.tolist())
                        for spec in COLUMNS.values()}

    def mask(self, node: Node) -> list[bool]:
        if isinstance(node, TextValue):
            return self.text_value(node.word)
        return [self.row(node, i) for i in range(len(self.rows))]

    # -- one row ----------------------------------------------------------------------------
    def row(self, node: Node, i: int) -> bool:
        if isinstance(node, And):
            return all(self.row(n, i) for n in node.operands)
        if isinstance(node, Or):
            return any(self.row(n, i) for n in node.operands)
        if isinstance(node, Not):
            return not self.row(node.operand, i)
        conv = self.rows[i]
        if isinstance(node, ProtocolIs):
            return conv.protocol in node.names
        if isinstance(node, FamilyIs):
            return int(self.table.family[i]) == node.family
        if isinstance(node, EitherEndpoint):
            return any(self.endpoint(conv.a[0], i, a) or self.endpoint(conv.b[0], i, a)
                       for a in node.addresses)
        if isinstance(node, HexValue):
            family = int(self.table.family[i])
            network = family not in (4, 6) and node.value in (int(self.table.a_hi[i]),
                                                              int(self.table.b_hi[i]))
            return network or any(self.columns[s.name] is not None
                                  and self.columns[s.name][i] == node.value
                                  for s in COLUMNS.values() if s.format == "hex" and not s.core)
        if isinstance(node, TextValue):
            return self.text_value(node.word)[i]
        assert isinstance(node, Compare)
        return self.compare(node, i)

    def compare(self, node: Compare, i: int) -> bool:
        conv = self.rows[i]
        field = node.field
        if field.protocols and conv.protocol not in field.protocols:
            return False
        if field.family is not None and int(self.table.family[i]) != field.family:
            return False
        results = []
        for spec, value in zip(field.columns, node.values, strict=True):
            if value is None or not self.present(spec, i):
                continue
            items = value if node.op == "in" else (value,)
            op = "==" if node.op in ("!=", "in") else node.op
            results.append(any(self.test(spec, op, item, i) for item in items))
        if node.op == "!=":
            return bool(results) and not any(results)
        return any(results)

    def present(self, spec: ColumnSpec, i: int) -> bool:
        values = self.columns[spec.name]
        if values is None:
            return False
        if spec.protocols and self.rows[i].protocol not in spec.protocols:
            return False
        v = values[i]
        if spec.core and spec.format in ("address", "protocol", "time"):
            return True
        if isinstance(v, float):
            return not math.isnan(v)
        if isinstance(v, str):
            return v != ""
        return v != -1

    def test(self, spec: ColumnSpec, op: str, value: Any, i: int) -> bool:
        v = self.columns[spec.name][i]  # type: ignore[index]
        if op == "present":
            return v > 0 if value == "positive" else True
        if op == "contains":
            return value in str(v)
        if op == "matches" or isinstance(value, re.Pattern):
            return value.search(str(v)) is not None
        if spec.format == "address":
            return any(self.endpoint(str(v), i, a) for a in value)
        if spec.format == "protocol":
            return v in value
        if isinstance(value, TimeValue):
            value = value.ns + self.first_ns if value.relative else value.ns
        return bool(_OPS[op](v, value))

    def endpoint(self, text: str, i: int, address: AddressValue) -> bool:
        family = int(self.table.family[i])
        if family != address.family:
            return False
        if family in (4, 6):
            return ipaddress.ip_address(text) in ipaddress.ip_network(address.text, strict=False)
        return FAMILIES[family].parse(text) == (address.want_hi, address.want_lo)  # type: ignore[misc]

    def text_value(self, word: str) -> list[bool]:
        texts = [self.columns[s.name] for s in COLUMNS.values()
                 if s.format == "text" and not s.core and self.columns[s.name] is not None]
        exact = [any(col[i] == word for col in texts) for i in range(len(self.rows))]
        if any(exact):
            return exact
        return [any(col[i].lower() == word.lower() for col in texts)
                for i in range(len(self.rows))]
