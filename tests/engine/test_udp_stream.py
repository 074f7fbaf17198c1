"""UDP conversations as streams: tshark's payload lengths, scapy's payload bytes, gaps for bytes
not in the capture, and the Follow writers working on them unchanged."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import UDP
from scapy.utils import rdpcap

from engine import WIRESHARK, ConversationNotFound, Kind, analyse_packets, extract_flows_from_file
from engine.capture.in_memory import RawPacket
from engine.export.follow import write_follow
from engine.follow.udp import datagram_stream
from tests.conftest import CAPTURES, oracle, readable_captures
from tests.engine.packets import A, B, tcp, udp

UDP_CAPTURES = [p for p in readable_captures() if oracle(p)["udp"]]


def _udp_streams() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, u) for p in UDP_CAPTURES for u in oracle(p)["udp"]]


@pytest.mark.parametrize("path,conv", _udp_streams(),
                         ids=[f"{p.name}#{u['stream']}" for p, u in _udp_streams()])
def test_payload_lengths_equal_tshark(path: Path, conv: dict[str, Any]) -> None:
    """Captured bytes plus reported gaps add up to tshark's sum of (udp.length - 8)."""
    with extract_flows_from_file(path, WIRESHARK) as result:
        rows = result.conversation_of_stream(Kind.UDP, conv["stream"])
        assert len(rows) == 1
        with datagram_stream(result, rows[0]) as stream:
            for d, name in enumerate(("a_to_b", "b_to_a")):
                c = stream.counters[d]
                assert c.bytes + c.truncated + c.missing == conv[f"payload_{name}_len"]
                assert c.bytes == len(stream.data(d))
            assert stream.a == (conv["a"]["address"], conv["a"]["port"])


@pytest.mark.parametrize("name", ["tcpdump-dns-udp.pcap", "zeek-wikipedia-many-conns.pcap",
                                  "zeek-q-in-q.pcap"])
def test_each_chunk_is_scapys_udp_payload(name: str) -> None:
    path = CAPTURES / name
    frames = rdpcap(str(path))
    with extract_flows_from_file(path, WIRESHARK) as result:
        convs = [i for i, c in enumerate(result) if c.protocol == "udp"]
        assert convs
        for i in convs:
            with datagram_stream(result, i) as stream:
                assert len(stream.chunks) == sum(
                    1 for k in result.conversations.packets_of(i)
                    if len(bytes(frames[int(k)][UDP].payload)))
                for k in range(len(stream.chunks)):
                    packet = int(stream.chunks.packet[k])
                    assert stream.chunk_bytes(k) == bytes(frames[packet][UDP].payload)
                    assert stream.chunks.direction[k] == result.packets.direction[packet]


def _result(packets: list[Any]) -> Any:
    raws = [RawPacket(bytes(p), int(p.time * 1e9)) for p in packets]
    return analyse_packets(raws, WIRESHARK)


def test_order_directions_and_empty_datagrams() -> None:
    result = _result([udp(A, 5000, B, 53, b"ask", t=1), udp(B, 53, A, 5000, b"", t=2),
                      udp(B, 53, A, 5000, b"answer", t=3), udp(A, 5000, B, 53, b"again", t=4)])
    with datagram_stream(result, 0) as stream:
        assert stream.datagrams
        assert stream.data(0) == b"askagain" and stream.data(1) == b"answer"
        assert stream.chunks.direction.tolist() == [0, 1, 0]
        assert stream.chunks.offset.tolist() == [0, 0, 3]
        assert stream.chunks.packet.tolist() == [0, 2, 3]  # the empty datagram is no chunk
        assert stream.gaps == []
        out = io.BytesIO()
        write_follow(stream, out, "raw", "both")
        assert out.getvalue() == b"askansweragain"


def test_snaplen_cut_datagrams_are_truncated_gaps() -> None:
    whole = [udp(A, 1, B, 2, b"0123456789", t=1), udp(B, 2, A, 1, b"abcdef", t=2)]
    raws = [RawPacket(bytes(whole[0])[:-4], 1_000_000_000, origlen=len(bytes(whole[0]))),
            RawPacket(bytes(whole[1]), 2_000_000_000)]
    result = analyse_packets(raws, WIRESHARK)
    with datagram_stream(result, 0) as stream:
        assert stream.data(0) == b"012345"
        [gap] = stream.gaps
        assert (gap.direction, gap.offset, gap.length, gap.kind, gap.before_chunk) == (
            0, 6, 4, "truncated", 1)
        assert stream.counters[0].truncated == 4
        out = io.BytesIO()
        write_follow(stream, out, "ascii", "both")
        assert out.getvalue() == b"012345[4 bytes missing in capture file]\nabcdef"


def test_fragmented_datagram_is_read_back_from_its_fragments() -> None:
    """The datagram's payload is reassembled from its fragments' bytes in the capture. The
    fragments of this capture overlap (zeek's test of it); tshark 4.0.17 reassembles a UDP
    length of 18 whose ``udp.payload`` starts with ten zero bytes, then 0x58s."""
    path = CAPTURES / "zeek-ipv4-fragmented-1.pcap"
    with extract_flows_from_file(path, WIRESHARK) as result:
        row = next(i for i, c in enumerate(result) if c.protocol == "udp")
        with datagram_stream(result, row) as stream:
            assert not stream.gaps
            data = stream.stores[0].read(0, len(stream.stores[0]))
            assert len(data) == oracle(path)["udp"][0]["payload_a_to_b_len"] == 10
            assert data == bytes(10)


def test_not_a_udp_conversation() -> None:
    result = _result([tcp(A, 1, B, 2, "S", t=1)])
    with pytest.raises(ConversationNotFound, match="not a UDP conversation"):
        datagram_stream(result, 0)
