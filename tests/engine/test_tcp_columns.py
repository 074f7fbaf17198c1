"""The TCP summary columns on the conversation table, in JSON/CSV, and in the column registry."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from engine import WIRESHARK, Kind, extract_flows_from_file
from engine.cli import main
from engine.columns import COLUMNS as EXTRA_COLUMNS
from engine.export.conversations import csv_text, to_json_document
from engine.table import ConversationTable
from tests.conftest import CAPTURES

#: with the compiled state machines and history, then with numpy
pytestmark = pytest.mark.usefixtures("tcp_states_both_ways")

TEXT = ("client_state", "server_state", "status", "conn_state", "history", "client")
COUNTS = ("retransmissions", "out_of_order", "missing_bytes", "partial")
FIELDS = ("client_state", "server_state", "status", "conn_state", "history", "retransmissions",
          "out_of_order", "missing_bytes", "client", "partial")


def test_columns_are_filled_for_tcp_and_empty_for_the_rest() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-wikipedia-many-conns.pcap", WIRESHARK) as r:
        t = r.conversations
        tcp = t.kind == Kind.TCP
        assert tcp.any() and (~tcp).any()
        for name in TEXT:
            col = t.extra[name]
            assert col.dtype.kind == "U" and col.size == len(t)
            assert (col[~tcp] == "").all() and (col[tcp] != "").all()
        for name in COUNTS:
            col = t.extra[name]
            assert col.dtype == np.int64
            assert (col[~tcp] == -1).all() and (col[tcp] >= 0).all()


def test_columns_are_registered_for_views() -> None:
    for name in TEXT + COUNTS:
        column = EXTRA_COLUMNS[name]
        assert column.title and column.protocols == ("tcp",)
    assert EXTRA_COLUMNS["missing_bytes"].format == "bytes"
    assert EXTRA_COLUMNS["history"].format == "text"


def test_json_and_csv_fields() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-wikipedia-many-conns.pcap", WIRESHARK) as r:
        records = to_json_document(r)["conversations"]
        tcp = [rec for rec in records if rec["protocol"] == "tcp"]
        other = [rec for rec in records if rec["protocol"] != "tcp"]
        assert tcp and other
        for rec in tcp:
            assert set(FIELDS) <= set(rec)
            assert isinstance(rec["partial"], bool) and rec["client"] in ("a", "b")
            assert isinstance(rec["missing_bytes"], int)
        for rec in other:
            assert not set(FIELDS) & set(rec)
        rows = list(csv.DictReader(io.StringIO(csv_text(r))))
        assert {row["conn_state"] for row in rows if row["protocol"] == "tcp"} == {"S1", "OTH"}


def test_cli_conversations_json_has_the_states(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conversations", str(CAPTURES / "zeek-nmap-vsn-many-conns.pcap"), "--format",
                 "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    tcp = [c for c in doc["conversations"] if c["protocol"] == "tcp"]
    assert Counter(c["conn_state"] for c in tcp) == {"S0": 8, "REJ": 6, "RSTO": 3}
    assert Counter(c["status"] for c in tcp) == {"half-open": 8, "rejected": 6, "reset": 3}
    rejected = next(c for c in tcp if c["conn_state"] == "REJ")
    assert (rejected["client_state"], rejected["server_state"], rejected["history"]) == (
        "CLOSED", "CLOSED", "Sr")


@pytest.mark.parametrize("name,stream,expected", [
    ("zeek-http-get.pcap", 0, ("TIME_WAIT", "CLOSED", "closed", "SF", "ShADadFf", 0, 0, 0)),
    ("zeek-http-get-nosyn.pcap", 0, ("TIME_WAIT", "CLOSED", "closed", "SF", "DadAFf", 0, 0, 0)),
    ("zeek-tcp-handshake-reorder.pcap", 0,
     ("TIME_WAIT", "CLOSED", "closed", "SF", "^hSADadFf", 0, 0, 0)),
    ("zeek-tcp-missing-syn.pcap", 0, ("TIME_WAIT", "CLOSED", "closed", "SF", "^hADdFaf", 0, 0, 0)),
    ("zeek-tcp-single-rst.pcap", 0, ("CLOSED", "CLOSED", "reset", "OTH", "R", 0, 0, 0)),
    ("zeek-tcp-ssh-dups.pcap", 0,
     ("TIME_WAIT", "CLOSED", "closed", "SF", "ShADTadtTtFf", 166, 0, 0)),
    ("zeek-tcp-reassembly.pcap", 0,
     ("CLOSED", "TIME_WAIT", "closed", "SF", "ShADafTTFG", 15, 5, 4376)),
    ("zeek-tcp-retransmit-fast009.pcap", 0,
     ("CLOSED", "CLOSED", "reset", "RSTO", "ShADadtRGg", 3, 0, 24257)),
    ("zeek-tcp-fin-retransmission.pcap", 0, ("CLOSED", "CLOSED", "reset", "RSTR", "SFhr", 2, 0,
                                             0)),
    ("zeek-tcp-syn-then-stuff-then-rst.pcap", 0, ("CLOSED", "CLOSED", "reset", "OTH", "SaFR", 1,
                                                  0, 0)),
    ("zeek-http-get-to-ssh-server-nsec.pcap", 0,
     ("CLOSED", "CLOSED", "reset", "RSTR", "ShADadr", 0, 0, 0)),
])
def test_real_connections(name: str, stream: int, expected: tuple) -> None:
    with extract_flows_from_file(CAPTURES / name, WIRESHARK) as r:
        c = r[r.conversation_of_stream(Kind.TCP, stream)[0]]
        assert (c.client_state, c.server_state, c.status, c.conn_state, c.history,
                c.retransmissions, c.out_of_order, c.missing_bytes) == expected


def test_wireshark_counts_the_same_retransmissions() -> None:
    """tshark 4.0.17 flags 166 segments of ssh-dups and 3 of fast009 as retransmissions; in
    the reassembly capture it calls 20 segments retransmissions, which we split into 15
    retransmitted and 5 out-of-order (they fill holes)."""
    with extract_flows_from_file(CAPTURES / "zeek-tcp-reassembly.pcap", WIRESHARK) as r:
        assert r[0].retransmissions + r[0].out_of_order == 20


def test_without_stored_packet_lists_the_answers_are_the_same() -> None:
    from engine.follow import find_tcp_stream, reassemble
    from engine.tcp import tcp_timeline

    path = CAPTURES / "zeek-wikipedia-many-conns.pcap"
    lean = WIRESHARK.replace(store_packet_indices=False)
    with extract_flows_from_file(path, lean) as a, extract_flows_from_file(path, WIRESHARK) as b:
        for name in TEXT + COUNTS:
            assert (a.conversations.extra[name] == b.conversations.extra[name]).all(), name
        for stream in range(10):
            row = find_tcp_stream(a, stream)
            with reassemble(a, row) as x, reassemble(b, row) as y:
                assert (x.data(0), x.data(1)) == (y.data(0), y.data(1))
            assert tcp_timeline(a, row).changes == tcp_timeline(b, row).changes


def test_openers_are_the_summary_clients_that_are_no_guess(capture_path: Path) -> None:
    """The application layer reads who opened each TCP connection from the packets, before the
    TCP summary runs; it must name the summary's client wherever that is no guess."""
    from engine.tcp.events import openers

    with extract_flows_from_file(capture_path, WIRESHARK) as r:
        np.testing.assert_array_equal(openers(r.inner_view(), r.conversations),
                                      _summary_openers(r.conversations))


def test_openers_on_the_application_truth_set() -> None:
    from engine.tcp.events import openers
    from tests.engine.app_truth import APP
    from tests.engine.app_truth import CAPTURES as APP_CAPTURES

    paths = [APP / name for name in APP_CAPTURES]
    with extract_flows_from_file(paths, WIRESHARK) as r:
        expected = _summary_openers(r.conversations)
        assert (expected == 0).sum() > 100
        np.testing.assert_array_equal(openers(r.inner_view(), r.conversations), expected)


def _summary_openers(t: ConversationTable) -> np.ndarray:
    """The TCP summary's client (0: A, 1: B) where it is no guess, else -1."""
    return np.where(t.extra["partial"] == 0, np.where(t.extra["client"] == "B", 1, 0), -1)
