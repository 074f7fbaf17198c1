"""Damaged Z-Wave frames are counted and flagged — never dropped silently, never a crash."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import FlowError, Kind, RawPacket, extract_flows
from engine.zwave import Damage, FrameFlag, frames_of
from engine.zwave.protocol import DAMAGED
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


def _sigma(result: object) -> None:
    total = result.capture.packets  # type: ignore[attr-defined]
    assert sum(c.packets for c in result) + result.unassigned.total == total  # type: ignore


def test_bad_checksums_stay_in_their_conversation() -> None:
    bad_r12 = BASIC_SET[:-1] + bytes([BASIC_SET[-1] ^ 1])
    result, f = decode([bad_r12, ACK_1_TO_6], 261)
    assert f.checksum.tolist() == [0, 1]
    assert FrameFlag.BAD_CHECKSUM in FrameFlag(int(f.flags[0]))
    assert f.describe(0) == "BASIC SET 6 → 1 (seq 1, bad checksum)"
    assert len(result) == 1 and result[0].bad_checksum == 1 and result[0].packets == 2
    bad_r3 = r3(HOME, 6, 0x80, 0, 3, bytes([1, 0x20, 0x01, 0xFF]), bad=True)
    result, f = decode([bad_r3], 262)
    assert f.checksum.tolist() == [0] and result[0].bad_checksum == 1
    _sigma(result)


def test_impossible_lengths_are_unassigned_with_a_reason() -> None:
    too_small = r12(HOME, 6, 0x41, 1, bytes([1, 0x20]), length=5)
    too_big = r12(HOME, 6, 0x41, 1, bytes([1, 0x20]), length=65)  # R1/R2 maximum is 64
    past_end = r12(HOME, 6, 0x41, 1, bytes([1, 0x20]), length=40)  # frame is 11 bytes
    r3_small = r3(HOME, 6, 0, 0, 1, bytes([1]), length=11)  # R3 minimum is 12
    r3_big = r3(HOME, 6, 0, 0, 1, bytes([1]), length=171)
    multicast_mask_past_length = r12(HOME, 1, 0x02, 1, bytes([0x1D]) + b"\x01" * 3)
    result, f = decode([too_small, too_big, past_end, multicast_mask_past_length], 261)
    assert f.damage.tolist() == [Damage.IMPOSSIBLE_LENGTH] * 4
    assert (result.packets.kind == Kind.UNASSIGNED).all()
    assert (result.packets.reason == DAMAGED).all()
    assert result.unassigned.by_reason == {"damaged Z-Wave frame": 4}
    assert f.home_id.tolist() == [HOME] * 4  # header fields kept for display
    assert f.describe(0) == "damaged: impossible length field"
    assert len(result) == 0
    result, f = decode([r3_small, r3_big], 262)
    assert f.damage.tolist() == [Damage.IMPOSSIBLE_LENGTH] * 2
    _sigma(result)


def test_frames_shorter_than_a_header() -> None:
    result, f = decode([b"", BASIC_SET[:4], BASIC_SET[:8], ACK_1_TO_6], 261)
    assert f.damage.tolist() == [Damage.TOO_SHORT] * 3 + [Damage.NONE]
    assert f.home_id.tolist()[:3] == [0, 0, 0]  # nothing read beyond the captured bytes
    result2, f2 = decode([r3(HOME, 6, 0, 0, 1, bytes([1]))[:9]], 262)
    assert f2.damage.tolist() == [Damage.TOO_SHORT]
    _sigma(result)
    _sigma(result2)


def test_trailing_bytes_after_the_length() -> None:
    result, f = decode([BASIC_SET + b"\xde\xad"], 261)
    assert f.keyed.tolist() == [True] and f.checksum.tolist() == [1]
    assert FrameFlag.TRAILING_BYTES in FrameFlag(int(f.flags[0]))
    assert result[0].bytes == len(BASIC_SET) + 2


def test_damaged_tap_headers() -> None:
    good = tap(BASIC_SET)
    wrong_version = tap(BASIC_SET, version=2)
    section_past_packet = tap(BASIC_SET, words=200)
    header_only = good[:3]
    tlv_past_section = struct.pack("<BBH", 1, 0, 2) + tlv(1, struct.pack("<f", -50.0), 12) \
        + BASIC_SET
    truncated_tlvs = good[:20]  # cut inside the TLVs
    long_range = tap(BASIC_SET, fcs=2, rf=(9, 3, 912_000))
    result, f = decode([good, wrong_version, section_past_packet, header_only,
                         tlv_past_section, truncated_tlvs, long_range], 297)
    assert f.damage.tolist() == [Damage.NONE] + [Damage.TAP_HEADER] * 5 + [Damage.LONG_RANGE]
    assert result.unassigned.by_reason == {"damaged Z-Wave frame": 6}
    assert frames_of(result).damage_counts() == {"damaged TAP header or TLVs": 5,
                                                 "Z-Wave Long Range frame (not decoded)": 1}
    _sigma(result)


def test_odd_but_readable_tlvs() -> None:
    tlvs = tlv(0x1234, b"") + tlv(0x55, b"\x00" * 9) + tlv(1, b"\x00\x00", 2) \
        + tlv(0, b"\x01") + tlv(2, b"\x01\x00\x02\x00", 4)
    unknown_first = struct.pack("<BBH", 1, 0, len(tlvs) // 4) + tlvs + NOTIFICATION_REPORT
    nan_rss = tap(ACK_1_TO_6, rssi=float("nan"))
    result, f = decode([unknown_first, nan_rss], 297)
    assert f.keyed.all() and f.checksum.tolist() == [1, 1]
    assert np.isnan(f.rssi).all()  # a short RSS TLV and a NaN value are both "no RSS"
    assert f.region.tolist() == [-1, 0]  # an RF TLV shorter than 8 bytes is ignored
    assert result[0].rssi_mean != result[0].rssi_mean  # NaN


def test_cut_by_snaplen_inside_the_tap_header() -> None:
    record = RawPacket(tap(BASIC_SET)[:10], 1_000_000_000, 297, origlen=len(tap(BASIC_SET)))
    result = extract_flows([record])
    assert frames_of(result).damage.tolist() == [Damage.TAP_HEADER]
    _sigma(result)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([261, 262, 297]), st.binary(max_size=90)),
                max_size=40),
       st.integers(min_value=0, max_value=8))
def test_random_bytes_never_crash(records: list[tuple[int, bytes]], seed_frames: int) -> None:
    """Any bytes on a Z-Wave link type give a result (or a FlowError) that keeps Σ."""
    raw = [RawPacket(data, 1_000_000_000 + i, link) for i, (link, data) in enumerate(records)]
    raw += packets([BASIC_SET, ACK_1_TO_6][: seed_frames % 3], 261)
    try:
        result = extract_flows(raw)
    except FlowError:
        return
    f = frames_of(result)
    assert len(f) == len(raw)
    _sigma(result)
    assert ((result.packets.conv >= 0) == f.keyed).all()
