"""The filter grammar: tokens → a syntax tree (:mod:`.nodes`), or a FilterError with a span.

::

    filter     := [or_expr]
    or_expr    := and_expr (("or" | "||") and_expr)*
    and_expr   := not_expr (["and" | "&&"] not_expr)*      terms side by side: and
    not_expr   := ("not" | "!") not_expr | primary
    primary    := "(" or_expr ")" | field_term | value
    field_term := FIELD OP VALUE                          OP: == = != < <= > >= ~ eq ne lt le gt ge
                | FIELD ("contains" | "matches") VALUE
                | FIELD "in" "{" VALUE ([","] VALUE)* "}"
                | FIELD VALUE                             shorthand (see below)
                | FIELD                                   bare: > 0 for numbers, "has one" else
    value      := WORD | STRING                           a protocol, ipv4/ipv6, an address or
                                                          network, 0x…, a text column's value

``not`` binds tightest, then ``and``, then ``or``. ``FIELD VALUE`` means ``==`` for numbers,
addresses and protocols (``port 443``, ``stream 7``, ``host 10.0.0.0/8``) and "VALUE is a
whole word of it, any case" for text (``service tls``, ``name github``). After a count, byte,
duration or text column the next word is its value only if it reads as one and is not itself a
column, protocol or family word (``zerowin tcp`` is two terms); ports, streams, protocols and
times always take the next word.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import literals
from .errors import FilterError, quote
from .fields import Field, family_code, is_special_word, resolve, suggestion
from .lexer import T, Token, tokenize
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
    word_pattern,
)

_STARTS_TERM = frozenset({T.WORD, T.STRING, T.LPAREN, T.NOT})
_VALUE = frozenset({T.WORD, T.STRING})
#: Wireshark's word forms of the comparisons
_WORD_OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
                   "contains": "contains", "matches": "matches"}
#: formats whose bare name means "greater than zero"
_POSITIVE = frozenset({"count", "bytes", "duration", "float", "rate"})
#: formats whose name must be followed by a value: (what, example)
_NEEDS_VALUE = {"port": ("a number", "443"), "stream": ("a number", "7"),
                "protocol": ("a protocol name", "tcp"), "time": ("a time", "10s")}
_TEXT_LIKE = frozenset({"text", "address", "protocol"})
_ORDERED = frozenset({"count", "bytes", "rate", "float", "duration", "time", "port", "stream",
                      "hex"})
#: how deep ``not`` and parentheses may nest (the evaluator recurses that deep)
MAX_DEPTH = 100
_EXAMPLES = {T.AND: "tcp and port 80", T.OR: "port 80 or port 443", T.NOT: "not tcp"}

TextCheck = Callable[[TextValue, str], None]


class Parser:
    """One pass over the tokens of one filter text."""

    def __init__(self, text: str, check_text: TextCheck | None = None) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.k = 0
        self.depth = 0
        self.check_text = check_text

    # -- tokens ---------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.k + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.k = min(self.k + 1, len(self.tokens) - 1)
        return token

    def error(self, message: str, start: int, end: int | None = None) -> FilterError:
        return FilterError(message, self.text, start, end)

    # -- grammar --------------------------------------------------------------------------
    def parse(self) -> Node | None:
        if self.peek().kind is T.END:
            return None
        node = self.or_expr()
        token = self.peek()
        if token.kind is T.RPAREN:
            raise self.error("unexpected “)”: no “(” is open", token.start, token.end)
        if token.kind is not T.END:
            raise self.error(f"expected “and”, “or” or the end of the filter, found "
                             f"{token.shown()}", token.start, token.end)
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.peek().kind is T.OR:
            operands.append(self.operand_after(self.take(), self.and_expr))
        if len(operands) == 1:
            return operands[0]
        return Or(operands[0].start, operands[-1].end, tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while True:
            kind = self.peek().kind
            if kind is T.AND:
                operands.append(self.operand_after(self.take(), self.not_expr))
            elif kind in _STARTS_TERM:
                operands.append(self.not_expr())
            else:
                break
        if len(operands) == 1:
            return operands[0]
        return And(operands[0].start, operands[-1].end, tuple(operands))

    def operand_after(self, op: Token, parse: Callable[[], Node]) -> Node:
        found = self.peek()
        if found.kind not in _STARTS_TERM:
            raise self.error(f"“{op.text}” needs a term after it, as in “{_EXAMPLES[op.kind]}”; "
                             f"found {found.shown()}", found.start, found.end)
        return parse()

    def not_expr(self) -> Node:
        token = self.peek()
        if token.kind is T.NOT:
            self.nest(token)
            operand = self.operand_after(self.take(), self.not_expr)
            self.depth -= 1
            return Not(token.start, operand.end, operand)
        return self.primary()

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the filter nests “not” and parentheses more than {MAX_DEPTH} "
                             "deep", token.start, token.end)

    def primary(self) -> Node:
        token = self.peek()
        if token.kind is T.LPAREN:
            self.nest(token)
            self.take()
            if self.peek().kind is T.RPAREN:
                raise self.error("expected a term inside the parentheses", token.start,
                                 self.peek().end)
            if self.peek().kind not in _STARTS_TERM:
                found = self.peek()
                raise self.error(f"expected a term after “(”, found {found.shown()}",
                                 found.start, found.end)
            inner = self.or_expr()
            close = self.peek()
            if close.kind is not T.RPAREN:
                raise self.error(f"expected “)” to close the “(” at character {token.start + 1}"
                                 f", found {close.shown()}", close.start, close.end)
            self.take()
            self.depth -= 1
            return inner
        if token.kind is T.WORD:
            return self.word_term(self.take())
        if token.kind is T.STRING:
            self.take()
            self.no_comparison_after(token)
            return self.text_value(token)
        raise self.error(f"expected a term (a column, protocol, address or value), found "
                         f"{token.shown()}", token.start, token.end)

    # -- terms ----------------------------------------------------------------------------
    def word_term(self, token: Token) -> Node:
        field = resolve(token.text)
        if field is not None:
            return self.field_term(token, field)
        self.no_comparison_after(token)
        return self.value_term(token)

    def no_comparison_after(self, token: Token) -> None:
        following = self.peek()
        if following.kind is T.OP or (following.kind is T.WORD
                                      and following.text.lower() in _WORD_OPERATORS):
            if token.kind is T.STRING:
                raise self.error("a comparison needs a column name on its left", token.start,
                                 token.end)
            raise self.error(f"no column called {quote(token.text)}{suggestion(token.text)}",
                             token.start, token.end)

    def value_term(self, token: Token) -> Node:
        word, start, end = token.text, token.start, token.end
        family = family_code(word)  # before protocols: ``ipv6`` is also IP protocol 41
        if family is not None:
            return FamilyIs(start, end, family)
        names = literals.protocol_names(word)
        if names:
            return ProtocolIs(start, end, names)
        found = literals.addresses(word)
        if found:
            return EitherEndpoint(start, end, found)
        if word.lower().startswith("0x"):
            try:
                return HexValue(start, end, literals.hex_int(word))
            except literals.LiteralError as exc:
                raise self.error(str(exc), start, end) from None
        if word.isdigit():
            n = word if len(word) <= 12 else "N"
            raise self.error(f"{quote(word)}: a bare number is ambiguous; write “port {n}” or "
                             f"“stream {n}”", start, end)
        return self.text_value(token)

    def text_value(self, token: Token) -> TextValue:
        node = TextValue(token.start, token.end, token.text)
        if self.check_text is not None:
            self.check_text(node, self.text)
        return node

    def field_term(self, name: Token, field: Field) -> Node:
        following = self.peek()
        if following.kind is T.OP:
            return self.comparison(name, field, self.take())
        if following.kind is T.WORD:
            op = _WORD_OPERATORS.get(following.text.lower())
            if op is not None:
                self.take()
                return self.comparison(name, field, following, op)
            if following.text.lower() == "in" and self.peek(1).kind is T.LBRACE:
                return self.membership(name, field, self.take())
        return self.shorthand(name, field)

    def comparison(self, name: Token, field: Field, op_token: Token,
                   op: str | None = None) -> Compare:
        op = op or op_token.text
        columns = self.columns_for(field, op, op_token)
        value = self.peek()
        if value.kind in _VALUE:
            self.take()
            values = self.read(columns, op, value)
        elif op in ("==", "!=") and value.kind in (T.END, T.RPAREN, T.AND, T.OR):
            # ``status!=`` at the end: the empty text (what the first filter language read)
            values = tuple("" if c is not None and c.format == "text" else None
                           for c in columns)
            if all(v is None for v in values):
                raise self.error(f"expected a value after “{op_token.source}”, found "
                                 f"{value.shown()}", value.start, value.end)
            return Compare(name.start, op_token.end, field, op, values)
        else:
            raise self.error(f"expected a value after “{op_token.source}”, found "
                             f"{value.shown()}", value.start, value.end)
        return Compare(name.start, value.end, field, op, values)

    def membership(self, name: Token, field: Field, op_token: Token) -> Compare:
        columns = self.columns_for(field, "==", op_token)
        brace = self.take()
        items: list[Token] = []
        while True:
            token = self.take()
            if token.kind in _VALUE:
                items.append(token)
            elif token.kind is T.COMMA and items:
                continue
            elif token.kind is T.RBRACE and items:
                break
            else:
                expected = "a value or “}”" if items else "a value"
                raise self.error(f"expected {expected} in the set opened at character "
                                 f"{brace.start + 1}, found {token.shown()}", token.start,
                                 token.end)
        per_item = [self.read(columns, "==", item) for item in items]
        values = tuple(None if c is None else tuple(v[k] for v in per_item if v[k] is not None)
                       for k, c in enumerate(columns))
        return Compare(name.start, token.end, field, "in", values)

    def shorthand(self, name: Token, field: Field) -> Compare:
        needs = next((_NEEDS_VALUE[c.format] for c in field.columns
                      if c.format in _NEEDS_VALUE), None)
        value = self.peek()
        if needs is not None:
            what, example = needs
            hint = f"{quote(name.text)} needs {what} after it, as in “{name.text} {example}”"
            if value.kind not in _VALUE:
                raise self.error(hint, name.start, name.end)
            self.take()
            try:
                values = self.read(field.columns, "word", value)
            except FilterError:
                raise self.error(f"{hint}, not {value.shown()}", value.start,
                                 value.end) from None
            return Compare(name.start, value.end, field, "word", values)
        if value.kind is T.STRING or (value.kind is T.WORD and not is_special_word(value.text)):
            shorthand = self.try_read(field.columns, "word", value.text)
            if shorthand is not None:
                self.take()
                return Compare(name.start, value.end, field, "word", shorthand)
        return Compare(name.start, name.end, field, "present", tuple(
            "positive" if c.format in _POSITIVE else "present" for c in field.columns))

    # -- values ---------------------------------------------------------------------------
    def columns_for(self, field: Field, op: str, op_token: Token) -> tuple:
        """The field's columns the operator applies to (None for the others)."""
        def fits(fmt: str) -> bool:
            if op in ("contains", "matches"):
                return fmt in _TEXT_LIKE
            if op in ("<", "<=", ">", ">="):
                return fmt in _ORDERED
            return True

        columns = tuple(c if fits(c.format) else None for c in field.columns)
        if all(c is None for c in columns):
            fmt = field.columns[0].format
            if op in ("contains", "matches"):
                why = f"“{op}” works on text; “{field.word}” holds {fmt} values"
            elif fmt == "address":
                why = ("addresses compare with == and != (a network such as 10.0.0.0/8 "
                       "matches the addresses in it)")
            else:
                why = (f"“{field.word}” holds {fmt}; it compares with ==, !=, contains and "
                       "matches")
            raise self.error(why, op_token.start, op_token.end)
        return columns

    def read(self, columns: tuple, op: str, token: Token) -> tuple[object, ...]:
        """``token`` read as a value of each column (None where the column is None)."""
        if op == "matches":
            try:
                pattern = re.compile(token.text, re.IGNORECASE)
            except re.error as exc:
                raise self.error(f"{quote(token.text)} is not a regular expression ({exc.msg})",
                                 token.start, token.end) from None
            return tuple(None if c is None else pattern for c in columns)
        values: list[object] = []
        problem: literals.LiteralError | None = None
        for column in columns:
            if column is None:
                values.append(None)
                continue
            try:
                values.append(_read_one(column.format, op, token.text))
            except literals.LiteralError as exc:
                problem = problem or exc
                values.append(None)
        if problem is not None and all(v is None for v in values):
            raise self.error(str(problem), token.start, token.end)
        return tuple(values)

    def try_read(self, columns: tuple, op: str, text: str) -> tuple[object, ...] | None:
        values = []
        for column in columns:
            try:
                values.append(_read_one(column.format, op, text))
            except literals.LiteralError:
                values.append(None)
        return None if all(v is None for v in values) else tuple(values)


def _read_one(fmt: str, op: str, text: str) -> object:
    if op == "contains":
        return text
    if op == "word" and fmt == "text":
        return word_pattern(text)
    return literals.parse(text, fmt)


def parse(text: str, check_text: TextCheck | None = None) -> Node | None:
    """The syntax tree of ``text`` (None for a blank filter); raises FilterError."""
    return Parser(text, check_text).parse()
