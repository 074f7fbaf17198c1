"""Hole filling in the TCP sequence statistics: the O(n log n) pass gives the answers of the
segment-by-segment walk it replaced, on any order of segments, and shuffled streams open fast.
The tests that go through ``sequence_stats`` run twice: with the compiled pass and with numpy."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import WIRESHARK, extract_flows, extract_flows_from_file
from engine.tcp import seqstats
from engine.tcp.segments import (
    TcpPackets,
    gather_tcp,
    group_starts,
    segmented_running_max,
    tcp_conversations,
)
from engine.tcp.seqstats_compiled import COMPILED

from .tcpgen import ACK, FIN, PSH, SYN, A, B, segment_storm, shuffled_stream, tcp_frame


@pytest.fixture(params=[
    pytest.param("compiled", marks=pytest.mark.skipif(
        COMPILED is None, reason="the compiled sequence statistics are not built")),
    "numpy"])
def stats_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sequence_stats`` (and so every load) with the compiled pass, or with numpy."""
    if request.param == "numpy":
        monkeypatch.setattr(seqstats, "COMPILED", None)
    return str(request.param)


def _walked(t: TcpPackets) -> seqstats.SeqStats:
    """The numpy statistics with the segment-by-segment hole walk (the reference)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(seqstats, "_fill_holes", _walk_holes)
        return seqstats.numpy_sequence_stats(t)


def _walk_holes(k: np.ndarray, g: np.ndarray, s: np.ndarray, e: np.ndarray, high: np.ndarray,
                starts: np.ndarray) -> np.ndarray:
    """The walk the fast pass replaced (quadratic): open holes followed segment by segment."""
    first = np.zeros(g.size, dtype=bool)
    first[starts] = True
    hole = (s > high) & ~first
    filled = np.zeros(k.size, dtype=np.int64)
    holes: list[list[int]] = []
    conv = -1
    for j, i in enumerate(k.tolist()):
        if g[i] != conv:
            conv, holes = int(g[i]), []
        a, b = int(s[i]), int(e[i])
        if hole[i]:
            holes.append([int(high[i]), a])
            continue
        kept: list[list[int]] = []
        for lo, hi in holes:
            x, y = max(lo, a), min(hi, b)
            if x >= y:
                kept.append([lo, hi])
                continue
            filled[j] += y - x
            if lo < x:
                kept.append([lo, x])
            if y < hi:
                kept.append([y, hi])
        holes = kept
    return filled


def _visited(g: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, ...]:
    """The segments ``_classify`` hands to the hole filling (keep-alives never fill a hole)."""
    starts = group_starts(g)
    first = np.zeros(g.size, dtype=bool)
    first[starts] = True
    high = segmented_running_max(e, starts, exclusive=True, floor=-(1 << 62))
    keepalive = (e - s <= 1) & (s == high - 1) & ~first
    below = (s < high) & ~first & ~keepalive
    hole = (s > high) & ~first
    hole_at = np.full(int(g.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(hole_at, g[hole], np.flatnonzero(hole))
    k = np.flatnonzero((below | hole) & (np.arange(g.size) >= hole_at[g]))
    return k, starts, high


segments = st.lists(st.tuples(st.integers(0, 3), st.integers(-20, 200), st.integers(1, 30)),
                    min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(segments)
def test_fast_hole_filling_equals_the_walk(segs: list[tuple[int, int, int]]) -> None:
    segs.sort(key=lambda x: x[0])  # grouped by side, capture order inside (a stable sort)
    g = np.array([x[0] for x in segs], dtype=np.int64)
    s = np.array([x[1] for x in segs], dtype=np.int64)
    e = s + np.array([x[2] for x in segs], dtype=np.int64)
    k, starts, high = _visited(g, s, e)
    if not k.size:
        return
    fast = seqstats._fill_holes(k, g, s, e, high, starts)
    assert fast.tolist() == _walk_holes(k, g, s, e, high, starts).tolist()


def _frames(script: list[tuple[int, int, int, int]]) -> list[tuple[bytes, int, int]]:
    """Raw records of one connection: (lane, relative seq, payload length, flags) each."""
    isn = (1000, 5000)
    out = []
    for n, (lane, rel, size, flags) in enumerate(script):
        src, dst = (A, B) if lane == 0 else (B, A)
        ports = (40000, 80) if lane == 0 else (80, 40000)
        out.append((tcp_frame(src, dst, *ports, isn[lane] + rel, isn[1 - lane] + 1, flags,
                              b"x" * size), 1_000_000 * (n + 1), 1))
    return out


tcp_script = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 120), st.integers(0, 20),
                                st.sampled_from((ACK, ACK | PSH, ACK | FIN, SYN, ACK | SYN))),
                      min_size=1, max_size=60)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the same for each
@given(tcp_script)
def test_sequence_stats_unchanged_on_any_segment_order(stats_path: str,
                                                       script: list[tuple[int, int, int, int]],
                                                       ) -> None:
    """Every column and per-packet mark equals the walk's, whatever flags and order."""
    result = extract_flows(_frames(script), WIRESHARK)
    t = gather_tcp(result.packets, result.conversations, tcp_conversations(result.conversations))
    fast = seqstats.sequence_stats(t)
    walked = _walked(t)
    for name in ("retransmissions", "out_of_order", "missing", "missing_side", "retransmitted",
                 "reordered"):
        assert getattr(fast, name).tolist() == getattr(walked, name).tolist(), name


def _expected_out_of_order(order: list[int]) -> int:
    """Segments that arrive below the highest one seen (each distinct, none lost)."""
    count, top = 0, -1
    for k in order:
        count += k < top
        top = max(top, k)
    return count


@pytest.mark.parametrize("order", ["shuffle", "reverse", "sorted"])
def test_reordered_stream_columns(stats_path: str, order: str, tmp_path: Path) -> None:
    n = 3000
    path = tmp_path / "stream.pcap"
    path.write_bytes(shuffled_stream(n, seed=7, order=order))
    idx = list(range(n))
    if order == "shuffle":
        random.Random(7).shuffle(idx)
    elif order == "reverse":
        idx.reverse()
    with extract_flows_from_file(path, WIRESHARK) as result:
        extra = result.conversations.extra
        assert extra["retransmissions"].tolist() == [0]
        assert extra["missing_bytes"].tolist() == [0]
        assert extra["out_of_order"].tolist() == [_expected_out_of_order(idx)]


def test_two_hundred_thousand_shuffled_segments_open(stats_path: str, tmp_path: Path) -> None:
    """Following every open hole per segment took ~47 s at 20,000 segments and grew with the
    square; the hang guard is generous (the bench measures the speed)."""
    path = tmp_path / "shuffled.pcap"
    path.write_bytes(shuffled_stream(200_000, seed=3))
    started = time.perf_counter()
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert result.conversations.extra["retransmissions"].tolist() == [0]
        assert result.conversations.extra["missing_bytes"].tolist() == [0]
    assert time.perf_counter() - started < 60


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_segment_storm_equals_the_walk(stats_path: str, seed: int, tmp_path: Path) -> None:
    """Overlaps, retransmissions, holes, keep-alives and FINs at random, 1,500 segments."""
    path = tmp_path / "storm.pcap"
    path.write_bytes(segment_storm(random.Random(seed), 1500))
    with extract_flows_from_file(path, WIRESHARK) as result:
        t = gather_tcp(result.packets, result.conversations,
                       tcp_conversations(result.conversations))
    fast = seqstats.sequence_stats(t)
    walked = _walked(t)
    assert fast.out_of_order.tolist() == walked.out_of_order.tolist()
    assert fast.out_of_order.sum() > 50 and fast.retransmissions.sum() > 50
    assert fast.reordered.tolist() == walked.reordered.tolist()
    assert fast.retransmitted.tolist() == walked.retransmitted.tolist()
    assert fast.missing.tolist() == walked.missing.tolist()
