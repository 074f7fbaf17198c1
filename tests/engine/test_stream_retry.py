"""Issue 10 item 1: a SYN that repeats its ISN after a RST or a close stays in its tcp.stream.

Wireshark 4.0 starts a new stream only for a SYN whose sequence number differs from its sender's
base sequence number (its latest SYN's); a same-ISN SYN is a retry of the same connect (a Windows
retry after a refused connect, RFC 5961's challenge ACK → RST → SYN), so splitting it shifted
every later stream number. The capture is built by tests/data/built/make_captures.py; the answers
are tshark 4.0.17's (tests/data/built/oracle). Smaller cases are in test_streams.py.
"""

from __future__ import annotations

from .built import assert_table_equal, ours

NAME = "syn-retry-same-isn.pcap"


def test_retried_connects_keep_their_stream_and_later_streams_their_numbers() -> None:
    assert_table_equal(NAME)


def test_each_case_in_numbers() -> None:
    streams = {conv["a"]["port"]: [] for conv in ours(NAME).values()}
    for (_, stream), conv in sorted(ours(NAME).items()):
        streams[conv["a"]["port"]].append(stream)
    # the refused connect retried, the challenge ACK case and the same ISN after a FIN close
    # are one stream each; port 1004's new ISN starts a second one, which its retry keeps
    assert streams == {1001: [0], 1002: [1], 1003: [2], 1004: [3, 4], 1005: [5]}
