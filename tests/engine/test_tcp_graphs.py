"""The data of the five TCP stream graphs (engine.tcp_graphs): bytes in flight and flags equal
tshark's (the oracle JSON), the RTTs are those of Wireshark's RTT graph (a port of its code
here), the receive window is scaled as Wireshark scales it, the SACK blocks are the options'
edges relative to the sender's base, goodput counts new bytes only."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.packet_notes import conversation_packets
from engine.packets import Kind
from engine.tcp import expert_flags as F
from engine.tcp_graphs import _rate, moving_window, stream_graph_data
from tests.engine.test_tcp_expert_oracle import ORACLE, _capture

SOME = ["zeek-tcp-retransmit-fast009.pcap", "zeek-tcp-ssh-dups.pcap", "tcpx-sack.pcap",
        "tcpx-zero-window.pcap", "tcpx-window-full.pcap", "tcpx-spurious.pcap",
        "tcpx-random-7.pcap", "ndpi-443-firefox.pcap"]


def _graphs(result):  # every (conversation, lane) of the capture's TCP conversations
    for conv in np.flatnonzero(result.conversations.kind == Kind.TCP).tolist():
        for lane in (0, 1):
            yield conv, lane, stream_graph_data(result, conv, lane)


@pytest.mark.parametrize("name", SOME)
def test_flight_and_flags_equal_tshark(name: str) -> None:
    frames = json.loads((ORACLE / f"{name}.json").read_text())["frames"]
    checked = 0
    with extract_flows_from_file(_capture(name), WIRESHARK) as result:
        for _, _, g in _graphs(result):
            for packet, flight, flags in zip(g.seg_packet.tolist(), g.flight.tolist(),
                                             g.seg_flags.tolist(), strict=True):
                f = frames[str(packet + 1)]
                want = f["bytes_in_flight"]
                assert (math.isnan(flight) if want is None else flight == want), packet + 1
                assert set(F.flag_names(flags)) == set(f["flags"]), packet + 1
                checked += 1
            assert np.all(g.seg_end >= g.seg_start)
    assert checked


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


# -- the round-trip time graph against Wireshark's own algorithm ------------------------------
def _wireshark_rtt_points(result, conv: int, lane: int, g) -> Counter:  # type: ignore[no-untyped-def]
    """Wireshark 4.0's fillRoundTripTime (ui/qt/tcp_stream_dialog.cpp), list for list, SACK
    blocks and partial ACKs included: Counter of (segment packet, ACK packet) points. (Packets of
    the other side without the ACK flag are not ACKs here, as in the engine.)"""
    p = conversation_packets(result, conv)
    sacks: dict[int, list[tuple[int, int]]] = {}
    for packet, left, right in zip(g.sack_packet.tolist(), g.sack_left.tolist(),
                                   g.sack_right.tolist(), strict=True):
        sacks.setdefault(packet, []).append((int(left), int(right)))
    unacked: list[list[int]] = []  # [segment packet, seqno, end_seqno]
    points: Counter = Counter()

    def after(a: int, b: int) -> bool:
        return ((a - b) & 0xFFFFFFFF) not in (0,) and ((a - b) & 0xFFFFFFFF) < 0x80000000

    for row in range(len(p)):
        packet = int(p.index[row])
        if p.direction[row] == lane:
            seq, length = int(p.rel_seq[row]), int(p.payload[row])
            if length and not any(not after(u[1], seq) and after(u[2], seq) for u in unacked):
                unacked.append([packet, seq, seq + length])
            continue
        if not p.has_ack[row]:
            continue
        ack = int(p.rel_ack[row])
        k = 0
        while k < len(unacked):
            u = unacked[k]
            if after(ack, u[1]):
                points[(u[0], packet)] += 1
                if not after(u[2], ack):
                    del unacked[k]
                    continue
                u[1] = ack
            stop = k + 1  # the blocks act on u and what it splits into (before v)
            for left, right in sacks.get(packet, [])[:4]:
                if not after(right, left):
                    continue
                j = k
                while j < stop:
                    c = unacked[j]
                    if not after(right, c[1]) or not after(c[2], left):
                        j += 1
                        continue
                    left_end = not after(left, c[1])
                    right_end = not after(c[2], right)
                    points[(c[0], packet)] += 1
                    if left_end and right_end:
                        del unacked[j]
                        stop -= 1
                        continue
                    if left_end:
                        c[1] = right
                    elif right_end:
                        c[2] = left
                    else:
                        unacked.insert(j + 1, [c[0], right, c[2]])
                        c[2] = left
                        stop += 1
                        j += 1
                    j += 1
                if stop == k:
                    break
            k = stop
    return points


@pytest.mark.parametrize("name", SOME)
def test_rtt_points_are_wiresharks_where_no_segment_is_acknowledged_in_parts(name: str) -> None:
    with extract_flows_from_file(_capture(name), WIRESHARK) as result:
        differ = 0
        for conv, lane, g in _graphs(result):
            want = _wireshark_rtt_points(result, conv, lane, g)
            got = Counter(zip(g.rtt_segment.tolist(), g.rtt_packet.tolist(), strict=True))
            pairs = zip(g.rtt_segment.tolist(), g.rtt_packet.tolist(), strict=True)
            rtt = dict(zip(pairs, g.rtt.tolist(), strict=True))
            p = conversation_packets(result, conv)
            for (segment, ack) in got:
                assert rtt[(segment, ack)] * 1e9 == pytest.approx(
                    int(p.ts_ns[p.row_of(ack)] - p.ts_ns[p.row_of(segment)]), abs=1)
            # the engine draws each segment's first point; Wireshark adds one per later part
            first = Counter({k: 1 for k in want if not any(
                s == k[0] and a < k[1] for (s, a) in want)})
            differ += sum((first - got).values()) + sum((got - first).values())
        assert differ <= KNOWN_RTT_DIFFERENCES.get(name, 0)


#: segments whose first point differs from Wireshark's: frame 37 retransmits data SACK blocks had
#: acknowledged (so Wireshark's list no longer holds it and measures the retransmission anew);
#: the engine does not let SACK blocks free a range early (see round_trip_times)
KNOWN_RTT_DIFFERENCES: dict[str, int] = {"tcpx-random-7.pcap": 1}
