"""The stream of any conversation: TCP as Follow, UDP as datagrams, a preview of the first
packets that is a true beginning of the whole stream, and a sentence for protocols without one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import WIRESHARK, ConversationNotFound, extract_flows_from_file
from engine.follow import find_tcp_stream, reassemble
from engine.follow.conversation import (
    conversation_stream,
    has_stream,
    no_stream_reason,
)
from tests.conftest import CAPTURES, readable_captures

TCP_CAPTURES = [p for p in readable_captures() if p.name.startswith("zeek-tcp")
                or p.name in ("zeek-http-get.pcap", "zeek-wikipedia-many-conns.pcap")]


def test_tcp_is_the_follow_reassembly() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-http-get.pcap", WIRESHARK) as result:
        row = find_tcp_stream(result, 0)
        with conversation_stream(result, row) as mine, reassemble(result, row) as follow:
            assert mine.data(0) == follow.data(0) and mine.data(1) == follow.data(1)
            assert mine.chunks.packet.tolist() == follow.chunks.packet.tolist()
            assert not mine.datagrams


@pytest.mark.parametrize("path", TCP_CAPTURES, ids=lambda p: p.name)
def test_a_preview_is_the_beginning_of_the_whole_stream(path: Path) -> None:
    with extract_flows_from_file(path, WIRESHARK) as result:
        for row in np.flatnonzero(result.conversations.kind == 1).tolist():
            packets = int(result.conversations.packets[row])
            with conversation_stream(result, row) as whole:
                for first in {1, packets // 3, packets // 2, packets - 1}:
                    with conversation_stream(result, row, first_packets=first) as part:
                        assert part.conversation == row and part.stream == whole.stream
                        assert (part.a, part.b) == (whole.a, whole.b)
                        n = len(part.chunks)
                        assert n <= len(whole.chunks)
                        shown = set(result.conversations.packets_of(row)[:first].tolist())
                        assert set(part.chunks.packet.tolist()) <= shown
                        # all chunks but a last one still growing are the whole stream's
                        m = max(n - 1, 0)
                        same = part.chunks.packet[:m] == whole.chunks.packet[:m]
                        assert same.all()
                        for d in (0, 1):
                            data = part.data(d)
                            assert whole.data(d).startswith(data)


def test_udp_gives_datagrams_and_previews_them() -> None:
    path = CAPTURES / "zeek-wikipedia-many-conns.pcap"
    with extract_flows_from_file(path, WIRESHARK) as result:
        row = max((i for i, c in enumerate(result) if c.protocol == "udp"),
                  key=lambda i: int(result.conversations.packets[i]))
        with conversation_stream(result, row) as whole, \
                conversation_stream(result, row, first_packets=2) as part:
            assert whole.datagrams
            assert len(part.chunks) <= 2
            assert part.chunks.packet.tolist() == whole.chunks.packet[: len(part.chunks)].tolist()


def test_protocols_without_a_stream_say_so() -> None:
    with extract_flows_from_file(CAPTURES / "zeek-icmp-5-pings.pcap", WIRESHARK) as result:
        assert not has_stream(result, 0)
        reason = no_stream_reason(result, 0)
        assert reason == "Streams are shown for TCP and UDP conversations; this one is ICMP."
        with pytest.raises(ConversationNotFound, match="this one is ICMP"):
            conversation_stream(result, 0)
        assert "no conversation 99" in no_stream_reason(result, 99)
        assert not has_stream(result, -1)
