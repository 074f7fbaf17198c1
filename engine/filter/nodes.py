"""The filter's syntax tree: what the parser builds once and the evaluator reads per table.

Every node keeps its span in the filter text (``start``, ``end``) so errors found while
evaluating (a word no text column holds) can point at it too. Values are already read by the
format of the column they meet (see :mod:`.literals`), one per column of the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .fields import Field
from .literals import AddressValue


@dataclass(frozen=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True)
class And(Node):
    """Every operand holds (a chain of ``and`` is one node, so long filters stay shallow)."""

    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    """Some operand holds."""

    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    operand: Node


#: comparison operators (``word``: the NAME VALUE shorthand; ``present``: a bare NAME)
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "contains", "matches", "in", "word",
                         "present"})


@dataclass(frozen=True)
class Compare(Node):
    """``field op value``. ``values`` has one entry per column of the field: the value read by
    that column's format (a tuple of them for ``in``, a compiled pattern for ``matches`` and
    for ``word`` on text), or None where it does not read as that column's value."""

    field: Field
    op: str
    values: tuple[object, ...]


@dataclass(frozen=True)
class ProtocolIs(Node):
    """A bare protocol word: rows of these protocols."""

    names: frozenset[str]


@dataclass(frozen=True)
class FamilyIs(Node):
    """``ipv4``, ``ipv6``, ``ip``: rows whose endpoints are of this address family."""

    family: int


@dataclass(frozen=True)
class EitherEndpoint(Node):
    """A bare address, network or plug-in endpoint: rows where A or B matches one of them."""

    addresses: tuple[AddressValue, ...]


@dataclass(frozen=True)
class HexValue(Node):
    """A bare ``0x…`` number: a value of a hex column, or the network part (a Z-Wave home id)
    of an endpoint of a non-IP family (a float beyond int64: it matches nothing)."""

    value: int | float


@dataclass(frozen=True)
class TextValue(Node):
    """Any other bare word: the whole value of a text column (``SF``, ``RSTO``), in exactly
    this case where the table has it so, in any case otherwise; an error where no text column
    has it at all (a typo would otherwise quietly match nothing)."""

    word: str


def word_pattern(value: str) -> re.Pattern[str]:
    """The ``NAME VALUE`` match on text: ``value`` as a whole word, any case. Words are runs of
    letters, digits, ``_`` and ``-``, so ``github`` finds ``api.github.com`` and ``tls`` does
    not find ``DTLS``."""
    return re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])", re.IGNORECASE)
