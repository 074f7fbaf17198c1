"""Issue 10 items 3, 4 and 5: TCP and UDP carried in IP fragments, as Wireshark counts and
follows them.

- The payload of a datagram reassembled from fragments reaches Follow (it used to be missing):
  it is read back from the fragments' place in the capture when a stream is followed; at load
  only those places are kept (``FlowResult.reassembled``), never the bytes.
- A TCP header split across fragments (a first fragment of 8 bytes) keeps its conversation; the
  bytes a frame holds after its IP length (Ethernet padding) are never taken as datagram bytes.
- Fragments that are not all in the capture are not reassembled (tshark's rule): an IPv4 first
  fragment is then dissected on its own and counted; an IPv6 one is not; the datagram never
  completes even when its other fragments are all there.

Captures: tests/data/built/make_captures.py (``fragmented_streams``, ``fragments_not_whole``);
tshark 4.0.17's answers, Follow bytes included: tests/data/built/oracle.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import WIRESHARK, Kind, extract_flows_from_file
from engine.cli import main
from engine.follow import conversation_stream
from engine.packets import PAYLOAD_REASSEMBLED
from tests.data.built.make_captures import DATAGRAM, DATAGRAM6

from .built import assert_table_equal, oracle, path

NAME = "ip-fragments.pcap"
NOT_WHOLE = "ip-fragments-not-whole.pcap"


@pytest.mark.parametrize("name", [NAME, NOT_WHOLE])
def test_conversations_equal_tshark(name: str) -> None:
    assert_table_equal(name)


@pytest.mark.parametrize("stream", [0, 1])
@pytest.mark.parametrize("direction", ["a-to-b", "b-to-a"])
def test_follow_of_fragmented_tcp_equals_tshark(stream: int, direction: str,
                                                capsysbinary: pytest.CaptureFixture[bytes]
                                                ) -> None:
    """Stream 0: a request in 8-byte fragments (the TCP header split between them, zero
    padding after the first), a response in fragments sent last first, overlapping fragments
    with different bytes. Stream 1: the same over IPv6."""
    code = main(["follow", str(path(NAME)), "--stream", str(stream), "--direction", direction,
                 "--format", "raw"])
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    conv = oracle(NAME)["tcp"][stream]
    assert out.hex() == conv[f"payload_{direction.replace('-', '_')}_hex"]
    assert not conv.get("gaps_a_to_b") and not conv.get("gaps_b_to_a")


def test_follow_of_fragmented_udp_gives_the_whole_datagrams() -> None:
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        udp = [c.id for c in result if c.protocol == "udp"]
        got = []
        for conv in udp:
            with conversation_stream(result, conv) as stream:
                assert not stream.gaps
                got.append(stream.stores[0].read(0, len(stream.stores[0])))
        assert got == [DATAGRAM, DATAGRAM6]


def test_payloads_stay_in_the_capture_until_followed() -> None:
    """The completing frames point at their fragments' bytes in the file; nothing else."""
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        p = result.packets
        done = np.flatnonzero(p.payload_off == PAYLOAD_REASSEMBLED)
        assert done.tolist() == result.reassembled.packet.tolist()
        # every reassembled payload is the sum of its pieces, each inside one captured frame
        r = result.reassembled
        sizes = np.add.reduceat(r.length, r.start[:-1])
        assert sizes.tolist() == p.payload_len[done].tolist()
        frame_of = np.searchsorted(p.offset, r.offset, side="right") - 1
        assert (r.offset + r.length <= p.offset[frame_of] + p.caplen[frame_of]).all()
        # the split TCP header was read from the datagram, not from padding
        first = result.conversations.first_packet[result.conversations.kind == Kind.TCP]
        assert int(p.tcp_hlen[done[0]]) == 20 and done[0] > first[0]
        assert result.payload_bytes(int(done[0])).startswith(b"GET /fragmented")


def test_fragments_not_all_captured_follow_from_their_own_frame() -> None:
    """An IPv4 first fragment that is not reassembled is a packet of its own, so Follow shows
    what it captured of its own 200 bytes and reports the rest as cut off (the UDP length
    claims the whole datagram, more than the fragment's IP length: the IP length wins)."""
    with extract_flows_from_file(path(NOT_WHOLE), WIRESHARK) as result:
        conv = next(c.id for c in result if c.protocol == "udp" and c.a[1] == 5102)
        with conversation_stream(result, conv) as stream:
            data = stream.stores[0].read(0, len(stream.stores[0]))
            assert data == DATAGRAM[: len(data)] and len(data) == 100 - 14 - 20 - 8
            assert [(g.kind, g.length) for g in stream.gaps] == [
                ("truncated", 200 - 8 - len(data))]
