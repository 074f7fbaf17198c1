"""Properties of the filter language on random input (hypothesis): any text gives a mask or a
FilterError and nothing else; the numpy evaluator agrees with the row-by-row reference; the
logic is Boolean (De Morgan, and = intersection, not = complement)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.plugins  # noqa: F401  (the TCP and Z-Wave columns are part of the registry)
from engine.columns import COLUMNS
from engine.filter import FilterColumns, FilterError, compile_filter
from tests.engine.filter_reference import Reference
from tests.engine.test_filter_evaluate import LATER, NAMES
from tests.gui.synthetic_table import SYNTHETIC_EXTRA, synthetic_result

#: valid terms over the synthetic table: every kind of term, field, operator and unit
ATOMS = [
    "tcp", "udp", "icmp", "icmpv6", "zwave", "gre", "ipv4", "ipv6", "ip", "port 443",
    "port 53", "port != 80", "stream 7", "stream < 100", "tcp.stream >= 40", "udp.port == 5353",
    "packets > 1000", "packets<=1.5k", "bytes >= 300k", "bytes < 1.5M", "bytes > 1MiB",
    "duration < 2s", "duration >= 200ms", "duration == 0", "start > 30m", "start <= 10s",
    "test_state == SF", "test_state != S0", 'test_state contains "S"', "test_state matches ^r",
    "test_state ESTABLISHED", "RSTO", "sf", "test_retransmissions", "test_retransmissions > 25",
    "test_retransmissions 3", "test_score > 0.5", "test_score", "test_home_id == c4a815cd",
    "0xc4a815cd", "10.0.0.0/18", "10.0.1.0/24", "C4A815CD/3", "fe80::/9", "src C4A815CD/2",
    "ip.addr == 10.0.0.0/19", "ip.dst == 10.0.128.0/17", "ipv6.src == ff00::/8",
    "tcp.port in {22 80}", "port in {53, 5353}", "test_payload > 5M", "bps_ab > 100k",
    "name github", "server_name", "server_name matches \"^api\\.\"", "zerowin", "zerowin 2",
    "b_name == \"x.y\"", "proto == udp", "protocol matches cmp", "src contains \"fe80\"",
]
_JOINERS = [" and ", " && ", " ", " or ", " || ", "&&", "||"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(_JOINERS), children).map(
            lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(children, st.sampled_from(_JOINERS), children).map(
            lambda t: f"{t[0]}{t[1]}{t[2]}"),
        children.map(lambda a: f"not {a}"),
        children.map(lambda a: f"!({a})"),
        children.map(lambda a: f"({a})"),
    )


EXPRESSIONS = st.recursive(st.sampled_from(ATOMS), _combine, max_leaves=8)

#: words and punctuation to make token soup from, valid and not
_SOUP = [*ATOMS, "and", "or", "not", "!", "(", ")", "{", "}", ",", "==", "!=", "<", ">=", "~",
                 "&&", "||", "&", "|", '"', "'", "contains", "matches", "in", "eq", "port",
                 "stream", "tcp.port", "ip.addr", "bytes", "30k", "1.5M", "2G", "200ms", "1m",
                 "0x", "0xzz", "10.0.0", "::", "/", "-", "1e999", "nan", "inf", "-1",
                 "99999999999999999999999", "\\", "\x00", "é", "(?P<", "*", "[", "status!=",
                 "1e99999999", "9" * 5000, "0001-01-01", "1e400s", "0x" + "f" * 300,
                 "packets", "home_id", "start", "duration", "test_score", "test_home_id"]
SOUP = st.lists(st.sampled_from(_SOUP), max_size=10).flatmap(
    lambda words: st.sampled_from([" ", ""]).map(lambda sep: sep.join(words)))


@pytest.fixture
def columns(monkeypatch: pytest.MonkeyPatch) -> Iterator[FilterColumns]:
    for spec in SYNTHETIC_EXTRA + LATER:
        monkeypatch.setitem(COLUMNS, spec.name, spec)
    t = synthetic_result(600, seed=3).conversations
    rng = np.random.default_rng(8)
    tcp = t.extra["test_retransmissions"] >= 0
    for name in ("server_name", "a_name", "b_name"):
        t.extra[name] = NAMES[rng.integers(0, NAMES.size, len(t))]
    t.extra["server_name"] = np.where(tcp, t.extra["server_name"], "")
    t.extra["zerowin"] = np.where(tcp, rng.integers(0, 3, len(t)), -1)
    yield FilterColumns(t)


def _mask(text: str, columns: FilterColumns) -> np.ndarray:
    mask = compile_filter(text, columns).mask(columns)
    assert mask is not None
    return mask


_SETTINGS = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(text=st.one_of(SOUP, st.text(max_size=40), EXPRESSIONS))
def test_any_text_gives_a_mask_or_a_filter_error(columns: FilterColumns, text: str) -> None:
    try:
        expression = compile_filter(text, columns)
        mask = expression.mask(columns)
    except FilterError as exc:
        assert 0 <= exc.start < exc.end and exc.start <= len(text)
        assert exc.caret().startswith(text)
        return
    assert mask is None or (mask.dtype == bool and mask.shape == (columns.size,))


@_SETTINGS
@given(text=EXPRESSIONS)
def test_the_evaluator_agrees_with_the_row_by_row_reference(columns: FilterColumns,
                                                            text: str) -> None:
    expression = compile_filter(text, columns)
    assert expression.root is not None
    reference = Reference(columns.table, columns.first_ns)
    assert expression.mask(columns).tolist() == reference.mask(expression.root)  # type: ignore[union-attr]


@_SETTINGS
@given(a=EXPRESSIONS, b=EXPRESSIONS)
def test_boolean_laws(columns: FilterColumns, a: str, b: str) -> None:
    ma, mb = _mask(a, columns), _mask(b, columns)
    assert (_mask(f"not (({a}) or ({b}))", columns)
            == _mask(f"(not ({a})) and (not ({b}))", columns)).all()
    assert (_mask(f"!(({a}) && ({b}))", columns) == (~ma | ~mb)).all()
    assert (_mask(f"({a}) ({b})", columns) == (ma & mb)).all()
    assert (_mask(f"({a}) || ({b})", columns) == (ma | mb)).all()
    assert (_mask(f"not ({a})", columns) == ~ma).all()
