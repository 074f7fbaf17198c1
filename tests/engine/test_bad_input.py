"""Truncated, corrupt and hostile captures: a sentence for the user, everything readable kept,
no hang, no allocation of what a header merely claims."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from engine import FlowConfig, InvalidCaptureError, TruncatedCaptureError, extract_flows_from_file
from tests.conftest import CAPTURES

from .capwriter import Iface, Section, pcap_bytes, pcapng_bytes

T0 = 1_600_000_000_000_000_000
FRAMES = [bytes(Ether() / IP(src="10.1.1.1", dst="10.1.1.2") / UDP(sport=1, dport=2) /
                (b"d" * (20 + i))) for i in range(5)]


def _pcap(tmp_path: Path, data: bytes, name: str = "x.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_invalid_version_is_a_sentence_naming_the_file() -> None:
    with pytest.raises(InvalidCaptureError) as err:
        extract_flows_from_file(CAPTURES / "libpcap-pcap-invalid-version-1.pcap")
    assert "libpcap-pcap-invalid-version-1.pcap" in str(err.value)
    assert "version 1" in str(err.value)


def test_bad_magic(tmp_path: Path) -> None:
    path = _pcap(tmp_path, b"GIF89a" + bytes(100), "picture.pcap")
    with pytest.raises(InvalidCaptureError, match=r"picture\.pcap is not a pcap or pcapng"):
        extract_flows_from_file(path)


@pytest.mark.parametrize("size", [0, 3])
def test_too_short_to_be_a_capture(tmp_path: Path, size: int) -> None:
    with pytest.raises(TruncatedCaptureError, match="too short"):
        extract_flows_from_file(_pcap(tmp_path, b"\xd4\xc3\xb2\xa1"[:size]))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidCaptureError, match="does not exist"):
        extract_flows_from_file(tmp_path / "nope.pcap")
    with pytest.raises(InvalidCaptureError, match="folder"):
        extract_flows_from_file(tmp_path)


def test_header_only_file_is_empty_not_an_error(tmp_path: Path) -> None:
    with extract_flows_from_file(_pcap(tmp_path, pcap_bytes([]))) as result:
        assert result.capture.packets == 0 and len(result) == 0
        assert result.capture.warnings == []


def test_cut_mid_record_keeps_complete_packets(tmp_path: Path) -> None:
    data = pcap_bytes([(f, T0 + i) for i, f in enumerate(FRAMES)])
    cut = len(data) - 10
    with extract_flows_from_file(_pcap(tmp_path, data[:cut])) as result:
        assert result.capture.packets == 4
        (warning,) = result.capture.warnings
        assert "cut short in the middle of packet 5" in warning
        assert f"{16 + len(FRAMES[4]) - 10} of its {16 + len(FRAMES[4])} bytes" in warning
        assert sum(c.packets for c in result) + result.unassigned.total == 4


def test_real_capture_cut_mid_record() -> None:
    with extract_flows_from_file(CAPTURES / "scapy-bad-rsn-cut-mid-record.pcap") as result:
        assert result.capture.packets == 1
        assert any("cut short" in w for w in result.capture.warnings)


@pytest.mark.parametrize("claimed", [0xFFFFFFF0, 300_000, 70_000_000])
def test_absurd_record_length_stops_without_allocating(tmp_path: Path, claimed: int) -> None:
    data = bytearray(pcap_bytes([(f, T0) for f in FRAMES]))
    second = 24 + 16 + len(FRAMES[0])
    struct.pack_into("<I", data, second + 8, claimed)  # packet 2 claims a huge caplen
    tracemalloc.start()
    try:
        with extract_flows_from_file(_pcap(tmp_path, bytes(data))) as result:
            peak = tracemalloc.get_traced_memory()[1]
            assert result.capture.packets == 1
            (warning,) = result.capture.warnings
            assert f"packet 2 claims to be {claimed} bytes long" in warning
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_snaplen_larger_than_default_is_honoured(tmp_path: Path) -> None:
    jumbo = bytes(Ether(type=0x88B5) / (b"j" * 300_000))
    data = pcap_bytes([(jumbo, T0), (FRAMES[0], T0)], snaplen=1 << 20)
    with extract_flows_from_file(_pcap(tmp_path, data)) as result:
        assert result.capture.packets == 2 and result.capture.warnings == []


def test_pcapng_bad_block_length(tmp_path: Path) -> None:
    data = bytearray(pcapng_bytes([Section(blocks=[("epb", 0, 1, f) for f in FRAMES])]))
    # the third EPB: find it by walking the blocks, then break its length
    pos, seen = 0, 0
    while True:
        btype, blen = struct.unpack_from("<II", data, pos)
        if btype == 6:
            seen += 1
            if seen == 3:
                struct.pack_into("<I", data, pos + 4, 13)
                break
        pos += blen
    with extract_flows_from_file(_pcap(tmp_path, bytes(data), "x.pcapng")) as result:
        assert result.capture.packets == 2
        assert "impossible length (13 bytes)" in result.capture.warnings[0]


def test_pcapng_unknown_interface(tmp_path: Path) -> None:
    data = pcapng_bytes([Section(interfaces=[Iface()], blocks=[
        ("epb", 0, 1, FRAMES[0]), ("epb", 3, 2, FRAMES[1]), ("epb", 0, 3, FRAMES[2])])])
    with extract_flows_from_file(_pcap(tmp_path, data, "x.pcapng")) as result:
        assert result.capture.packets == 1
        assert "refers to interface 3" in result.capture.warnings[0]


def test_pcapng_wrong_version(tmp_path: Path) -> None:
    data = bytearray(pcapng_bytes([Section()]))
    struct.pack_into("<H", data, 12, 2)
    with pytest.raises(InvalidCaptureError, match="pcapng version 2"):
        extract_flows_from_file(_pcap(tmp_path, bytes(data), "x.pcapng"))


def test_truncated_gzip_keeps_what_was_decompressed(tmp_path: Path) -> None:
    frames = FRAMES * 200
    packed = gzip.compress(pcap_bytes([(f, T0) for f in frames]))
    path = _pcap(tmp_path, packed[: len(packed) * 2 // 3], "x.pcap.gz")
    with extract_flows_from_file(path, FlowConfig(chunk_bytes=1 << 16)) as result:
        assert 0 < result.capture.packets < len(frames)
        assert any("gzip end marker" in w for w in result.capture.warnings)


def test_pcapng_with_absurdly_many_interfaces_stops_cleanly(tmp_path: Path) -> None:
    sections = [Section(interfaces=[Iface(1)], blocks=[("epb", 0, i, FRAMES[0])])
                for i in range(0x10001)]
    path = _pcap(tmp_path, pcapng_bytes(sections), "many.pcapng")
    with extract_flows_from_file(path) as result:
        assert result.capture.packets == 0xFFFF
        assert "more than 65535 interfaces" in result.capture.warnings[0]
        assert set(result.packets.linktype.tolist()) == {1}
