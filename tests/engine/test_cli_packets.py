"""``flowscope-cli packets``: the JSON contract, the table with Wireshark's notes, --stream."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from tests.conftest import CAPTURES

ORACLE = CAPTURES.parent / "tcp_expert"
TCP_KEYS = {"frame", "conversation", "protocol", "stream", "time_ns", "direction", "tcp_flags",
            "seq", "ack", "len", "analysis", "duplicate_ack_num", "ack_rtt", "bytes_in_flight",
            "initial_rtt"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    name = "zeek-wikipedia-many-conns.pcap"
    code, out, err = _run(capsys, "packets", str(CAPTURES / name), "--format", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert set(doc) == {"capture", "packets"}
    assert doc["capture"]["packets"] == 136
    packets = doc["packets"]
    assert [p["frame"] for p in packets] == list(range(1, 137))  # every packet, 1-based
    want = json.loads((ORACLE / f"{name}.json").read_text())["frames"]
    tcp = [p for p in packets if p["protocol"] == "tcp"]
    assert len(tcp) == len(want) > 0
    for p in tcp:
        assert set(p) == TCP_KEYS
        w = want[str(p["frame"])]
        assert p["stream"] == w["stream"]
        assert p["analysis"] == w["flags"]
        assert p["duplicate_ack_num"] == w["duplicate_ack_num"]
        assert p["bytes_in_flight"] == w["bytes_in_flight"]
        for key in ("ack_rtt", "initial_rtt"):
            assert (p[key] is None) == (w[key] is None)
            if p[key] is not None:
                assert round(p[key] * 1e6) == round(w[key] * 1e6)
        assert p["direction"] in ("a_to_b", "b_to_a")
    udp = [p for p in packets if p["protocol"] == "udp"]
    assert udp and all(set(p) == {"frame", "conversation", "protocol", "stream", "time_ns",
                                  "direction"} for p in udp)


def test_relative_numbers_and_flags_as_tshark_shows_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "packets", str(CAPTURES / "zeek-http-get.pcap"), "--format",
                     "json")
    first = json.loads(out)["packets"][:3]
    # tshark: 1 [SYN] Seq=0 · 2 [SYN, ACK] Seq=0 Ack=1 · 3 [ACK] Seq=1 Ack=1
    assert [(p["tcp_flags"], p["seq"], p["ack"], p["len"]) for p in first] == [
        ("S", 0, 0, 0), ("SA", 0, 1, 0), ("A", 1, 1, 0)]
    assert first[1]["ack_rtt"] == pytest.approx(0.06974)  # the SYN-ACK acknowledges the SYN
    assert first[2]["initial_rtt"] == pytest.approx(0.070034)


def test_one_stream_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "packets", str(CAPTURES / "zeek-tcp-retransmit-fast009.pcap"),
                          "--stream", "0")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["Frame", "Time", "Stream", "Dir", "Flags", "Seq", "Ack", "Len",
                                "Notes"]
    assert "[TCP Dup ACK 28#1]" in lines[29]  # frame 29, as in tshark's Info column
    assert any("[TCP Fast Retransmission]" in line for line in lines)
    assert len(lines) == 1 + 39


def test_stream_selection_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CAPTURES / "zeek-wikipedia-many-conns.pcap")
    _, out, _ = _run(capsys, "packets", path, "--format", "json", "--stream", "2")
    packets = json.loads(out)["packets"]
    assert packets and {p["stream"] for p in packets} == {2}
    assert {p["protocol"] for p in packets} == {"tcp"}
    code, out, err = _run(capsys, "packets", path, "--stream", "999")
    assert code == 2 and out == "" and "999" in err
