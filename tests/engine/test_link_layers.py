"""Issue 10 item 6: link layers and encapsulations that used to stay undecoded.

Cisco HDLC (link type 104, and Cisco HDLC framing inside the PPP link type: a first byte of
0x0F or 0x8F), PPI (192) over Ethernet and over 802.11, PPPoE with a one-byte (compressed) PPP
protocol field, GRE carrying ERSPAN types I, II and III and Aruba's 802.11 frames. Each capture
(tests/data/built/make_captures.py) carries TCP connections with data; its conversations, their
stream numbers and their Follow bytes must be tshark 4.0.17's (tests/data/built/oracle: the
``.levels.json`` files list every TCP/UDP layer, tunnelled ones too). The decoders' agreement
with each other and with scapy on these shapes is a property test (test_decode_properties.py).
"""

from __future__ import annotations

import pytest

from engine import WIRESHARK, extract_flows_from_file

from .built import assert_follow_equal, assert_levels_equal, assert_table_equal, path

CAPTURES = ["cisco-hdlc.pcap", "ppp-cisco-hdlc.pcap", "ppi.pcap", "encapsulations.pcap"]


@pytest.mark.parametrize("name", CAPTURES)
def test_conversations_equal_tshark(name: str) -> None:
    assert_levels_equal(name)


@pytest.mark.parametrize("name,streams", [("cisco-hdlc.pcap", 2), ("ppp-cisco-hdlc.pcap", 2),
                                          ("ppi.pcap", 2), ("encapsulations.pcap", 5)])
def test_follow_equals_tshark(name: str, streams: int) -> None:
    assert assert_follow_equal(name) == streams


@pytest.mark.parametrize("name", CAPTURES)
def test_every_frame_is_decoded(name: str) -> None:
    """Nothing is left as an undecoded link type or a non-IP frame."""
    with extract_flows_from_file(path(name), WIRESHARK) as result:
        assert result.unassigned.total == 0
        assert sum(c.packets for c in result) == result.capture.packets


def test_radiotap_wifi_equals_tshark() -> None:
    """802.11 behind radiotap (link type 127): data frames with and without an FCS, and frames
    whose radiotap Flags claim an FCS they lack — their last 4 bytes (of the TCP header) are
    taken for it, so tshark numbers those headers without counting them; frames 20 and 21 carry
    payload and count. A beacon and an encrypted frame are not IP."""
    assert_table_equal("wlan-radiotap.pcap", frozenset({17, 18, 19, 22, 23, 24}))
    with extract_flows_from_file(path("wlan-radiotap.pcap"), WIRESHARK) as result:
        assert result.unassigned.by_reason == {
            "not IP": 2, "TCP header malformed or cut short (it still uses a tcp.stream number)": 6}
