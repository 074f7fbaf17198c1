"""Issue 10 item 5: TCP and UDP headers Wireshark rejects, counted as Wireshark counts them.

tshark 4.0.17 looks up a TCP packet's conversation once it has read 16 header bytes (ports to
window), before it checks the data offset; a header it then rejects (data offset below 20, or
more header than the packet holds: options cut by the snap length, an IP length too short) still
uses up a tcp.stream number — it may even start a stream, as a SYN with a new ISN — but its
conversation table never counts it. A UDP length below 8 (0 over IPv4) gets no udp.stream at
all. The capture and what each frame is: tests/data/built/make_captures.py
(``bad_transport_headers``); the answers: tests/data/built/oracle.
"""

from __future__ import annotations

from engine import WIRESHARK, Reason, extract_flows_from_file

from .built import assert_table_equal, path

NAME = "bad-transport-headers.pcap"
#: frames tshark numbers (tcp.stream) but leaves out of its conversation table
NUMBERED_ONLY = frozenset({2, 4, 5, 7, 9, 10})


def test_conversations_and_stream_numbers_equal_tshark() -> None:
    assert_table_equal(NAME, NUMBERED_ONLY)


def test_rejected_headers_are_unassigned_with_their_reason() -> None:
    with extract_flows_from_file(path(NAME), WIRESHARK) as result:
        p = result.packets
        numbered = {int(i) + 1 for i in (p.reason == Reason.TCP_HEADER).nonzero()[0]}
        assert numbered == NUMBERED_ONLY
        assert (p.conv[p.reason == Reason.TCP_HEADER] == -1).all()
        reasons = {int(i) + 1: Reason(int(p.reason[i])) for i in (p.conv < 0).nonzero()[0]}
        assert reasons == {**{f: Reason.TCP_HEADER for f in NUMBERED_ONLY},
                           6: Reason.TRUNCATED,  # 15 bytes of TCP header captured
                           8: Reason.MALFORMED,  # the IP length leaves 10 bytes for TCP
                           12: Reason.MALFORMED, 13: Reason.MALFORMED}  # UDP length 4, 0
        assert sum(c.packets for c in result) + result.unassigned.total == len(p)
