"""``flowscope-cli conversations``: the JSON contract, the table, CSV, errors and warnings."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from tests.conftest import CAPTURES, oracle


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    path = CAPTURES / "zeek-wikipedia-many-conns.pcap"
    code, out, err = _run(capsys, "conversations", str(path), "--format", "json",
                          "--udp-timeout", "none")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert set(doc) >= {"capture", "unassigned_packets", "conversations"}
    cap = doc["capture"]
    assert set(cap) >= {"path", "format", "packets", "link_types", "first_ns", "last_ns",
                        "warnings"}
    assert cap["packets"] == 136 and cap["link_types"] == [1] and cap["format"] == "pcap"
    convs = doc["conversations"]
    total = sum(c["packets_a_to_b"] + c["packets_b_to_a"] for c in convs)
    assert total + doc["unassigned_packets"] == 136
    expected = oracle(path)
    udp = {c["stream"]: c for c in convs if c["protocol"] == "udp"}
    for conv in expected["udp"]:
        mine = udp[conv["stream"]]
        for key in ("a", "b"):  # ours also carry the name from the capture's DNS
            assert {k: mine[key][k] for k in ("address", "port")} == conv[key]
        for key in ("packets_a_to_b", "bytes_a_to_b", "packets_b_to_a", "bytes_b_to_a",
                    "start_ns", "end_ns"):
            assert mine[key] == conv[key]
    for conv in convs:
        assert set(conv) >= {"id", "protocol", "stream", "a", "b", "packets_a_to_b",
                             "bytes_a_to_b", "packets_b_to_a", "bytes_b_to_a",
                             "payload_bytes_a_to_b", "payload_bytes_b_to_a", "start_ns",
                             "end_ns", "duration"}
        assert conv["duration"] == pytest.approx((conv["end_ns"] - conv["start_ns"]) / 1e9)


def test_ports_are_null_where_a_protocol_has_none(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "conversations", str(CAPTURES / "zeek-icmp-5-pings.pcap"),
                     "--format", "json")
    (conv,) = json.loads(out)["conversations"]
    assert conv["protocol"] == "icmp" and conv["a"]["port"] is None
    assert conv["stream"] is None and conv["packets"] == 10


def test_udp_timeout_option(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CAPTURES / "zeek-wikipedia-many-conns.pcap")
    _, split, _ = _run(capsys, "conversations", path, "--format", "json", "--udp-timeout", "0.1")
    _, whole, _ = _run(capsys, "conversations", path, "--format", "json", "--udp-timeout", "none")
    assert len(json.loads(split)["conversations"]) > len(json.loads(whole)["conversations"])


def test_table_lists_every_conversation(capsys: pytest.CaptureFixture[str]) -> None:
    path = CAPTURES / "zeek-ftp-ipv6.pcap"
    code, out, _ = _run(capsys, "conversations", str(path))
    assert code == 0
    assert "TCP conversations: 6" in out
    for conv in oracle(path)["tcp"]:
        assert conv["a"]["address"] in out and f"{conv['bytes_a_to_b']}" in out


def test_csv(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "conversations", str(CAPTURES / "zeek-http-get.pcap"),
                     "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["protocol"] == "tcp" and row["a_address"] == "141.142.228.5"
    assert row["bytes_b_to_a"] == "5477" and row["stream"] == "0"


def test_errors_are_one_line_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "conversations",
                          str(CAPTURES / "libpcap-pcap-invalid-version-1.pcap"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "version 1 is not supported" in err


def test_warnings_go_to_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, "conversations",
                          str(CAPTURES / "scapy-bad-rsn-cut-mid-record.pcap"), "--format", "json")
    assert code == 0 and err.startswith("warning: ") and "cut short" in err
    assert json.loads(out)["capture"]["warnings"]


def test_console_script_runs_without_a_display() -> None:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "conversations",
                           str(CAPTURES / "zeek-dns53.pcap"), "--format", "json"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["conversations"][0]["protocol"] == "udp"
