"""Reassembly details: chunk metadata, counters, snap-length cuts, limits, cancel."""

from __future__ import annotations

import numpy as np
import pytest

from engine import WIRESHARK, ConversationNotFound, LoadCancelled, RawPacket, extract_flows
from engine.follow import find_tcp_stream, reassemble
from tests.engine.test_tcp_scenarios import (
    REQ,
    RESP,
    Flow,
    analyse,
    handshake,
    normal_close,
    out_of_order,
    overlap_conflict,
)


def test_chunks_say_who_sent_what_when() -> None:
    result = analyse(normal_close())
    with reassemble(result, 0) as stream:
        c = stream.chunks
        assert c.direction.tolist() == [0, 1]
        assert c.offset.tolist() == [0, 0] and c.length.tolist() == [18, 24]
        assert c.packet.tolist() == [3, 5]
        assert c.ts_ns.tolist() == result.packets.ts_ns[[3, 5]].tolist()
        assert [stream.chunk_bytes(k) for k in range(2)] == [REQ, RESP]
        assert stream.a == ("10.1.1.1", 40001) and stream.b == ("10.2.2.2", 80)
        assert stream.stream == 0 and not stream.gaps and not stream.limits


def test_held_segments_are_emitted_when_they_fit() -> None:
    with reassemble(analyse(out_of_order()), 0) as stream:
        assert stream.chunks.packet.tolist() == [4, 3, 6]
        assert stream.chunks.offset.tolist() == [0, 10, 20]
        assert stream.counters[0].held_max == 1


def test_overlap_counters() -> None:
    with reassemble(analyse(overlap_conflict()), 0) as stream:
        c = stream.counters[0]
        assert stream.data(0) == b"AAAAAAAAAABBBBB"
        assert (c.retransmitted, c.overlapping, c.conflicting) == (0, 5, 5)


def test_identical_retransmission_counts_but_does_not_conflict() -> None:
    f = handshake(Flow()).c("PA", 1, 1, REQ).c("PA", 1, 1, REQ).s("A", 1, 19)
    with reassemble(analyse(f), 0) as stream:
        c = stream.counters[0]
        assert stream.data(0) == REQ
        assert (c.retransmitted, c.overlapping, c.conflicting) == (18, 0, 0)


def _cut(flow: Flow, index: int, keep: int) -> list[object]:
    """The flow's packets with packet ``index`` captured only to ``keep`` bytes."""
    out: list[object] = []
    for k, pkt in enumerate(flow.packets):
        data = bytes(pkt)
        ts = round(float(pkt.time) * 1e9)
        if k == index:
            out.append(RawPacket(data[:keep], ts, 1, origlen=len(data)))
        else:
            out.append(RawPacket(data, ts, 1))
    return out


def test_snaplen_cut_payload_is_a_truncated_gap() -> None:
    f = handshake(Flow()).c("PA", 1, 1, b"0123456789").c("PA", 11, 1, b"abcdefghij")
    f.s("A", 1, 21)
    packets = _cut(f, 3, 14 + 20 + 20 + 6)  # headers and 6 of the 10 payload bytes
    result = extract_flows(packets, WIRESHARK)
    with reassemble(result, 0) as stream:
        assert stream.data(0) == b"012345abcdefghij"
        (gap,) = stream.gaps
        assert (gap.direction, gap.offset, gap.length, gap.kind) == (0, 6, 4, "truncated")
        assert gap.packet == 3 and gap.before_chunk == 1
        assert stream.counters[0].truncated == 4
    assert result[0].missing_bytes == 4


def test_too_many_held_segments_give_up_the_oldest_gap() -> None:
    f = handshake(Flow()).c("PA", 1, 1, b"1" * 10)
    for k in range(3):  # bytes 11..20 never arrive and are never acknowledged
        f.c("PA", 21 + 10 * k, 1, bytes([ord("3") + k]) * 10)
    unlimited = analyse(f)
    with reassemble(unlimited, 0) as stream:
        assert stream.data(0) == b"1" * 10 and not stream.limits  # like tshark: held forever
        assert stream.counters[0].held_max == 3
    limited = analyse(f, WIRESHARK.replace(max_ooo_segments=2))
    with reassemble(limited, 0) as stream:
        assert stream.data(0) == b"1" * 10 + b"3" * 10 + b"4" * 10 + b"5" * 10
        (gap,) = stream.gaps
        assert (gap.offset, gap.length, gap.kind) == (10, 10, "limit")
        assert any("out-of-order" in m for m in stream.limits)


def test_buffer_limit_cuts_and_reports() -> None:
    result = analyse(normal_close(), WIRESHARK.replace(max_reassembly_buffer=10))
    with reassemble(result, 0) as stream:
        assert stream.data(0) == REQ[:10] and stream.data(1) == RESP[:10]
        assert [c.over_limit for c in stream.counters] == [8, 14]
        assert len(stream.limits) == 2 and "10 bytes" in stream.limits[0]


def test_ethernet_padding_is_not_data() -> None:
    f = handshake(Flow())
    for k, ch in enumerate(b"abc"):
        f.c("PA", 1 + k, 1, bytes([ch]), pad=20)
    result = analyse(f)
    assert result.packets.caplen[3] == 14 + 20 + 20 + 1 + 20
    with reassemble(result, 0) as stream:
        assert stream.data(0) == b"abc"


def test_reassembly_can_be_cancelled() -> None:
    with pytest.raises(LoadCancelled):
        reassemble(analyse(normal_close()), 0, cancel=lambda: True)


def test_progress_reaches_the_total() -> None:
    seen: list[tuple[int, int]] = []
    with reassemble(analyse(normal_close()), 0, progress=lambda a, b: seen.append((a, b))):
        pass
    assert seen[-1] == (42, 42)


def test_unknown_streams_are_reported() -> None:
    result = analyse(normal_close())
    assert find_tcp_stream(result, 0) == 0
    with pytest.raises(ConversationNotFound, match="no TCP stream 3"):
        find_tcp_stream(result, 3)
    with pytest.raises(ConversationNotFound):
        reassemble(result, 5)


def test_sequence_numbers_wrap() -> None:
    f = Flow(isn_c=(1 << 32) - 15)
    f = handshake(f)
    data = bytes(range(200))
    for k in range(0, 200, 20):
        f.c("PA", 1 + k, 1, data[k : k + 20])
    with reassemble(analyse(f), 0) as stream:
        assert stream.data(0) == data
        seqs = stream.chunks.seq
        assert np.all(np.diff(seqs) == 20)
