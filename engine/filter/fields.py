"""Filter words → columns of the registry (engine.columns), and the protocol and family words.

A field word is a column's name or alias (``packets``, ``port`` = Port A or Port B), optionally
qualified Wireshark-style by a protocol or address family: ``tcp.port`` is the port columns of
TCP rows, ``udp.stream`` the stream number of UDP rows, ``ip.addr`` either address of IPv4 rows,
``ipv6.src`` endpoint A of IPv6 rows, ``zwave.home_id`` the home id. No column needs code here:
the registry is read when a filter is parsed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..columns import COLUMNS, ColumnSpec, find_columns
from ..protocols import FAMILIES
from .literals import protocol_names

#: Wireshark names the IPv4 layer ``ip``
_FAMILY_ALIASES = {"ip": 4}


def family_code(word: str) -> int | None:
    """The address family a word names (``ip``/``ipv4``, ``ipv6``, a plug-in's family)."""
    word = word.lower()
    if word in _FAMILY_ALIASES:
        return _FAMILY_ALIASES[word]
    for code, family in FAMILIES.items():
        if family.name.lower() == word:
            return code
    return None


@dataclass(frozen=True)
class Field:
    """The columns one field word names, and the rows a qualifier keeps."""

    word: str
    columns: tuple[ColumnSpec, ...]
    protocols: frozenset[str] = frozenset()  # () = any protocol
    family: int | None = None  # None = any family

    @property
    def formats(self) -> frozenset[str]:
        return frozenset(c.format for c in self.columns)


def resolve(word: str) -> Field | None:
    """The field ``word`` names, or None when it names no column."""
    columns = find_columns(word)
    if columns:
        return Field(word, tuple(columns))
    qualifier, dot, rest = word.partition(".")
    if not dot or not rest:
        return None
    columns = find_columns(rest)
    if not columns:
        return None
    family = family_code(qualifier)
    if family is not None:
        return Field(word, tuple(columns), family=family)
    names = protocol_names(qualifier)
    if names:
        return Field(word, tuple(columns), protocols=names)
    return None


def suggestion(word: str) -> str:
    """``; did you mean “…”?`` for a mistyped column word (``tcp.prot`` → ``tcp.port``), or a
    few examples."""
    words = set(COLUMNS)
    for spec in COLUMNS.values():
        words.update(spec.aliases)
    qualifier, dot, rest = word.lower().partition(".")
    prefix = ""
    if dot and (family_code(qualifier) is not None or protocol_names(qualifier)):
        prefix, word = qualifier + ".", rest
    close = difflib.get_close_matches(word.lower(), sorted(words), n=3, cutoff=0.75)
    if close:
        return "; did you mean " + " or ".join(f"“{prefix}{w}”" for w in close) + "?"
    return "; expected a column such as packets, bytes, port, stream or duration"


def is_special_word(word: str) -> bool:
    """Words that are terms of their own (a column, a protocol, an address family), so they
    never serve as the value of a ``NAME VALUE`` shorthand."""
    return (resolve(word) is not None or bool(protocol_names(word))
            or family_code(word) is not None)
