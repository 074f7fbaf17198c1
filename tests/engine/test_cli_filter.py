"""``flowscope-cli conversations --filter EXPR``: only the matching rows, in every format; a bad
expression is one line on stderr and exit status 2."""

from __future__ import annotations

import csv
import io
import json

import pytest

from engine.cli import main
from tests.conftest import CAPTURES, oracle

WIKIPEDIA = CAPTURES / "zeek-wikipedia-many-conns.pcap"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], expression: str) -> list[dict]:  # type: ignore[type-arg]
    code, out, err = _run(capsys, "conversations", str(WIKIPEDIA), "--format", "json",
                          "--udp-timeout", "none", "--filter", expression)
    assert code == 0 and err == ""
    return json.loads(out)["conversations"]


def test_json_has_only_the_matching_conversations(capsys: pytest.CaptureFixture[str]) -> None:
    everything = _json(capsys, "")
    assert len(everything) == 34
    dns = _json(capsys, "udp.port == 53 || udp.port == 5353")
    expected = [c for c in everything if c["protocol"] == "udp"
                and ({53, 5353} & {c["a"]["port"], c["b"]["port"]})]
    assert dns == expected and 0 < len(dns) < len(everything)
    # the same rows as tshark's UDP streams on port 53 (the oracle)
    streams = sorted(s["stream"] for s in oracle(WIKIPEDIA)["udp"]
                     if 53 in (s["a"]["port"], s["b"]["port"]))
    assert sorted(c["stream"] for c in _json(capsys, "udp and port 53")) == streams
    big = _json(capsys, "bytes > 1k and (tcp and not port 22)")
    assert big == [c for c in everything if c["bytes"] > 1000 and c["protocol"] == "tcp"]


def test_csv_and_table_have_only_the_matching_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "conversations", str(WIKIPEDIA), "--format", "csv",
                        "--filter", "tcp.stream == 3 or tcp.stream == 5")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["protocol"], r["stream"]) for r in rows] == [("tcp", "3"), ("tcp", "5")]
    code, out, _ = _run(capsys, "conversations", str(WIKIPEDIA), "--filter", "tcp.stream == 3")
    assert code == 0
    assert "34 conversations (1 match the filter)" in out
    assert "TCP conversations: 1" in out and "UDP conversations" not in out


def test_a_filter_that_matches_nothing_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _json(capsys, "packets > 1G") == []


@pytest.mark.parametrize(("expression", "message"), [
    ("port 80 or", "--filter: “or” needs a term after it, as in “port 80 or port 443”; found "
                   "the end of the filter (at character 11)"),
    ("bytes > lots", "--filter: “lots” is not a number"),
    ("frobnicate", "--filter: Unknown filter term “frobnicate”"),  # found once the file is read
])
def test_a_bad_filter_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str],
                                              expression: str, message: str) -> None:
    code, out, err = _run(capsys, "conversations", str(WIKIPEDIA), "--format", "json",
                          "--filter", expression)
    assert code == 2 and out == ""
    assert err.startswith(f"flowscope-cli: {message}") and err.count("\n") == 1


def test_a_syntax_error_is_reported_before_the_file_is_read(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "conversations", "/nonexistent/capture.pcap", "--filter", "((")
    assert code == 2 and "--filter: expected a term after “(”" in err
