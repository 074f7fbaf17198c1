"""Issue 10 item 2: several SYN-ACKs with different ISNs in one connection.

Wireshark bases a side's sequence space on its latest SYN (every SYN-ACK resets it), Flowscope
used the first; each loses the server's bytes in some capture. Flowscope now takes the ISN the
client's ACK acknowledges — the handshake that went on — and tshark's choice (the last) when the
client acknowledges none. Capture: tests/data/built/make_captures.py (``several_synacks``).
"""

from __future__ import annotations

import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.follow import find_tcp_stream, reassemble
from engine.tcp.segments import gather_tcp

from .built import assert_table_equal, oracle, path

NAME = "several-synacks.pcap"


def _follow(stream: int) -> tuple[bytes, bytes]:
    with extract_flows_from_file(path(NAME), WIRESHARK) as result, \
            reassemble(result, find_tcp_stream(result, stream)) as follow:
        client, server = (s.read(0, len(s)) for s in follow.stores)
        return client, server


def test_conversations_equal_tshark() -> None:
    assert_table_equal(NAME)


@pytest.mark.parametrize("stream", [0, 3])
def test_follow_equals_tshark_where_the_data_follows_the_last_synack(stream: int) -> None:
    """The client acknowledges the last SYN-ACK (stream 0) or none (stream 3): tshark is right
    and Follow gives its bytes."""
    conv = oracle(NAME)["tcp"][stream]
    assert _follow(stream) == (bytes.fromhex(conv["payload_a_to_b_hex"]),
                               bytes.fromhex(conv["payload_b_to_a_hex"]))
    assert conv["payload_b_to_a_hex"]


@pytest.mark.parametrize("stream,isn", [(1, 900), (2, 9000)])
def test_follow_keeps_the_data_of_the_acknowledged_synack(stream: int, isn: int) -> None:
    """The client acknowledges the first SYN-ACK and the server's data follows it. tshark 4.0.17
    follows from the last SYN-ACK and shows no server bytes (the oracle's empty b_to_a), a loss:
    Flowscope keeps them. The client's bytes are tshark's."""
    conv = oracle(NAME)["tcp"][stream]
    assert conv["payload_b_to_a_hex"] == ""
    client, server = _follow(stream)
    assert client == bytes.fromhex(conv["payload_a_to_b_hex"])
    assert server == f"reply on {1101 + stream}, after the SYN-ACK with ISN {isn}\n".encode()


def test_relative_sequence_numbers_start_at_the_acknowledged_isn() -> None:
    """TCP analysis shares the base: the server's reply is at relative sequence 1."""
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        row = find_tcp_stream(result, 1)
        t = gather_tcp(result.packets, result.conversations, [row])
        assert t.base[0].tolist() == [100, 900]
        assert t.rel[-1] == 1 and t.lane[-1] == 1
