"""The filter box's first language (terms side by side, ``!``, comparisons) as the engine's
language reads it: each term against a per-row Python reference, AND, negation, errors."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest

from engine.filter import FilterError
from engine.filter import filter_mask as engine_filter_mask
from gui.table.data import ConversationData


def filter_mask(text: str, data: ConversationData) -> np.ndarray | None:
    """What the filter box computes: the engine's language over the data's filter columns."""
    return engine_filter_mask(text, data.filter_columns)


def _expected(data: ConversationData, keep) -> list[int]:  # type: ignore[no-untyped-def]
    """Ids of the conversations ``keep(conversation)`` accepts, row by row (the reference)."""
    return [c.id for c in data.result.conversations if keep(c)]


def _ids(text: str, data: ConversationData) -> list[int]:
    mask = filter_mask(text, data)
    assert mask is not None
    return np.flatnonzero(mask).tolist()


def test_empty_filter_means_everything(wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    assert filter_mask("   ", wikipedia_data) is None


@pytest.mark.parametrize(("text", "keep"), [
    ("141.142.2.2", lambda c: "141.142.2.2" in (c.a[0], c.b[0])),
    ("208.80.152.0/24", lambda c: any(
        ipaddress.ip_address(x) in ipaddress.ip_network("208.80.152.0/24")
        for x in (c.a[0], c.b[0]) if ":" not in x)),
    ("ff02::fb", lambda c: "ff02::fb" in (c.a[0], c.b[0])),
    ("fe80::/10", lambda c: any(x.startswith("fe80:") for x in (c.a[0], c.b[0]))),
    ("port 53", lambda c: 53 in (c.a[1], c.b[1])),
    ("port 80 tcp", lambda c: 80 in (c.a[1], c.b[1]) and c.protocol == "tcp"),
    ("TCP", lambda c: c.protocol == "tcp"),
    ("udp !port 53", lambda c: c.protocol == "udp" and 53 not in (c.a[1], c.b[1])),
    ("not udp", lambda c: c.protocol != "udp"),
    ("stream 3", lambda c: c.stream == 3),
    ("tcp stream 3", lambda c: c.stream == 3 and c.protocol == "tcp"),
    ("ipv6", lambda c: ":" in c.a[0]),
    ("packets>5", lambda c: c.packets > 5),
    ("bytes<=200 udp", lambda c: c.bytes <= 200 and c.protocol == "udp"),
    ("duration>0.2", lambda c: c.duration_ns > 0.2e9),
    ("141.142.220.118 208.80.152.3 port 80",
     lambda c: {c.a[0], c.b[0]} == {"141.142.220.118", "208.80.152.3"}),
])
def test_terms_select_the_expected_rows(wikipedia_data, text, keep) -> None:  # type: ignore[no-untyped-def]
    expected = _expected(wikipedia_data, keep)
    assert expected, f"the reference selects nothing for {text!r}: a useless case"
    assert _ids(text, wikipedia_data) == expected


def test_protocols_not_in_the_capture_match_nothing_without_error(wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    assert _ids("icmp", wikipedia_data) == []
    assert _ids("gre", wikipedia_data) == []


@pytest.mark.parametrize(("text", "hint"), [
    ("frobnicate", "Unknown filter term “frobnicate”"),
    ("443", "write “port 443” or “stream 443”"),
    ("port", "“port” needs a number"),
    ("port http", "“port” needs a number"),
    ("tcp not", "needs a term after it"),
    ("colour>3", "no column called “colour”"),
    ("packets>many", "“many” is not a number"),
    ("10.0.0", "Unknown filter term"),
])
def test_unknown_terms_explain_themselves(wikipedia_data, text, hint) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FilterError, match=hint):
        filter_mask(text, wikipedia_data)


def test_state_values_match_registered_text_columns(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    state = synthetic_data.table.extra["test_state"]
    for text in ("RSTO", "rsto", "ESTABLISHED", "SF"):
        assert _ids(text, synthetic_data) == np.flatnonzero(
            np.char.lower(state) == text.lower()).tolist()
    assert _ids("test_state=S0", synthetic_data) == np.flatnonzero(state == "S0").tolist()
    assert _ids("test_state!=", synthetic_data) == np.flatnonzero(state != "").tolist()


def test_extra_count_comparison_and_hex_values(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    t = synthetic_data.table
    retrans = t.extra["test_retransmissions"]
    assert _ids("test_retransmissions>40", synthetic_data) == np.flatnonzero(retrans > 40).tolist()
    zwave = np.flatnonzero(t.extra["test_home_id"] == 0xC4A815CD).tolist()
    assert zwave
    assert _ids("0xC4A815CD", synthetic_data) == zwave
    assert _ids("test_home_id=c4a815cd", synthetic_data) == zwave
    assert _ids("zwave", synthetic_data) == zwave


def test_zwave_endpoint_as_the_table_writes_it(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    t = synthetic_data.table
    node = 3
    expected = np.flatnonzero((synthetic_data.protocol == "zwave")
                              & ((t.a_lo == node) | (t.b_lo == node))).tolist()
    assert expected
    assert _ids(f"C4A815CD/{node}", synthetic_data) == expected
    assert _ids("c4a815cd/broadcast", synthetic_data) == []


def test_state_terms_on_a_real_capture() -> None:
    """``RSTO``/``SF``/``REJ``… select the rows the TCP analysis gave that state (any case)."""
    from engine import WIRESHARK, extract_flows_from_file
    from tests.gui.conftest import NMAP

    with extract_flows_from_file(NMAP, WIRESHARK) as result:
        data = ConversationData(result)
        if "conn_state" not in data.table.extra:
            pytest.skip("the TCP analysis (conn_state) is not registered")
        text_columns = [data.table.extra[s.name] for s in data.extra_columns
                        if s.format == "text"]
        states = sorted(set(data.table.extra["conn_state"].tolist()) - {""})
        assert states
        for state in states:
            expected = [c.id for c in result.conversations
                        if any(col[c.id] == state for col in text_columns)]
            assert _ids(state, data) == expected
            assert _ids(state.lower(), data) == expected
            assert _ids(f"conn_state={state}", data) == [
                c.id for c in result.conversations if c.conn_state == state]
