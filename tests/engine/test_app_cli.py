"""``flowscope-cli app`` and ``flowscope-cli names``: one conversation's application record,
and the names the capture's DNS gave."""

from __future__ import annotations

import csv
import io
import json

import pytest

from engine.cli import main

from .app_truth import APP, tshark


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_app_prints_a_tls_handshake(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "app", str(APP / "ndpi-443-firefox.pcap"), "--stream", "0")
    assert code == 0 and err == ""
    assert out.startswith("TCP stream 0: tls\n")
    assert "  server name (SNI): www.ntop.org" in out
    assert "  JA3S 3653a20186a5b490426131a611e01992" in out


def test_app_json_lists_every_dns_message_with_its_packet(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "app", str(APP / "ndpi-dns-tunnel-iodine.pcap"), "--stream",
                        "0", "--udp", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["service"] == "dns" and doc["name"] == "UDP stream 0"
    (section,) = doc["sections"]
    assert len(section["lines"]) == tshark("ndpi-dns-tunnel-iodine.pcap")["udp"]["0"]["packets"]
    assert [line["packet"] for line in section["lines"][:3]] == [0, 1, 2]


def test_app_says_when_the_stream_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "app", str(APP / "ndpi-443-firefox.pcap"), "--stream", "9")
    assert code == 2 and "There is no TCP stream 9" in err


@pytest.mark.parametrize("capture", ["ndpi-android.pcap", "ndpi-wechat.pcap"])
def test_names_equal_the_oracles_dns_names(capsys: pytest.CaptureFixture[str],
                                           capture: str) -> None:
    code, out, _ = _run(capsys, "names", str(APP / capture), "--format", "json")
    assert code == 0
    found: dict[str, list[str]] = {}
    for row in json.loads(out)["names"]:
        assert row["first_seen_ns"] <= row["last_seen_ns"]
        found.setdefault(row["address"], []).append(row["name"])
    assert {a: sorted(n) for a, n in found.items()} == tshark(capture)["dns_names"]
    code, out, _ = _run(capsys, "names", str(APP / capture), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == sum(len(v) for v in tshark(capture)["dns_names"].values())
    code, out, _ = _run(capsys, "names", str(APP / capture))
    assert out.splitlines()[0].split() == ["Address", "Name", "First", "seen", "Last", "seen"]
