"""Damaged gzip captures keep every record zlib could inflate and say what the damage is; gzip
bombs neither exhaust memory nor fill the temporary folder's disk."""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest

from engine import (
    WIRESHARK,
    FlowConfig,
    InvalidCaptureError,
    Reason,
    extract_flows_from_file,
)
from engine.capture import input as stream_module
from engine.capture import reader as reader_module
from engine.capture.input import CaptureInput
from engine.errors import DiskSpaceError
from tests.conftest import DATA

from .fuzzing import check_invariants
from .tcpgen import shuffled_stream

HOSTILE = DATA / "hostile"
PLAIN = shuffled_stream(300, order="sorted")  # 303 packets, 24,234 bytes


def _oracle(path: Path) -> dict[str, Any]:
    return json.loads((HOSTILE / f"{path.name}.json").read_text())


@pytest.mark.parametrize("name", ["gzip-bad-crc.pcap.gz", "gzip-corrupt-mid.pcap.gz"])
def test_damaged_gzip_reads_what_tshark_reads(name: str) -> None:
    """A bad CRC trailer used to give 0 packets ("ends inside its pcap file header"); tshark
    reads all 303. With a corrupt byte mid-stream both read the 257 records before garbage."""
    path = HOSTILE / name
    expected = _oracle(path)
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert result.capture.packets == expected["packets"]
        (tcp,) = expected["tcp"]
        conv = result.conversations
        # three garbage frames after the damage have a TCP data offset of 0: tshark gives them
        # a tcp.stream but leaves them out of its own conversation table (252 A→B), as we do
        malformed = int((result.packets.reason == Reason.TCP_HEADER).sum())
        assert int(conv.packets_ab[0]) + malformed == tcp["packets_a_to_b"]
        assert int(conv.packets_ba[0]) == tcp["packets_b_to_a"]
        if malformed == 0:
            assert int(conv.bytes_ab[0]) == tcp["bytes_a_to_b"]
        assert any("gzip trailer (byte 1671) has a bad CRC" in w
                   for w in result.capture.warnings)


def _salvage(packed: bytes) -> tuple[bytes, str | None]:
    """What zlib yields before it raises, fed one byte at a time (the reference), and its
    complaint."""
    out, z = [], zlib.decompressobj(wbits=31)
    data = packed
    while data:
        for k in range(len(data)):
            try:
                out.append(z.decompress(data[k : k + 1]))
            except zlib.error as exc:
                return b"".join(out), str(exc)
            if z.eof:
                data = z.unused_data + data[k + 1 :]
                z = zlib.decompressobj(wbits=31)
                break
        else:
            return b"".join(out), "ends early"
    return b"".join(out), None


def _inflate_all(path: Path, tmp_path: Path) -> tuple[bytes, str | None]:
    stream = CaptureInput(path, tmp_path)
    chunks = []
    view = memoryview(bytearray(4096))
    while n := stream.readinto(view):
        chunks.append(bytes(view[:n]))
    problem = stream.problem
    stream.discard()
    return b"".join(chunks), problem


def test_damage_at_every_offset_keeps_what_zlib_inflated(tmp_path: Path) -> None:
    packed = gzip.compress(PLAIN[:6000], mtime=0)
    path = tmp_path / "x.pcap.gz"
    spill = tmp_path / "spill"
    spill.mkdir()
    data_end = len(packed) - 8
    for at in range(2, len(packed)):  # (without its first two bytes it is no gzip file)
        damaged = bytearray(packed)
        damaged[at] ^= 0x5A
        path.write_bytes(damaged)
        got, problem = _inflate_all(path, spill)
        want, complaint = _salvage(bytes(damaged))
        assert got == want, f"byte {at}"  # nothing zlib produced is lost, nothing invented
        where = f"byte {at}: {problem}"
        if complaint is None:
            assert problem is None, where
        elif at < 10 and complaint != "ends early":
            assert problem is not None and "gzip header at byte 0 is damaged" in problem, where
        elif at >= data_end + 4:
            assert problem is not None and "gives the wrong length" in problem, where
        elif "incorrect data check" in complaint:
            assert problem is not None and "has a bad CRC" in problem, where
        elif complaint != "ends early":
            assert problem is not None and "the gzip data is corrupt at byte" in problem, where
            assert int(problem.split("corrupt at byte ")[1].split()[0]) >= at, where
    assert list(spill.iterdir()) == []


def test_damage_before_the_capture_header_names_the_gzip_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap.gz"
    path.write_bytes(gzip.compress(PLAIN, mtime=0)[:14])
    with pytest.raises(InvalidCaptureError, match=r"ends before the gzip end marker, so nothing"):
        extract_flows_from_file(path)
    damaged = bytearray(gzip.compress(PLAIN, mtime=0))
    damaged[3] = 0xE0  # reserved header flags
    path.write_bytes(damaged)
    with pytest.raises(InvalidCaptureError, match=r"gzip header at byte 0 is damaged"):
        extract_flows_from_file(path)


@pytest.mark.parametrize(("tail", "warning"), [
    (b"", None),
    (gzip.compress(b"", mtime=0), None),
    (b"garbage after the end", "21 bytes after the end of the gzip data were ignored"),
    (b"\x1f\x8b\x09" + bytes(20), "gzip header at byte"),
])
def test_what_follows_a_gzip_member(tail: bytes, warning: str | None, tmp_path: Path) -> None:
    path = tmp_path / "x.pcap.gz"
    half = len(PLAIN) // 2
    path.write_bytes(gzip.compress(PLAIN[:half], mtime=0) + gzip.compress(PLAIN[half:], mtime=0)
                     + tail)
    with extract_flows_from_file(path) as result:
        assert result.capture.packets == 303
        if warning is None:
            assert result.capture.warnings == []
        else:
            (said,) = result.capture.warnings
            assert warning in said


# -- bombs ------------------------------------------------------------------------------------
def _empty_records(count: int, then: bytes = b"") -> bytes:
    """A pcap of ``count`` records with no captured bytes, then ``then`` (whole records)."""
    return PLAIN[:24] + struct.pack("<IIII", 1_600_000_000, 0, 0, 0) * count + then


def _bomb(tmp_path: Path, count: int, then: bytes = b"") -> Path:
    path = tmp_path / "bomb.pcap.gz"
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = struct.pack("<IIII", 1_600_000_000, 0, 0, 0) * 65536
    parts = [z.compress(PLAIN[:24])]
    for _ in range(count // 65536):
        parts.append(z.compress(block))
    parts += [z.compress(then), z.flush()]
    path.write_bytes(b"".join(parts))
    return path


def test_empty_records_beyond_a_limit_are_counted_not_listed(tmp_path: Path) -> None:
    """A gzip bomb of empty records (1 GiB from 1 MB) passed 2.5 GB: every record was a ~100-byte
    packet row. Beyond MAX_LISTED_EMPTY they are counted; real packets after them stay rows."""
    count = 32 * 65536  # 32 MiB inflated from 33 kB
    path = _bomb(tmp_path, count, then=PLAIN[24:])
    with extract_flows_from_file(path, WIRESHARK) as result:
        check_invariants(result)
        assert result.capture.packets == count + 303
        assert result.capture.unlisted_empty == count - reader_module.MAX_LISTED_EMPTY
        assert len(result.packets) == reader_module.MAX_LISTED_EMPTY + 303
        assert result.unassigned.total == count
        assert result[0].packets == 303
        assert result.capture.first_ns == 1_600_000_000 * 10**9
        (warning,) = result.capture.warnings
        assert f"from packet {reader_module.MAX_LISTED_EMPTY + 1} on they are counted" \
            in warning


def _peak(path: Path) -> int:
    tracemalloc.start()
    try:
        with extract_flows_from_file(path, FlowConfig(chunk_bytes=1 << 20)) as result:
            assert result.capture.packets > 0
            return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_empty_records(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    few = _peak(_bomb(small, 4 * 65536))
    many = _peak(_bomb(tmp_path, 64 * 65536))
    # a row each would be 60 × 65536 × ~100 bytes (390 MB) more
    assert many - few < 16 << 20, f"{few / 1e6:.0f} MB, then {many / 1e6:.0f} MB"


def test_progress_is_reported_in_compressed_bytes(tmp_path: Path) -> None:
    path = _bomb(tmp_path, 64 * 65536)
    size = path.stat().st_size
    calls: list[tuple[int, int, int]] = []
    with extract_flows_from_file(path, FlowConfig(chunk_bytes=1 << 20),
                                 progress=lambda *a: calls.append(a)) as result:
        assert result.capture.packets == 64 * 65536
    assert len(calls) >= 60  # one a 1 MiB chunk of 64 MiB inflated, whether listed or not
    assert all(total == size for _, total, _ in calls)
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and done[0] < size // 2 and done[-1] == size
    assert [p for _, _, p in calls][-1] == 64 * 65536


def test_decompressing_stops_before_the_disk_would_fill(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _bomb(tmp_path, 96 * 65536)  # 96 MiB inflated
    spill = tmp_path / "spill"
    spill.mkdir()
    margin, free_at_start = 100 << 20, 150 << 20
    lowest = [free_at_start]

    def disk_usage(folder: str | Path) -> Any:
        used = sum(p.stat().st_size for p in Path(folder).iterdir())
        lowest[0] = min(lowest[0], free_at_start - used)
        return shutil._ntuple_diskusage(1 << 40, 0, free_at_start - used)  # type: ignore[attr-defined]

    monkeypatch.setattr(stream_module.shutil, "disk_usage", disk_usage)
    config = FlowConfig(spill_dir=spill, spill_free_margin=margin)
    with pytest.raises(DiskSpaceError, match=r"bomb\.pcap\.gz decompresses to more than .* has "
                                             r"room for.*keeps 105 MB free"):
        extract_flows_from_file(path, config)
    assert list(spill.iterdir()) == []
    # stopped while the margin was still free, with at most one check's worth written past it
    assert lowest[0] >= margin


def test_real_disk_space_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap.gz"
    path.write_bytes(gzip.compress(PLAIN))
    with pytest.raises(DiskSpaceError, match=r"only .* left free"):
        extract_flows_from_file(path, FlowConfig(spill_dir=tmp_path, spill_free_margin=1 << 62))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pcap.gz"]
