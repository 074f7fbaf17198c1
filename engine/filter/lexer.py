"""Filter text → tokens, each with its span in the text (for error carets).

Words are runs of anything but spaces and the punctuation below, so addresses (``fe80::1``,
``10.0.0.0/8``, ``C4A815CD/6``), field names (``ip.addr``), numbers with units (``1.5M``,
``200ms``) and plain values read as one word each; what a word means is the parser's business.
Quoted strings (``"…"`` or ``'…'``) hold anything; inside them ``\\"`` and ``\\\\`` stand for
``"`` and ``\\`` and every other backslash is kept, so a regular expression reads as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import FilterError, quote


class T(Enum):
    """Token kinds."""

    WORD = "a word"
    STRING = "a quoted string"
    OP = "a comparison"
    AND = "and"
    OR = "or"
    NOT = "not"
    LPAREN = "("
    RPAREN = ")"
    LBRACE = "{"
    RBRACE = "}"
    COMMA = ","
    END = "the end of the filter"


@dataclass(frozen=True)
class Token:
    kind: T
    text: str  # the value: a word, a string's contents, an operator in canonical form
    start: int
    end: int

    def shown(self) -> str:
        """How an error message names this token."""
        return "the end of the filter" if self.kind is T.END else quote(self.source)

    @property
    def source(self) -> str:
        return self.text if self.kind is not T.STRING else f'"{self.text}"'


#: comparison operators as typed → canonical form (``=`` is ``==``, ``~`` is ``matches``)
OPERATORS = {"==": "==", "=": "==", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">",
             "~": "matches"}
_KEYWORDS = {"and": T.AND, "or": T.OR, "not": T.NOT}
_SINGLE = {"(": T.LPAREN, ")": T.RPAREN, "{": T.LBRACE, "}": T.RBRACE, ",": T.COMMA}
_BREAK = frozenset(" \t\r\n\f\v()!=<>&|\"'~{},")


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, ending with one ``END`` token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in _SINGLE:
            tokens.append(Token(_SINGLE[c], c, i, i + 1))
            i += 1
        elif c in "&|":
            if text.startswith(c * 2, i):
                tokens.append(Token(T.AND if c == "&" else T.OR, c * 2, i, i + 2))
                i += 2
            else:
                word = "and" if c == "&" else "or"
                raise FilterError(f"“{c}” alone is not an operator: write “{c * 2}” or “{word}”",
                                  text, i)
        elif c in "=!<>~":
            two = text[i:i + 2]
            if two in OPERATORS:
                tokens.append(Token(T.OP, OPERATORS[two], i, i + 2))
                i += 2
            elif c == "!":
                tokens.append(Token(T.NOT, "!", i, i + 1))
                i += 1
            else:
                tokens.append(Token(T.OP, OPERATORS[c], i, i + 1))
                i += 1
        elif c in "\"'":
            value, i = _string(text, i)
            tokens.append(value)
        else:
            j = i
            while j < n and text[j] not in _BREAK and not text[j].isspace():
                j += 1
            word = text[i:j]
            tokens.append(Token(_KEYWORDS.get(word.lower(), T.WORD), word, i, j))
            i = j
    tokens.append(Token(T.END, "", n, n))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            return Token(T.STRING, "".join(out), start, i + 1), i + 1
        if c == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    raise FilterError(f"this string has no closing {quote}", text, start, len(text))
