"""The filter evaluator on whole columns: each construct against an independent numpy formula
or a row-by-row reference, on a synthetic table with every column kind and on real captures."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.columns import COLUMNS, ColumnSpec
from engine.filter import FilterColumns, FilterError, compile_filter, filter_mask
from engine.table import ConversationTable
from tests.conftest import CAPTURES
from tests.engine.filter_reference import Reference
from tests.gui.synthetic_table import SYNTHETIC_EXTRA, synthetic_result

#: columns an analysis might declare later: a name group over three text columns, a count
LATER = (
    ColumnSpec("server_name", "Server name", "text", "TLS SNI", ("tcp",), aliases=("name",)),
    ColumnSpec("a_name", "Name A", "text", "DNS name of A", aliases=("name",)),
    ColumnSpec("b_name", "Name B", "text", "DNS name of B", aliases=("name",)),
    ColumnSpec("zerowin", "Zero windows", "count", "zero-window segments", ("tcp",)),
)
NAMES = np.array(["", "github.com", "api.github.com", "notgithub.org", "GitHub.io", "x.y"])


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConversationTable]:
    """4,000 synthetic conversations with the synthetic and the "later" columns registered."""
    for spec in SYNTHETIC_EXTRA + LATER:
        monkeypatch.setitem(COLUMNS, spec.name, spec)
    result = synthetic_result(4000, seed=11)
    t = result.conversations
    rng = np.random.default_rng(5)
    tcp = t.extra["test_retransmissions"] >= 0
    t.extra["server_name"] = np.where(tcp, NAMES[rng.integers(0, NAMES.size, len(t))], "")
    t.extra["a_name"] = NAMES[rng.integers(0, NAMES.size, len(t))]
    t.extra["b_name"] = NAMES[rng.integers(0, NAMES.size, len(t))]
    t.extra["zerowin"] = np.where(tcp, rng.integers(0, 3, len(t)), -1)
    yield t


def rows(text: str, t: ConversationTable) -> np.ndarray:
    mask = filter_mask(text, t)
    assert mask is not None and mask.dtype == bool and mask.shape == (len(t),)
    return mask


def either_port(t: ConversationTable, port: int) -> np.ndarray:
    return (t.a_port == port) | (t.b_port == port)


def proto(t: ConversationTable, name: str) -> np.ndarray:
    return t.protocol_names() == name


def in_network(t: ConversationTable, network: str, side: str) -> np.ndarray:
    net = ipaddress.ip_network(network)
    texts = t.address_texts(side)
    return np.array([t.family[i] == net.version and ipaddress.ip_address(texts[i]) in net
                     for i in range(len(t))])


def test_readme_examples(table: ConversationTable) -> None:
    t = table
    assert (rows("port 80 or port 443", t) == either_port(t, 80) | either_port(t, 443)).all()
    assert (rows("bytes>30k", t) == (t.bytes > 30_000)).all()
    assert (rows("bytes > 2MiB", t) == (t.bytes > 2 * 1024 * 1024)).all()
    expected = ((proto(t, "tcp") & ~either_port(t, 22))
                | (proto(t, "udp") & (t.stream == 3)))
    assert (rows("(tcp and not port 22) || udp.stream == 3", t) == expected).all()
    ten = in_network(t, "10.0.0.0/20", "a") | in_network(t, "10.0.0.0/20", "b")
    assert ten.any()
    assert (rows("ip.addr == 10.0.0.0/20", t) == ten).all()
    assert (rows("10.0.0.0/20", t) == ten).all()


def test_not_equal_on_several_columns_means_none_is_equal(table: ConversationTable) -> None:
    t = table
    has_ports = t.a_port >= 0
    assert (rows("port != 80", t) == (has_ports & ~either_port(t, 80))).all()
    assert (rows("not port == 80", t) == ~either_port(t, 80)).all()
    assert (rows("tcp.port != 80", t) == (proto(t, "tcp") & ~either_port(t, 80))).all()


def test_a_comparison_holds_only_where_the_column_has_a_value(table: ConversationTable) -> None:
    t = table
    retrans = t.extra["test_retransmissions"]
    tcp = proto(t, "tcp")
    assert (rows("test_retransmissions < 5", t) == (tcp & (retrans < 5))).all()
    assert (rows("not test_retransmissions >= 5", t) == ~(tcp & (retrans >= 5))).all()
    assert (rows("test_retransmissions != 3", t) == (tcp & (retrans != 3))).all()
    score = t.extra["test_score"]
    assert (rows("test_score <= 0.5", t) == (score <= 0.5)).all()  # NaN rows never match
    assert (rows("port < 1000", t) == ((t.a_port >= 0) & ((t.a_port < 1000)
                                                           | (t.b_port < 1000)))).all()


def test_bare_columns_and_name_value_shorthands(table: ConversationTable) -> None:
    t = table
    zerowin = t.extra["zerowin"]
    assert (rows("zerowin", t) == (zerowin > 0)).all()
    assert (rows("zerowin 2", t) == (zerowin == 2)).all()
    assert (rows("zerowin udp", t) == ((zerowin > 0) & proto(t, "udp"))).all()  # nothing
    assert (rows("!zerowin", t) == ~(zerowin > 0)).all()
    assert (rows("server_name", t) == (t.extra["server_name"] != "")).all()
    assert (rows("test_payload", t) == (t.extra["test_payload"] > 0)).all()
    # NAME VALUE on text: a whole word of the text, any case, over every column of the group
    words = {"": set(), "github.com": {"github", "com", "github.com"},
             "api.github.com": {"api", "github", "com", "github.com", "api.github"},
             "notgithub.org": {"notgithub", "org"}, "GitHub.io": {"github", "io"},
             "x.y": {"x", "y"}}

    def has_word(values: np.ndarray, word: str) -> np.ndarray:
        return np.array([word in words[str(v)] for v in values])

    for word in ("github", "github.com", "GITHUB", "x"):
        expected = (has_word(t.extra["a_name"], word.lower())
                    | has_word(t.extra["b_name"], word.lower())
                    | has_word(t.extra["server_name"], word.lower()))
        assert expected.any()
        assert (rows(f"name {word}", t) == expected).all(), word
    assert (rows("server_name github", t)
            == has_word(t.extra["server_name"], "github")).all()
    assert not rows("name hub", t).any()  # not a word of any name


def test_text_operators(table: ConversationTable) -> None:
    t = table
    names = t.extra["server_name"]
    assert (rows('server_name == "github.com"', t) == (names == "github.com")).all()
    assert (rows("server_name contains git", t)
            == np.array(["git" in v for v in names])).all()  # case-sensitive, as Wireshark
    assert (rows('server_name matches "^GIT"', t)
            == np.array([v.lower().startswith("git") for v in names])).all()  # any case
    assert (rows('server_name in {"x.y" github.com}', t)
            == np.isin(names, ["x.y", "github.com"])).all()
    state = t.extra["test_state"]
    assert (rows("test_state != SF", t) == (proto(t, "tcp") & (state != "") & (state != "SF"))
            ).all()
    # contains/matches on addresses and protocols use the text the table shows
    assert (rows("protocol matches cmp", t) == np.isin(t.protocol_names(), ["icmp", "icmpv6"])
            ).all()
    a_texts = t.address_texts("a")
    assert (rows("src contains fe80", t) == np.array(["fe80" in v for v in a_texts])).all()


def test_endpoints_sides_families_and_hex(table: ConversationTable) -> None:
    t = table
    assert (rows("ipv6", t) == (t.family == 6)).all()
    assert (rows("ip", t) == (t.family == 4)).all()
    assert (rows("ipv6.src == 8000::/1", t) == (t.family == 6)).all()  # hi is 0xFE80… | random
    assert (rows("ipv6.src == fe80::/16", t) == (in_network(t, "fe80::/16", "a"))).all()
    a = in_network(t, "10.0.0.0/20", "a")
    assert (rows("src 10.0.0.0/20", t) == a).all()
    assert (rows("ip.src == 10.0.0.0/20", t) == a).all()
    assert (rows("dst == 10.0.0.0/20", t) == in_network(t, "10.0.0.0/20", "b")).all()
    zwave = proto(t, "zwave")
    node3 = zwave & ((t.a_lo == 3) | (t.b_lo == 3))
    assert node3.any()
    assert (rows("C4A815CD/3", t) == node3).all()
    assert (rows("src == c4a815cd/3", t) == zwave & (t.a_lo == 3)).all()
    assert (rows("0xC4A815CD", t) == zwave).all()
    assert (rows("test_home_id == c4a815cd", t) == zwave).all()
    assert (rows("zwave.test_home_id", t) == zwave).all()


def test_time_columns(table: ConversationTable) -> None:
    t = table
    first = int(t.start_ns.min())
    assert (rows("start > 30m", t) == (t.start_ns > first + 1800 * 10**9)).all()
    assert (rows("duration < 1.5s", t) == (t.duration_ns < 1_500_000_000)).all()
    assert (rows("duration == 0", t) == (t.duration_ns == 0)).all()
    moment = int(t.start_ns[len(t) // 2])
    iso = np.datetime_as_string(np.datetime64(moment // 1000, "us"), unit="us") + "Z"
    assert (rows(f"start >= {iso}", t) == (t.start_ns >= moment // 1000 * 1000)).all()
    first_ns = first - 10**9  # a capture whose first packet is in no conversation
    mask = compile_filter("start < 1.5s").mask(FilterColumns(t, first_ns))
    assert mask is not None and (mask == (t.start_ns < first_ns + 1_500_000_000)).all()


def test_bare_text_values_prefer_the_exact_case(table: ConversationTable) -> None:
    t = table
    state = t.extra["test_state"]
    assert (rows("RSTO", t) == (state == "RSTO")).all()
    assert (rows("rsto", t) == (state == "RSTO")).all()
    with pytest.raises(FilterError, match="Unknown filter term “RSTQ”"):
        rows("RSTQ", t)
    # no later problem hides the first: the word is checked while parsing, in order
    with pytest.raises(FilterError, match="Unknown filter term “RSTQ”"):
        compile_filter("RSTQ or 443", FilterColumns(t))


def test_columns_a_table_lacks_match_nothing(table: ConversationTable,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COLUMNS, "jitter", ColumnSpec("jitter", "Jitter", "duration"))
    assert not rows("jitter > 1ms", table).any()
    assert rows("not jitter > 1ms", table).all()


def test_huge_values_compare_without_overflow(table: ConversationTable) -> None:
    assert not rows("packets > 99999999999999999999999", table).any()
    assert rows("packets < 1e30", table).all()
    assert not rows("0xffffffffffffffffffffffff", table).any()


def test_the_reference_agrees_on_every_example(table: ConversationTable) -> None:
    reference = Reference(table, int(table.start_ns.min()))
    columns = FilterColumns(table)
    for text in ("port 80 or port 443", "(tcp and not port 22) || udp.stream == 3",
                 "name github", "server_name matches ^api", "test_state != S0",
                 "zerowin or test_retransmissions > 40", "C4A815CD/3 or fe80::/16",
                 "0xc4a815cd", "RSTO", "port in {22 53}", "tcp.port != 443"):
        expression = compile_filter(text, columns)
        assert expression.root is not None
        assert expression.mask(columns).tolist() == reference.mask(expression.root), text


@pytest.mark.parametrize("name", ["zeek-wikipedia-many-conns.pcap", "zeek-nmap-vsn-many-conns.pcap",
                                  "zeek-ftp-ipv6.pcap"])
def test_real_captures_agree_with_python_over_the_rows(name: str) -> None:
    with extract_flows_from_file(CAPTURES / name, WIRESHARK) as result:
        convs = list(result.conversations)
        columns = FilterColumns(result.conversations, result.capture.first_ns)
        checks = {
            "port 80 or port 443": lambda c: 80 in (c.a[1], c.b[1]) or 443 in (c.a[1], c.b[1]),
            "tcp and not port 80": lambda c: c.protocol == "tcp" and 80 not in (c.a[1], c.b[1]),
            "udp.port == 53": lambda c: c.protocol == "udp" and 53 in (c.a[1], c.b[1]),
            "bytes > 1k": lambda c: c.bytes > 1000,
            "duration < 10ms": lambda c: c.duration_ns < 10_000_000,
            "ipv6 || packets >= 10": lambda c: ":" in c.a[0] or c.packets >= 10,
            "ip.src == 0.0.0.0/1": lambda c: "." in c.a[0] and int(c.a[0].split(".")[0]) < 128,
            "tcp.stream <= 3": lambda c: c.protocol == "tcp" and c.stream <= 3,
        }
        for text, keep in checks.items():
            mask = compile_filter(text, columns).mask(columns)
            assert mask is not None
            assert np.flatnonzero(mask).tolist() == [c.id for c in convs if keep(c)], text


def test_a_plug_in_written_by_the_tests_is_filterable_with_no_filter_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """tests/plugin's Toy protocol, its address family and its column (alias ``toy.max``)."""
    from tests.plugin import toy
    from tests.plugin.test_toy_plugin import write_capture

    path = write_capture(tmp_path / "toy.pcapng")
    with toy.installed(), extract_flows_from_file(path, WIRESHARK) as result:
        convs = list(result.conversations)
        columns = FilterColumns(result.conversations, result.capture.first_ns)

        def ids(text: str) -> list[int]:
            mask = compile_filter(text, columns).mask(columns)
            assert mask is not None
            return np.flatnonzero(mask).tolist()

        toys = [c.id for c in convs if c.protocol == "toy"]
        assert len(toys) == 2 and ids("toybus") == toys and ids("toy") == toys
        assert ids("toy.max > 5") == [c.id for c in convs if c.protocol == "toy"
                                       and c.toy_max > 5]
        assert ids("toy_max") == toys  # a count: > 0
        assert ids("toy-3") == [c.id for c in convs if "toy-3" in (c.a[0], c.b[0])]
        assert ids("src == toy-1") == [c.id for c in convs if c.a[0] == "toy-1"]
        assert ids("not toy") == [c.id for c in convs if c.protocol == "tcp"]
