"""The data of the five TCP stream graphs (engine.tcp.graphs): the RTTs and bytes in flight equal
tshark's (the oracle JSON), the receive window is scaled as Wireshark scales it, the SACK blocks
are the options' edges relative to the sender's base, goodput counts new bytes only."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.packets import Kind
from engine.tcp import expert_flags as F
from engine.tcp.graphs import _rate, moving_window, stream_graph_data
from tests.engine.test_tcp_expert_oracle import ORACLE, _capture

SOME = ["zeek-tcp-retransmit-fast009.pcap", "zeek-tcp-ssh-dups.pcap", "tcpx-sack.pcap",
        "tcpx-zero-window.pcap", "tcpx-window-full.pcap", "tcpx-spurious.pcap",
        "tcpx-random-7.pcap", "ndpi-443-firefox.pcap"]


def _graphs(result):  # every (conversation, lane) of the capture's TCP conversations
    for conv in np.flatnonzero(result.conversations.kind == Kind.TCP).tolist():
        for lane in (0, 1):
            yield conv, lane, stream_graph_data(result, conv, lane)


@pytest.mark.parametrize("name", SOME)
def test_rtts_flight_and_flags_equal_tshark(name: str) -> None:
    frames = json.loads((ORACLE / f"{name}.json").read_text())["frames"]
    want_rtt = {int(k): v["ack_rtt"] for k, v in frames.items() if v["ack_rtt"] is not None}
    got_rtt: dict[int, float] = {}
    checked = 0
    with extract_flows_from_file(_capture(name), WIRESHARK) as result:
        for _, _, g in _graphs(result):
            for packet, rtt in zip(g.rtt_packet.tolist(), g.rtt.tolist(), strict=True):
                got_rtt[packet + 1] = rtt
            for packet, flight, flags in zip(g.seg_packet.tolist(), g.flight.tolist(),
                                             g.seg_flags.tolist(), strict=True):
                f = frames[str(packet + 1)]
                want = f["bytes_in_flight"]
                assert (math.isnan(flight) if want is None else flight == want), packet + 1
                assert set(F.flag_names(flags)) == set(f["flags"]), packet + 1
                checked += 1
            assert np.all(g.seg_end >= g.seg_start)
    assert checked
    assert got_rtt.keys() == want_rtt.keys()
    for frame, rtt in want_rtt.items():
        assert round(got_rtt[frame] * 1e6) == round(rtt * 1e6), frame


def test_marks() -> None:
    with extract_flows_from_file(_capture("tcpx-spurious.pcap"), WIRESHARK) as result:
        g = stream_graph_data(result, 0, 0)
        assert g.retransmitted.sum() == 3  # spurious, retransmission, out-of-order
        assert g.lost.sum() == 1
    with extract_flows_from_file(_capture("tcpx-zero-window.pcap"), WIRESHARK) as result:
        assert sum(int(g.zero_window.sum()) for _, _, g in _graphs(result)) > 0


def test_window_scaled_as_wireshark_scales_it() -> None:
    with extract_flows_from_file(_capture("tcpx-window-full.pcap"), WIRESHARK) as result:
        first = stream_graph_data(result, 0, 0)  # the client's data, the server's windows
        # the SYN-ACK's window is never scaled; then 250 and 1000 in units of 8
        assert first.window.tolist()[:3] == [65535, 2000, 2000]
        assert 8000 in first.window.tolist()
        second = stream_graph_data(result, 1, 0)
        assert second.window.tolist()[:2] == [3000, 12800]  # shift 7


def test_sack_blocks_relative_to_the_sender() -> None:
    with extract_flows_from_file(_capture("tcpx-sack.pcap"), WIRESHARK) as result:
        g = stream_graph_data(result, 0, 1)  # the server sends, the client SACKs
        assert g.sack_t.size == 1 + 2 + 3 + 4
        blocks = set(zip(g.sack_left.tolist(), g.sack_right.tolist(), strict=True))
        assert blocks == {(1 + 1000 * k, 1001 + 1000 * k) for k in range(2, 6)}
        assert np.all(np.isin(g.sack_packet, g.ack_packet))
        assert stream_graph_data(result, 0, 0).sack_t.size == 0


def test_goodput_counts_new_bytes() -> None:
    t = np.array([0.0, 0.5, 1.0, 1.5])  # each rate sums (t - 1 s, t]
    assert _rate(t, np.array([100, 100, 100, 100]), 1.0).tolist() == [100, 200, 200, 200]
    assert _rate(t[::-1].copy(), np.array([1, 2, 4, 8]), 1.0).tolist() == [3, 6, 12, 8]
    assert moving_window(100.0) == 1.0 and moving_window(0.0) == 0.001
    with extract_flows_from_file(_capture("tcpx-spurious.pcap"), WIRESHARK) as result:
        g = stream_graph_data(result, 0, 0)
        assert g.goodput.max() < g.throughput.max()
