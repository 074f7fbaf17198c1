"""The filter grammar: precedence, associativity, every operator, units, field names, the
``NAME VALUE`` shorthand and errors that point at the offending characters."""

from __future__ import annotations

import re

import pytest

import engine.plugins  # noqa: F401  (the TCP and Z-Wave columns are part of the registry)
from engine.filter import FilterError, compile_filter, parse
from engine.filter.lexer import T, tokenize
from engine.filter.literals import TimeValue
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


def show(node: Node | None) -> str:
    """A compact s-expression of a tree: (or tcp (and udp (not icmp)))."""
    if node is None:
        return "∅"
    if isinstance(node, And | Or):
        name = "and" if isinstance(node, And) else "or"
        return f"({name} " + " ".join(show(n) for n in node.operands) + ")"
    if isinstance(node, Not):
        return f"(not {show(node.operand)})"
    if isinstance(node, ProtocolIs):
        return "|".join(sorted(node.names))
    if isinstance(node, FamilyIs):
        return f"family{node.family}"
    if isinstance(node, EitherEndpoint):
        return "endpoint:" + node.addresses[0].text
    if isinstance(node, HexValue):
        return f"hex:{node.value:x}"
    if isinstance(node, TextValue):
        return f"text:{node.word}"
    assert isinstance(node, Compare)
    values = [v.pattern if isinstance(v, re.Pattern) else v for v in node.values]
    return f"[{node.field.word} {node.op} {values[0]!r}]"


@pytest.mark.parametrize(("text", "tree"), [
    # not binds tightest, then and, then or
    ("tcp or udp and icmp", "(or tcp (and udp icmp))"),
    ("tcp and udp or icmp", "(or (and tcp udp) icmp)"),
    ("not tcp and udp", "(and (not tcp) udp)"),
    ("not tcp or udp", "(or (not tcp) udp)"),
    ("!tcp || udp && icmp", "(or (not tcp) (and udp icmp))"),
    ("tcp udp or icmp", "(or (and tcp udp) icmp)"),  # side by side = and, binds as and
    ("(tcp or udp) and icmp", "(and (or tcp udp) icmp)"),
    ("not (tcp or udp)", "(not (or tcp udp))"),
    ("not not tcp", "(not (not tcp))"),
    ("! ! tcp", "(not (not tcp))"),
    # chains are one n-ary node, in order (and and or are associative)
    ("tcp or udp or icmp or gre", "(or tcp udp icmp gre)"),
    ("tcp and udp && icmp gre", "(and tcp udp icmp gre)"),
    ("tcp and (udp and icmp)", "(and tcp (and udp icmp))"),
    ("((tcp))", "tcp"),
    ("TCP OR Udp", "(or tcp udp)"),  # keywords and protocols in any case
    ("", "∅"),
    ("   ", "∅"),
])
def test_precedence_and_associativity(text: str, tree: str) -> None:
    assert show(parse(text)) == tree


@pytest.mark.parametrize(("text", "op"), [
    ("packets == 5", "=="), ("packets = 5", "=="), ("packets != 5", "!="),
    ("packets < 5", "<"), ("packets <= 5", "<="), ("packets > 5", ">"), ("packets >= 5", ">="),
    ("packets eq 5", "=="), ("packets ne 5", "!="), ("packets lt 5", "<"),
    ("packets le 5", "<="), ("packets gt 5", ">"), ("packets ge 5", ">="),
    ("packets>5", ">"), ("packets>=5", ">="), ("packets!=5", "!="),
    ("history contains R", "contains"), ("history matches ^s", "matches"),
    ("history ~ ^s", "matches"), ("port in {80 443}", "in"), ("port 80", "word"),
    ("retransmissions", "present"),
])
def test_every_comparison_operator(text: str, op: str) -> None:
    node = parse(text)
    assert isinstance(node, Compare) and node.op == op


def test_membership_values_with_and_without_commas() -> None:
    node = parse("port in {80, 443 8080}")
    assert isinstance(node, Compare)
    assert node.values == ((80, 443, 8080), (80, 443, 8080))  # a_port and b_port


@pytest.mark.parametrize(("text", "value"), [
    # counts and bytes: SI powers of 1000 (as the table prints kB), IEC powers of 1024
    ("bytes > 30k", 30_000), ("bytes > 30K", 30_000), ("bytes > 1.5M", 1_500_000),
    ("bytes > 2G", 2_000_000_000), ("bytes > 1T", 10**12), ("bytes > 30kB", 30_000),
    ("bytes > 64KiB", 65_536), ("bytes > 64Ki", 65_536), ("bytes > 1.5MiB", 1_572_864),
    ("bytes > 2GiB", 2 << 30), ("bytes > 0x10", 16), ("bytes > 1e3", 1000),
    ("packets > 2.5", 2.5), ("packets >= 100", 100), ("packets > 10k", 10_000),
    # durations in nanoseconds; a bare number is seconds; m is a minute
    ("duration > 200ms", 200_000_000), ("duration > 2s", 2 * 10**9),
    ("duration > 1.5us", 1500), ("duration > 1.5µs", 1500), ("duration > 10ns", 10),
    ("duration > 1m", 60 * 10**9), ("duration > 2min", 120 * 10**9),
    ("duration > 1h", 3600 * 10**9), ("duration > 0.2", 200_000_000),
    # rates in bits per second
    ("bps_ab > 2M", 2_000_000), ("bps_ab > 2Mbps", 2_000_000), ("bps_ab > 3kbit/s", 3000),
    # ports, streams, hex
    ("port == 443", 443), ("stream 7", 7), ("home_id == c4a815cd", 0xC4A815CD),
    ("home_id == 0xC4A815CD", 0xC4A815CD),
    ("rssi_mean < -70.5", -70.5),
])
def test_values_read_by_the_columns_format(text: str, value: object) -> None:
    node = parse(text)
    assert isinstance(node, Compare)
    assert node.values[0] == value
    assert type(node.values[0]) is type(value)  # exact integers stay integers


def test_start_times_relative_or_absolute() -> None:
    relative = parse("start > 1.5s")
    assert isinstance(relative, Compare)
    assert relative.values == (TimeValue(1_500_000_000, relative=True),)
    absolute = parse("start < 2013-03-07T21:42:06.25Z")
    assert isinstance(absolute, Compare)
    assert absolute.values == (TimeValue(1362692526_250000_000, relative=False),)


@pytest.mark.parametrize(("text", "columns", "protocols", "family"), [
    ("ip.addr == 10.0.0.1", ("a_address", "b_address"), set(), 4),
    ("ip.src == 10.0.0.1", ("a_address",), set(), 4),  # ip.src is endpoint A
    ("ip.dst == 10.0.0.1", ("b_address",), set(), 4),
    ("ipv6.addr == ::1", ("a_address", "b_address"), set(), 6),
    ("ipv6.src == ::1", ("a_address",), set(), 6),
    ("tcp.port == 80", ("a_port", "b_port"), {"tcp"}, None),
    ("udp.port == 53", ("a_port", "b_port"), {"udp"}, None),
    ("tcp.srcport == 80", ("a_port",), {"tcp"}, None),
    ("udp.dstport == 53", ("b_port",), {"udp"}, None),
    ("tcp.stream == 3", ("stream",), {"tcp"}, None),
    ("udp.stream == 3", ("stream",), {"udp"}, None),
    ("zwave.home_id == c4a815cd", ("home_id",), {"zwave"}, None),
    ("host 10.0.0.1", ("a_address", "b_address"), set(), None),
    ("addr == 10.0.0.1", ("a_address", "b_address"), set(), None),
    ("proto == tcp", ("protocol",), set(), None),
    ("packets_a_to_b > 1", ("packets_ab",), set(), None),
    ("PACKETS > 1", ("packets",), set(), None),
])
def test_wireshark_style_field_names(text: str, columns: tuple[str, ...], protocols: set[str],
                                     family: int | None) -> None:
    node = parse(text)
    assert isinstance(node, Compare)
    assert tuple(c.name for c in node.field.columns) == columns
    assert node.field.protocols == protocols and node.field.family == family


@pytest.mark.parametrize(("text", "tree"), [
    # NAME VALUE: the next word is the value when it reads as one ...
    ("port 443", "[port word 443]"),
    ("retransmissions 3", "[retransmissions word 3]"),
    ("status closed", "[status word '(?<![\\\\w-])closed(?![\\\\w-])']"),
    ("status \"half open\"", "[status word '(?<![\\\\w-])half\\\\ open(?![\\\\w-])']"),
    # ... and not itself a column, protocol or family word: then NAME is a term of its own
    ("retransmissions tcp", "(and [retransmissions present 'positive'] tcp)"),
    ("retransmissions port 80", "(and [retransmissions present 'positive'] [port word 80])"),
    ("status tcp", "(and [status present 'present'] tcp)"),
    ("history ipv6", "(and [history present 'present'] family6)"),
    ("retransmissions many", "(and [retransmissions present 'positive'] text:many)"),
    ("retransmissions and tcp", "(and [retransmissions present 'positive'] tcp)"),
    ("!retransmissions", "(not [retransmissions present 'positive'])"),
    # the first language's terms
    ("10.0.0.1", "endpoint:10.0.0.1"), ("10.0.0.0/8", "endpoint:10.0.0.0/8"),
    ("fe80::/10", "endpoint:fe80::/10"), ("C4A815CD/6", "endpoint:C4A815CD/6"),
    ("0xc4a815cd", "hex:c4a815cd"), ("ipv4", "family4"), ("ipv6", "family6"),
    ("ip", "family4"), ("z-wave", "family90"), ("gre", "gre"), ("icmp6", "icmpv6"),
    ("ip-proto-253", "ip-proto-253"), ("RSTO", "text:RSTO"), ('"two words"', "text:two words"),
    ("status!=", "[status != '']"),  # the empty text, as the first language read it
    ("(status!=) tcp", "(and [status != ''] tcp)"),
])
def test_shorthands_and_bare_terms(text: str, tree: str) -> None:
    assert show(parse(text)) == tree


@pytest.mark.parametrize(("text", "message", "start", "end"), [
    ("frobnicate>3", "no column called “frobnicate”", 0, 10),
    ("packts > 3", "did you mean “packets”", 0, 6),
    ("tcp.prot == 80", "did you mean “tcp.proto” or “tcp.port”?", 0, 8),
    ("tcp and", "“and” needs a term after it", 7, 8),
    ("tcp or or udp", "“or” needs a term after it, as in “port 80 or port 443”; found “or”", 7, 9),
    ("not", "“not” needs a term after it", 3, 4),
    ("(tcp or udp", "expected “)” to close the “(” at character 1", 11, 12),
    ("tcp or udp)", "unexpected “)”: no “(” is open", 10, 11),
    ("()", "expected a term inside the parentheses", 0, 2),
    ("tcp (and udp)", "expected a term after “(”, found “and”", 5, 8),
    ("tcp udp ==", "no column called “udp”", 4, 7),
    ("packets >", "expected a value after “>”, found the end of the filter", 9, 10),
    ("packets > and", "expected a value after “>”, found “and”", 10, 13),
    ("packets > many", "“many” is not a number", 10, 14),
    ("bytes > 3x", "“3x” is not a number (expected a number such as 1500, 30k or 2MiB)", 8, 10),
    ("packets > 3 == 4", "expected “and”, “or” or the end of the filter, found “==”", 12, 14),
    ("duration > 3parsecs", "“3parsecs” is not a duration", 11, 19),
    ("port == http", "“http” is not a port number", 8, 12),
    ("port == 70000", "at most 65535", 8, 13),
    ("port http", "“port” needs a number after it, as in “port 443”, not “http”", 5, 9),
    ("port", "“port” needs a number after it", 0, 4),
    ("stream", "“stream” needs a number after it, as in “stream 7”", 0, 6),
    ("protocol 5", "“protocol” needs a protocol name after it", 9, 10),
    ("ip.addr == 10.0.0", "“10.0.0” is not an address", 11, 17),
    ("ip.addr > 10.0.0.1", "addresses compare with == and !=", 8, 9),
    ("status < x", "“status” holds text; it compares with ==, !=, contains and matches", 7, 8),
    ("packets contains 3", "“contains” works on text; “packets” holds count values", 8, 16),
    ("history matches \"(\"", "is not a regular expression", 16, 19),
    ("home_id == xyz", "“xyz” is not a hexadecimal number", 11, 14),
    ("0xzz", "“0xzz” is not a hexadecimal number", 0, 4),
    ("443", "a bare number is ambiguous; write “port 443” or “stream 443”", 0, 3),
    ("tcp & udp", "“&” alone is not an operator: write “&&” or “and”", 4, 5),
    ("tcp | udp", "“|” alone is not an operator", 4, 5),
    ('status == "open', "this string has no closing \"", 10, 15),
    ("port in {80 443", "expected a value or “}” in the set opened at character 9", 15, 16),
    ("port in {}", "expected a value in the set", 9, 10),
    ("port in {80 http}", "“http” is not a port number", 12, 16),
    ("tcp ) udp", "unexpected “)”", 4, 5),
    ('"x" == 3', "a comparison needs a column name on its left", 0, 3),
    ("start > yesterday", "“yesterday” is not a time", 8, 17),
    ("tcp }", "expected “and”, “or” or the end of the filter, found “}”", 4, 5),
])
def test_errors_point_at_the_offending_span(text: str, message: str, start: int,
                                            end: int) -> None:
    with pytest.raises(FilterError) as caught:
        parse(text)
    err = caught.value
    assert message in err.message
    assert (err.start, err.end) == (start, end), err.caret()
    assert str(err) == f"{err.message} (at character {start + 1})"
    assert err.caret().splitlines()[1] == " " * start + "^" * max(1, end - start)
    assert isinstance(err, ValueError)


def test_nesting_is_bounded() -> None:
    parse("(" * 100 + "tcp" + ")" * 100)
    with pytest.raises(FilterError, match="more than 100 deep"):
        parse("(" * 101 + "tcp" + ")" * 101)
    with pytest.raises(FilterError, match="more than 100 deep"):
        parse("not " * 101 + "tcp")
    node = parse(" or ".join(["tcp"] * 5000))  # long chains are flat, not deep
    assert isinstance(node, Or) and len(node.operands) == 5000


def test_text_values_are_checked_against_the_table_only_when_given() -> None:
    assert show(compile_filter("frobnicate").root) == "text:frobnicate"


def test_tokens_and_strings() -> None:
    tokens = tokenize('ip.addr==fe80::1/64 && !(x != "a \\"b\\" \\d\\\\")||y')
    assert [(t.kind, t.text) for t in tokens] == [
        (T.WORD, "ip.addr"), (T.OP, "=="), (T.WORD, "fe80::1/64"), (T.AND, "&&"),
        (T.NOT, "!"), (T.LPAREN, "("), (T.WORD, "x"), (T.OP, "!="),
        (T.STRING, 'a "b" \\d\\'), (T.RPAREN, ")"), (T.OR, "||"), (T.WORD, "y"),
        (T.END, "")]
    assert tokens[2].start == 9 and tokens[2].end == 19


@pytest.mark.parametrize("text", [
    "packets > 1e99999999", "packets > -1e99999999", "duration > 1e400s",
    "packets < 0x" + "f" * 3000, "home_id == " + "f" * 3000, "0x" + "f" * 3000,
    "packets > 1e-99999999", "duration > 1e-999999999ns",
])
def test_hostile_numbers_read_without_huge_integers(text: str) -> None:
    node = parse(text)
    value = node.values[0] if isinstance(node, Compare) else node.value  # type: ignore[union-attr]
    assert isinstance(value, float) or abs(value) < 1 << 64


@pytest.mark.parametrize(("text", "message"), [
    ("port == " + "9" * 5000, "“" + "9" * 39 + "…” is not a port number"),
    ("stream == " + "9" * 19, "is not a stream number"),
    ("start > 0001-01-01", "“0001-01-01” is not a time"),
    ("9" * 100, "“" + "9" * 39 + "…”: a bare number is ambiguous; write “port N”"),
])
def test_hostile_values_give_short_messages(text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse(text)
    assert message in caught.value.message and len(caught.value.message) < 200
