"""The per-conversation health columns, rebuilt from tshark's per-frame answers: counts of each
analysis flag, the initial RTT, ACK RTT minimum / median / maximum, Expert Info items per
severity; their JSON, CSV and filter names."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter, defaultdict

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.export.conversations import write_csv, write_json
from engine.filter import filter_mask
from engine.packets import Kind
from engine.tcp import expert_flags as F
from tests.engine.test_tcp_expert_oracle import ORACLE, ORACLES, UNDECODED_STREAMS, _capture

COUNTED = {"tcp_retrans": "retransmission", "fast_retrans": "fast_retransmission",
           "spurious_retrans": "spurious_retransmission", "dup_acks": "duplicate_ack",
           "lost_segments": "lost_segment", "acked_unseen": "ack_lost_segment",
           "tcp_out_of_order": "out_of_order", "zero_windows": "zero_window",
           "window_full": "window_full", "keep_alives": "keep_alive"}
SEVERITY = {f.name: f.severity for f in F.FLAGS}
WITH_TCP = [n for n in ORACLES if json.loads((ORACLE / f"{n}.json").read_text())["frames"]]


@pytest.mark.parametrize("name", WITH_TCP)
def test_columns_equal_tshark_per_stream(name: str) -> None:
    frames = json.loads((ORACLE / f"{name}.json").read_text())["frames"]
    by_stream: dict[int, list[dict]] = defaultdict(list)
    for f in frames.values():
        by_stream[f["stream"]].append(f)
    with extract_flows_from_file(_capture(name), WIRESHARK) as result:
        t = result.conversations
        x = t.extra
        # streams with frames the decoder leaves unassigned by design (see the oracle test)
        undecoded = {f["stream"] for k, f in frames.items() if result.packets.conv[int(k) - 1] < 0}
        assert len(undecoded) == UNDECODED_STREAMS.get(name, 0)
        for row in np.flatnonzero(t.kind == Kind.TCP).tolist():
            if int(t.stream[row]) in undecoded:
                continue
            mine = by_stream[int(t.stream[row])]
            names = Counter(flag for f in mine for flag in f["flags"])
            for column, flag in COUNTED.items():
                assert x[column][row] == names[flag], (column, row)
            items = Counter(SEVERITY[n] for f in mine for n in f["flags"])
            for severity in ("warning", "note", "chat"):
                assert x[f"expert_{severity}s"][row] == items[severity]
            irtts = {f["initial_rtt"] for f in mine if f["initial_rtt"] is not None}
            assert len(irtts) <= 1
            irtt = x["irtt"][row]
            assert (irtt == -1) == (not irtts)
            if irtts:
                assert round(irtt / 1e3) == round(irtts.pop() * 1e6)
            rtts = [f["ack_rtt"] for f in mine if f["ack_rtt"] is not None]
            if not rtts:
                assert x["rtt_min"][row] == x["rtt_median"][row] == x["rtt_max"][row] == -1
                continue
            assert round(x["rtt_min"][row] / 1e3) == round(min(rtts) * 1e6)
            assert round(x["rtt_max"][row] / 1e3) == round(max(rtts) * 1e6)
            assert abs(x["rtt_median"][row] / 1e9 - statistics.median(rtts)) < 1e-6


def test_retransmitted_share_and_severity() -> None:
    with extract_flows_from_file(_capture("zeek-tcp-ssh-dups.pcap"), WIRESHARK) as result:
        t = result.conversations
        p = result.packets
        e = result.plugin_data["tcp_expert"]
        row = int(np.argmax(t.extra["tcp_retrans"]))
        mine = np.flatnonzero((p.conv == row) & ((e.flags & F.RETRANSMISSION_KINDS) != 0))
        share = 100 * p.payload_len[mine].sum() / (t.payload_ab[row] + t.payload_ba[row])
        assert t.extra["retrans_share"][row] == pytest.approx(share) and share > 0
        assert t.extra["expert_severity"][row] == "note"
        udp = np.flatnonzero(t.kind == Kind.UDP)
        if udp.size:
            assert np.isnan(t.extra["retrans_share"][udp]).all()


def test_json_csv_and_filter_names() -> None:
    with extract_flows_from_file(_capture("zeek-wikipedia-many-conns.pcap"), WIRESHARK) as r:
        out = io.StringIO()
        write_json(r, out)
        convs = json.loads(out.getvalue())["conversations"]
        tcp = [c for c in convs if c["protocol"] == "tcp"]
        udp = [c for c in convs if c["protocol"] == "udp"]
        assert tcp and udp
        assert any(c["rtt"] is not None for c in tcp)
        for c in tcp:  # null where no RTT is known at all (as every nested group)
            if c["rtt"] is not None:
                assert set(c["rtt"]) == {"initial", "min", "median", "max"}
                assert c["rtt"]["initial"] is None or 0 < c["rtt"]["initial"] < 1
            assert set(c["tcp_analysis"]) >= {"retransmissions", "duplicate_acks",
                                              "zero_windows", "retransmitted_pct"}
            assert set(c["expert"]) == {"warnings", "notes", "chats", "severity"}
        assert all("rtt" not in c and "tcp_analysis" not in c for c in udp)
        out = io.StringIO()
        write_csv(r, out)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert {"rtt_initial", "tcp_analysis_duplicate_acks", "expert_warnings"} <= set(rows[0])
        t = r.conversations
        irtt = t.extra["irtt"]
        assert np.array_equal(filter_mask("irtt>100ms", t), irtt > 100_000_000)
        # -1 (no handshake seen) is "not applicable": no comparison matches it
        assert np.array_equal(filter_mask("irtt<100ms", t), (irtt >= 0) & (irtt < 100_000_000))
        assert np.array_equal(filter_mask("retrans>0", t), t.extra["tcp_retrans"] > 0)
        assert np.array_equal(filter_mask("dupack", t), t.extra["dup_acks"] > 0)
        assert np.array_equal(filter_mask("zerowin", t), t.extra["zero_windows"] > 0)
        assert filter_mask("severity==warning", t) is not None


def test_rtt_columns_with_time_going_backwards() -> None:
    """ACK RTTs are negative when timestamps go backwards (Wireshark shows them so); the
    minimum / median / maximum still belong to their conversations."""
    from engine.tcp import rtt_stats

    conv = np.array([0, 1, 1], dtype=np.int64)
    rtt = np.array([-5_000, -50, 350], dtype=np.int64)
    out = rtt_stats.empty(3)
    rtt_stats.stats(conv, rtt, out)
    lo, mid, hi = out[rtt_stats.MIN], out[rtt_stats.MEDIAN], out[rtt_stats.MAX]
    assert lo.tolist() == [-5_000, -50, -1]
    assert hi.tolist() == [-5_000, 350, -1]
    assert mid.tolist() == [-5_000, 150, -1]
