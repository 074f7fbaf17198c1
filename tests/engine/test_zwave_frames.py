"""Z-Wave frame decoding: the three verified frames, R3 frames, routed/multicast/explore frames,
TAP headers and checksums (reference values computed independently of the decoder)."""

from __future__ import annotations

import binascii
import random
import struct
from functools import reduce
from operator import xor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import RawPacket, extract_flows, extract_zwave_flows
from engine.zwave import FrameFlag, command_class_name, command_name, frames_of
from engine.zwave.checksum import crc16, crc_many, xor_checksum, xor_many
from engine.zwave.protocol import ZWAVE
from engine.zwave.routing import multicast_nodes, routed_layout
from tests.engine.zwave_helpers import (
    ACK_1_TO_6,
    BASIC_SET,
    HOME,
    NOTIFICATION_REPORT,
    decode,
    packets,
    r3,
    r12,
    tap,
    tlv,
)


# -- checksums -------------------------------------------------------------------------------
def test_crc16_is_the_aug_ccitt_variant() -> None:
    """Catalogue check value of CRC-16/AUG-CCITT (poly 0x1021, init 0x1D0F) for "123456789"."""
    assert crc16(b"123456789") == 0xE5CC
    assert crc16(b"123456789") == binascii.crc_hqx(b"123456789", 0x1D0F)


def test_xor_checksums_of_the_verified_frames() -> None:
    for frame in (BASIC_SET, ACK_1_TO_6, NOTIFICATION_REPORT):
        assert xor_checksum(frame[:-1]) == frame[-1]
        assert reduce(xor, frame[:-1], 0xFF) == frame[-1]


def test_vectorised_checksums_equal_scalar_ones() -> None:
    rng = random.Random(5)
    rows = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 170))) for _ in range(300)]
    width = max(len(r) for r in rows)
    win = np.zeros((len(rows), width), dtype=np.uint8)
    for i, r in enumerate(rows):
        win[i, : len(r)] = np.frombuffer(r, dtype=np.uint8)
        win[i, len(r) :] = 0xA5  # garbage after each row must not count
    count = np.array([len(r) for r in rows])
    assert crc_many(win, count).tolist() == [binascii.crc_hqx(r, 0x1D0F) for r in rows]
    assert xor_many(win, count).tolist() == [reduce(xor, r, 0xFF) for r in rows]


# -- the verified frames ---------------------------------------------------------------------
def test_verified_frames_fields() -> None:
    _, f = decode([BASIC_SET, ACK_1_TO_6, NOTIFICATION_REPORT], 261)
    assert f.home_id.tolist() == [HOME] * 3
    assert f.src.tolist() == [6, 1, 6]
    assert f.dst.tolist() == [1, 6, 1]
    assert f.header_type.tolist() == [1, 3, 1]
    assert f.sequence.tolist() == [1, 1, 2]
    assert f.length.tolist() == [13, 10, 19]
    assert f.checksum.tolist() == [1, 1, 1]
    assert f.command_class.tolist() == [0x20, -1, 0x71]
    assert f.command.tolist() == [0x01, -1, 0x05]
    assert f.is_ack.tolist() == [False, True, False]
    flags = [FrameFlag(v) for v in f.flags.tolist()]
    assert FrameFlag.ACK_REQUEST in flags[0] and FrameFlag.SPEED_MODIFIED in flags[0]
    assert FrameFlag.LOW_POWER not in flags[0] and FrameFlag.ROUTED not in flags[0]
    assert FrameFlag.ACK in flags[1] and FrameFlag.ACK_REQUEST not in flags[1]
    assert f.payload_length.tolist() == [3, 0, 9]
    assert (command_class_name(0x20), command_name(0x20, 0x01)) == ("BASIC", "SET")
    assert (command_class_name(0x71), command_name(0x71, 0x05)) == ("NOTIFICATION", "REPORT")
    assert [f.describe(i) for i in range(3)] == ["BASIC SET 6 → 1 (seq 1)", "ACK 1 → 6 (seq 1)",
                                                 "NOTIFICATION REPORT 6 → 1 (seq 2)"]


def test_verified_frames_form_one_conversation() -> None:
    with extract_zwave_flows(packets([BASIC_SET, ACK_1_TO_6, NOTIFICATION_REPORT], 261)) as z:
        assert len(z) == 1
        c = z[0]
        assert (c.a, c.b) == (("C4A815CD/6", None), ("C4A815CD/1", None))
        assert (c.home_id, c.node_a, c.node_b) == (HOME, 1, 6)
        assert (c.packets_ab, c.packets_ba) == (2, 1)
        assert (c.bytes_ab, c.bytes_ba) == (13 + 19, 10)
        assert (c.ack_count, c.command_count, c.bad_checksum) == (1, 2, 0)
        assert z.command_classes(0) == {"BASIC": 1, "NOTIFICATION": 1}
        assert c.protocol == "zwave" and c.stream == -1
        # payload bytes read back from the capture: command class, command, parameters
        assert z.result.payload_bytes(0) == bytes.fromhex("2001FF")
        assert z.result.payload_bytes(1) == b""


def test_ack_is_decided_by_header_type_not_length() -> None:
    """A 10-byte singlecast without payload is a command; a padded ACK is still an ACK."""
    empty_command = r12(HOME, 6, 0x41, 0x03, bytes([1]))  # header type 1, no payload: 10 bytes
    long_ack = r12(HOME, 1, 0x03, 0x03, bytes([6]) + b"\x00\x00\x00")  # type 3, 13 bytes
    _, f = decode([empty_command, long_ack], 261)
    assert f.length.tolist() == [10, 13]
    assert f.is_ack.tolist() == [False, True]


# -- R3 ---------------------------------------------------------------------------------------
def test_r3_frames() -> None:
    cmd = r3(HOME, 6, 0x80, 0x00, 0xC8, bytes([1, 0x25, 0x01, 0xFF]))
    ack = r3(HOME, 1, 0x03, 0x00, 0xC8, bytes([6]))
    extended = r3(HOME, 6, 0x80, 0x80, 0xC9, bytes([1, 0x02, 0xAA, 0xBB, 0x20, 0x02]))
    bad = r3(HOME, 6, 0x80, 0x00, 0xCA, bytes([1, 0x20, 0x02]), bad=True)
    _, f = decode([cmd, ack, extended, bad], 262)
    assert f.sequence.tolist() == [0xC8, 0xC8, 0xC9, 0xCA]
    assert f.dst.tolist() == [1, 6, 1, 1]
    assert f.checksum.tolist() == [1, 1, 1, 0]
    assert f.command_class.tolist() == [0x25, -1, 0x20, 0x20]
    assert f.command.tolist() == [0x01, -1, 0x02, 0x02]
    assert f.is_ack.tolist() == [False, True, False, False]
    assert FrameFlag.HEADER_EXTENDED in FrameFlag(int(f.flags[2]))
    assert FrameFlag.ACK_REQUEST in FrameFlag(int(f.flags[0]))
    assert FrameFlag.BAD_CHECKSUM in FrameFlag(int(f.flags[3]))


# -- routed, multicast, explore ----------------------------------------------------------------
def test_routed_r12_frames_and_routed_ack() -> None:
    routed = r12(HOME, 1, 0xC1, 0x04, bytes([7, 0x00, 0x20, 3, 4, 0x25, 0x01, 0xFF]))
    routed_ack = r12(HOME, 7, 0x81, 0x04, bytes([1, 0x03, 0x20, 4, 3]))
    extended = r12(HOME, 1, 0xC1, 0x05, bytes([7, 0x08, 0x10, 3, 0x20, 0xEE, 0xEE, 0x26, 0x02]))
    result, f = decode([routed, routed_ack, extended], 261)
    assert f.command_class.tolist() == [0x25, -1, 0x26]
    assert f.is_ack.tolist() == [False, True, False]
    assert all(FrameFlag.ROUTED in FrameFlag(int(v)) for v in f.flags.tolist())
    assert result.packets.kind.tolist() == [ZWAVE.kind] * 3
    with extract_zwave_flows(result) as z:
        assert len(z) == 1 and (z[0].ack_count, z[0].command_count) == (1, 2)


def test_routed_r3_frame() -> None:
    routed = r3(HOME, 1, 0x88, 0x00, 9, bytes([7, 0x00, 0x10, 3, 0x00, 0x84, 0x07]))
    routed_ack = r3(HOME, 7, 0x08, 0x00, 9, bytes([1, 0x03, 0x10, 3]))
    _, f = decode([routed, routed_ack], 262)
    assert f.header_type.tolist() == [8, 8]
    assert f.command_class.tolist() == [0x84, -1]
    assert f.command.tolist() == [0x07, -1]
    assert f.is_ack.tolist() == [False, True]
    assert f.checksum.tolist() == [1, 1]


def test_multicast_and_broadcast_are_conversations_of_their_own() -> None:
    mask = bytes([0b00001110])  # nodes 2, 3, 4
    multicast = r12(HOME, 1, 0x02, 0x01, bytes([0x01]) + mask + bytes([0x20, 0x01, 0xFF]))
    broadcast = r12(HOME, 1, 0x01, 0x02, bytes([0xFF, 0x01, 0x01, 0xD3]))
    unicast = r12(HOME, 1, 0x41, 0x03, bytes([2, 0x20, 0x02]))
    ack = r12(HOME, 2, 0x03, 0x03, bytes([1]))
    result, f = decode([multicast, broadcast, unicast, ack], 261)
    assert f.dst.tolist() == [0x100, 0xFF, 2, 1]
    assert f.command_class.tolist() == [0x20, 0x01, 0x20, -1]
    assert multicast_nodes(multicast, r3=False) == [2, 3, 4]
    with extract_zwave_flows(result) as z:
        rows = {(c.cast, c.b[0]): c for c in z}
        assert set(rows) == {("multicast", "C4A815CD/multicast"),
                             ("broadcast", "C4A815CD/broadcast"), ("unicast", "C4A815CD/2")}
        assert rows[("multicast", "C4A815CD/multicast")].node_b == -1
        assert rows[("broadcast", "C4A815CD/broadcast")].node_b == 0xFF
        uni = rows[("unicast", "C4A815CD/2")]
        assert (uni.node_a, uni.node_b, uni.packets, uni.ack_count) == (1, 2, 2, 1)


def test_explore_frame_payload_after_its_header() -> None:
    explore = r12(HOME, 3, 0x05, 0x01, bytes([0xFF, 0x01, 0x00, 0x20, 0x04, 0, 0, 0, 0,
                                              0x01, 0x02]))
    _, f = decode([explore], 261)
    assert (f.header_type[0], f.command_class[0], f.command[0]) == (5, 0x01, 0x02)


# -- TAP --------------------------------------------------------------------------------------
def test_tap_fields_and_unknown_tlvs_skipped() -> None:
    unknown = tlv(0x7F, b"\x01\x02\x03\x04\x05")  # 5 bytes, padded to 8
    records = [tap(BASIC_SET, fcs=1, rssi=-71.25, rf=(0, 1, 868_400)),
               tap(ACK_1_TO_6, fcs=1, rssi=-40.0, rf=(1, 0, 908_420), extra=unknown),
               tap(r3(HOME, 6, 0x80, 0, 7, bytes([1, 0x20, 0x02])), fcs=2, rssi=None,
                   rf=(2, 2, 919_800))]
    result, f = decode(records, 297)
    assert f.keyed.all()
    assert f.checksum.tolist() == [1, 1, 1]
    assert f.rssi[:2].tolist() == [-71.25, -40.0] and np.isnan(f.rssi[2])
    assert f.region.tolist() == [0, 1, 2]
    assert f.data_rate.tolist() == [1, 0, 2]
    assert f.frequency_khz.tolist() == [868_400, 908_420, 919_800]
    assert f.mac_offset.tolist() == [4 + 28, 4 + 28 + 12, 4 + 20]
    assert f.command_class.tolist() == [0x20, -1, 0x20]
    assert result.payload_bytes(0) == bytes.fromhex("2001FF")


def test_tap_checksum_kind_from_data_rate_or_guessed() -> None:
    """Without an FCS TLV the data rate says R3; with neither, the checksum that fits wins."""
    frame_r3 = r3(HOME, 6, 0x80, 0, 7, bytes([1, 0x20, 0x02]))
    records = [tap(frame_r3, fcs=None, rf=(1, 2, 916_000)),
               tap(frame_r3, fcs=None, rf=None),
               tap(BASIC_SET, fcs=None, rf=None)]
    _, f = decode(records, 297)
    assert f.profile.tolist() == [3, 3, 1]
    assert f.sequence.tolist() == [7, 7, 1]
    assert f.checksum.tolist() == [1, 1, 1]


def test_rss_statistics_per_conversation() -> None:
    values = [-80.5, -61.0, -70.25, -55.5]
    records = [tap(BASIC_SET, rssi=values[0]), tap(ACK_1_TO_6, rssi=values[1]),
               tap(NOTIFICATION_REPORT, rssi=values[2]), tap(ACK_1_TO_6, rssi=values[3])]
    with extract_zwave_flows(packets(records, 297)) as z:
        c = z[0]
        assert (c.rssi_min, c.rssi_max) == (min(values), max(values))
        assert c.rssi_mean == pytest.approx(sum(values) / 4)
        assert (c.data_rate, c.region) == ("40 kbit/s", "EU")


def test_snaplen_cut_frame_is_keyed_but_unverified() -> None:
    cut = RawPacket(NOTIFICATION_REPORT[:12], 1_000_000_000, 261, origlen=19)
    result = extract_flows([cut])
    f = frames_of(result)
    assert f.keyed.tolist() == [True]
    assert f.checksum.tolist() == [-1]
    assert FrameFlag.UNVERIFIED in FrameFlag(int(f.flags[0]))
    assert (f.command_class[0], f.command[0]) == (0x71, 0x05)
    assert result.conversations[0].bytes == 19  # frame bytes are on-wire bytes


def test_packet_columns_of_zwave_packets() -> None:
    result = extract_flows(packets([BASIC_SET, ACK_1_TO_6], 261))
    p = result.packets
    assert p.family.tolist() == [90, 90]
    assert p.src_hi.tolist() == [HOME, HOME] and p.src_lo.tolist() == [6, 1]
    assert p.dst_lo.tolist() == [1, 6]
    assert p.payload_off.tolist() == [9, -1] and p.payload_len.tolist() == [3, 0]
    assert p.direction.tolist() == [0, 1]
    assert struct.unpack(">I", BASIC_SET[:4])[0] == HOME


@settings(max_examples=400, deadline=None)
@given(st.booleans(), st.one_of(st.sampled_from([0x00, 0x01, 0x08, 0x09, 0x02, 0x04]),
                                st.integers(0, 0xFF)),
       st.sampled_from([0x00, 0x80]), st.integers(0, 5), st.integers(0, 0xFF),
       st.binary(min_size=0, max_size=30), st.integers(0, 8))
def test_vectorised_routing_equals_the_exact_reader(is_r3: bool, status: int, fc1: int,
                                                    repeaters: int, ext: int, tail: bytes,
                                                    cut: int) -> None:
    """Payload offsets of routed frames: the vectorised path agrees with routed_layout."""
    body = bytes([repeaters << 4]) + bytes(range(2, 2 + repeaters)) + bytes([ext]) + tail
    head = bytes([7, status]) + body
    if is_r3:
        frame = r3(HOME, 1, 0x88, fc1, 5, head)
    else:
        frame = r12(HOME, 1, 0xC1, fc1 & 0x8F, head)
    data = frame[: len(frame) - cut]
    result = extract_flows([RawPacket(data, 1, 262 if is_r3 else 261, origlen=len(frame))])
    f = frames_of(result)
    if not f.keyed[0]:
        return
    fcs = 2 if is_r3 else 1
    info = routed_layout(data[: len(frame) - fcs], is_r3, 10 if is_r3 else 9,
                         int(f.header_type[0]), fc1 if is_r3 else fc1 & 0x8F)
    want = info.payload_offset
    if info.route_ack or not 0 <= want < len(frame) - fcs:
        want = -1  # no payload (or it would start inside the checksum)
    assert f.payload_offset[0] == want
    assert f.command_class[0] == (data[want] if 0 <= want < len(data) else -1)
    assert bool(f.is_ack[0]) == info.route_ack
