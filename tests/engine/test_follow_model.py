"""The optimised Follow (numpy fast path, heaps of held segments) against a plain model of
Wireshark's rules, on random streams with reordering, loss, duplicates, overlaps and acks.

The model keeps held segments in a list and scans it in arrival order, as Wireshark 4.0 does.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import WIRESHARK
from engine.follow import reassemble
from engine.packets import SYN
from engine.tcp.segments import gather_tcp
from tests.engine.test_tcp_scenarios import Flow, analyse

MASK, HALF = (1 << 32) - 1, 1 << 31


def diff(a: int, b: int) -> int:
    return ((a - b + HALF) & MASK) - HALF


def model(t) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int]]]:
    """(lane, row, data offset, length) of each chunk, and (lane, chunk position, missing) of
    each gap marker, following Wireshark 4.0's Follow TCP Stream rules."""
    nxt, written, held = [0, 0], [0, 0], [[], []]
    chunks: list[tuple[int, int, int, int]] = []
    gaps: list[tuple[int, int, int]] = []

    def check(lane: int, ack: int, use_ack: bool) -> bool:
        if not held[lane]:
            return False
        lowest = held[lane][0][0]
        for k, (seq, row, off, size) in enumerate(held[lane]):
            if diff(lowest, seq) > 0:
                lowest = seq
            if diff(seq, nxt[lane]) < 0:
                if diff(seq + size, nxt[lane]) > 0:
                    skip = diff(nxt[lane], seq)
                    chunks.append((lane, row, off + skip, size - skip))
                    nxt[lane] += size - skip
                del held[lane][k]
                return True
            if diff(seq, nxt[lane]) == 0:
                if size:
                    chunks.append((lane, row, off, size))
                nxt[lane] += size
                del held[lane][k]
                return True
        if use_ack and diff(ack, lowest) > 0:
            gaps.append((lane, len(chunks), diff(lowest, nxt[lane])))
            nxt[lane] = lowest
            return True
        return False

    syn = t.has(SYN)
    for row in range(len(t)):
        lane = int(t.lane[row])
        while check(1 - lane, int(t.ack_rel[row]), True):
            pass
        seq = int(t.rel[row] + syn[row])
        length, cap, off = int(t.wire[row]), int(t.cap[row]), 0
        if written[lane] == 0 and nxt[lane] & MASK == 0:
            nxt[lane] = seq
        if diff(seq, nxt[lane]) < 0 and diff(seq + length, nxt[lane]) > 0:
            off = diff(nxt[lane], seq)
            cap = max(cap - off, 0)
            seq, length = nxt[lane], diff(seq + length, nxt[lane])
        if cap == 0 or diff(seq, nxt[lane]) < 0:
            continue
        if diff(seq, nxt[lane]) == 0:
            chunks.append((lane, row, off, cap))
            nxt[lane] += length
            written[lane] += cap
            while check(lane, 0, False):
                pass
        else:
            held[lane].append((seq, row, off, cap))
    return chunks, gaps


@st.composite
def streams(draw: st.DrawFn) -> Flow:
    """A connection whose segments arrive reordered, duplicated, overlapping or never."""
    f = Flow(isn_c=draw(st.sampled_from([1000, (1 << 32) - 50])), isn_s=77)
    f.c("S", 0).s("SA", 0, 1).c("A", 1, 1)
    sizes = draw(st.lists(st.integers(1, 9), min_size=1, max_size=12))
    edges = np.cumsum([0, *sizes]).tolist()
    segments = [(1 + a, b - a) for a, b in itertools.pairwise(edges)]
    order = draw(st.permutations(range(len(segments))))
    plan = []
    for k in order:
        if draw(st.integers(0, 9)) == 0:
            continue  # lost
        plan.append(segments[k])
        if draw(st.integers(0, 5)) == 0:
            plan.append(segments[k])  # duplicate
        if draw(st.integers(0, 6)) == 0:  # overlapping retransmission, other bytes
            start, size = segments[k]
            plan.append((max(1, start - 2), size + 3))
    sent_high = 1
    for start, size in plan:
        filler = bytes([65 + (start + i) % 26 for i in range(size)])
        f.c("PA", start, 1, filler)
        sent_high = max(sent_high, start + size)
        if draw(st.booleans()):
            f.s("A", 1, draw(st.integers(1, sent_high + 2)))
    return f


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_follow_equals_the_model(flow: Flow) -> None:
    result = analyse(flow)
    t = gather_tcp(result.packets, result.conversations, np.array([0]))
    chunks, gaps = model(t)
    with reassemble(result, 0) as stream:
        got = [(int(d), int(np.flatnonzero(t.index == p)[0])) for d, p in
               zip(stream.chunks.direction, stream.chunks.packet, strict=True)]
        assert got == [(lane, row) for lane, row, _, _ in chunks]
        assert stream.chunks.length.tolist() == [size for *_, size in chunks]
        assert [(g.direction, g.before_chunk, g.length) for g in stream.gaps
                if g.kind == "missing"] == gaps
        data = b"".join(result.payload_bytes(int(t.index[row]))[off : off + size]
                        for lane, row, off, size in chunks if lane == 0)
        assert stream.data(0) == data


def test_thousands_of_held_segments_stay_fast() -> None:
    """One direction loses its first segment and the loss is never acknowledged: every later
    segment waits (tshark shows nothing after the hole), without quadratic work."""
    f = Flow().c("S", 0).s("SA", 0, 1)
    for k in range(2000):
        f.c("PA", 11 + 10 * k, 1, b"x" * 10, gap=0.0001)
        f.s("A", 1, 1, gap=0.0001)
    config = WIRESHARK.replace(max_ooo_segments=100_000)
    result = analyse(f, config)
    with reassemble(result, 0) as stream:
        assert stream.data(0) == b"" and stream.counters[0].held_max == 2000
