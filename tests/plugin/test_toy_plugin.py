"""A plug-in defined inside the tests adds a protocol with one column and one pane, touching no
other file, and it appears everywhere a protocol does: the conversation table, the filter, the
JSON/CSV export, the CLI's text table and the details panel."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from engine import WIRESHARK, extract_flows_from_file
from engine.atomic import atomic_write
from engine.capture import linktypes as lt
from engine.capture.writer import write_pcapng
from engine.export.conversations import to_json_document, write_csv, write_table
from tests.plugin import toy

#: (src, dst, reading) of the Toy frames, interleaved in time with a TCP handshake
TOY_FRAMES = [(1, 2, 5), (2, 1, 9), (3, 1, 4), (1, 2, 7), (1, 3, 2)]


def write_capture(path: Path) -> Path:
    """Toy frames interleaved in time with a TCP handshake, in a two-interface pcapng."""
    tcp = [bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80,
                                                                      flags=f))
           for f in ("S", "SA", "A")]
    records = []
    for k, (src, dst, reading) in enumerate(TOY_FRAMES):
        records.append((1, 1_000_000_000 + 2 * k * 1000, toy.frame(src, dst, reading)))
        if k < len(tcp):
            records.append((0, 1_000_000_000 + (2 * k + 1) * 1000, tcp[k]))
    with atomic_write(path) as out:
        write_pcapng(out, [lt.ETHERNET, toy.LINKTYPE], records)
    return path


@pytest.fixture()
def capture(tmp_path: Path) -> Iterator[Path]:
    path = write_capture(tmp_path / "toy.pcapng")
    with toy.installed():
        yield path


def test_the_engine_groups_the_new_protocol_and_fills_its_column(capture: Path) -> None:
    with extract_flows_from_file(capture, WIRESHARK) as result:
        rows = {c.a[0] + "↔" + c.b[0]: c for c in result if c.protocol == "toy"}
        assert set(rows) == {"toy-1↔toy-2", "toy-3↔toy-1"}
        assert rows["toy-1↔toy-2"].packets == 3 and rows["toy-1↔toy-2"].toy_max == 9
        assert rows["toy-3↔toy-1"].packets == 2 and rows["toy-3↔toy-1"].toy_max == 4
        assert [c.protocol for c in result].count("tcp") == 1
        assert result.unassigned.total == 0


def test_json_csv_and_text_table_carry_the_column(capture: Path) -> None:
    with extract_flows_from_file(capture, WIRESHARK) as result:
        records = to_json_document(result)["conversations"]
        by_proto = {r["protocol"]: r for r in records}
        assert by_proto["tcp"].get("toy_max") is None and "toy_max" not in by_proto["tcp"]
        toys = [r for r in records if r["protocol"] == "toy"]
        assert sorted(r["toy_max"] for r in toys) == [4, 9]
        assert {r["a"]["address"] for r in toys} == {"toy-1", "toy-3"}
        out = io.StringIO()
        write_csv(result, out)
        table = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert sorted(r["toy_max"] for r in table if r["protocol"] == "toy") == ["4", "9"]
        text = io.StringIO()
        write_table(result, text)
        section = text.getvalue().split("TOY conversations: 2")[1]
        assert "Max" in section.splitlines()[1]
        json.dumps(records)  # JSON-ready
