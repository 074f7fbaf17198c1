"""Capture formats are recognised by their bytes, and every variant reads to the same columns."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether

from engine import FlowConfig, extract_flows_from_file
from engine.capture import open_capture

from .capwriter import Iface, Section, pcap_bytes, pcapng_bytes

T0 = 1_700_000_000_123_456_789


def _frames(n: int = 12) -> list[bytes]:
    out = []
    for i in range(n):
        l4 = TCP(sport=1000 + i % 3, dport=80, flags="PA", seq=i) if i % 2 else \
            UDP(sport=5000, dport=53)
        out.append(bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / l4 / (b"x" * (i * 7))))
    return out


def _read(path: Path, **config: object) -> tuple[list, object]:
    rows = []
    with open_capture(path, FlowConfig(**config)) as reader:  # type: ignore[arg-type]
        for chunk in reader.chunks():
            for k in range(len(chunk)):
                start = int(chunk.data_off[k])
                rows.append((chunk.buf[start : start + int(chunk.caplen[k])].tobytes(),
                             int(chunk.ts_ns[k]), int(chunk.origlen[k]), int(chunk.iface[k])))
    return rows, reader


@pytest.mark.parametrize("big", [False, True], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("nano", [False, True], ids=["usec", "nsec"])
def test_pcap_variants(tmp_path: Path, big: bool, nano: bool) -> None:
    frames = _frames()
    times = [T0 + i * 1_000_123 for i in range(len(frames))]
    path = tmp_path / "x.pcap"
    path.write_bytes(pcap_bytes(list(zip(frames, times, strict=True)), big=big, nano=nano))
    rows, reader = _read(path)
    assert [r[0] for r in rows] == frames
    expect = times if nano else [t // 1000 * 1000 for t in times]
    assert [r[1] for r in rows] == expect
    assert reader.format_name == ("pcap-ns" if nano else "pcap")
    assert reader.warnings == []


def test_modified_pcap_and_snaplen_origlen(tmp_path: Path) -> None:
    frames = _frames(4)
    path = tmp_path / "kuznetzov.pcap"
    path.write_bytes(pcap_bytes([(f, T0) for f in frames], modified=True,
                                origlens=[len(f) + 100 for f in frames]))
    rows, _ = _read(path)
    assert [r[0] for r in rows] == frames
    assert [r[2] for r in rows] == [len(f) + 100 for f in frames]


def test_pcapng_sections_byte_orders_interfaces_and_blocks(tmp_path: Path) -> None:
    f = _frames(6)
    raw_ip = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / ICMP())
    sections = [
        Section(big=False, interfaces=[Iface(1), Iface(228, tsresol=9, tsoffset=10)], blocks=[
            ("epb", 0, 1_700_000_000_000_001, f[0]),              # µs units
            ("raw", 0x00000004, b"\x00\x00\x00\x00"),               # name resolution: skipped
            ("epb", 1, 5_000_000_123, raw_ip),                     # ns units + 10 s offset
            ("raw", 0x00000BAD, b"custom!!"),                      # custom block: skipped
            ("idb", Iface(101, tsresol=0x80 | 20)),                # added mid-section: 2^-20 s
            ("epb", 2, (3 << 20) + (1 << 19), raw_ip),             # 3.5 s
            ("raw", 0x00000005, b"\x00" * 8),                       # statistics: skipped
        ]),
        Section(big=True, interfaces=[Iface(1)], blocks=[
            ("epb", 0, 1_700_000_001_000_000, f[1]),
            ("pb", 0, 1_700_000_002_000_000, f[2]),
            ("spb", f[3]),
        ]),
    ]
    path = tmp_path / "multi.pcapng"
    path.write_bytes(pcapng_bytes(sections))
    rows, reader = _read(path)
    assert [r[0] for r in rows] == [f[0], raw_ip, raw_ip, f[1], f[2], f[3]]
    assert [r[3] for r in rows] == [0, 1, 2, 3, 3, 3]
    assert [i.linktype for i in reader.interfaces] == [1, 228, 101, 1]
    times = [r[1] for r in rows]
    assert times[:4] == [1_700_000_000_000_001_000, 15_000_000_123, 3_500_000_000,
                         1_700_000_001_000_000_000]
    assert times[4] == 1_700_000_002_000_000_000
    assert times[5] == times[4]  # a Simple Packet Block has no time: it takes the previous one
    assert reader.warnings == [] and reader.format_name == "pcapng"


@pytest.mark.parametrize("name", ["zeek-http-get.pcap", "zeek-pcapng-multi-interface.pcapng"])
def test_gzip_compressed_reads_the_same(tmp_path: Path, name: str) -> None:
    src = Path(__file__).parents[1] / "data" / "captures" / name
    packed = tmp_path / "capture.bin"  # the name says nothing: the magic decides
    packed.write_bytes(gzip.compress(src.read_bytes()))
    plain, _ = _read(src)
    unpacked, reader = _read(packed)
    assert unpacked == plain
    assert reader.format_name.endswith(".gz")
    with extract_flows_from_file(packed) as a, extract_flows_from_file(src) as b:
        assert len(a) == len(b)
        assert a.packet_bytes(len(a.packets) - 1) == b.packet_bytes(len(b.packets) - 1)
        copy = a.source.path  # type: ignore[attr-defined]
        assert copy.exists()
    assert not copy.exists()  # the decompressed copy goes away with the result


def test_small_chunks_and_a_record_bigger_than_a_chunk(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    frames = [bytes(Ether() / IP() / UDP() / rng.bytes(int(size)))
              for size in rng.integers(0, 1400, 400)]
    frames.insert(200, bytes(Ether(type=0x88B5) / (b"J" * 150_000)))  # a record > one chunk
    path = tmp_path / "many.pcap"
    path.write_bytes(pcap_bytes([(f, T0 + i) for i, f in enumerate(frames)]))
    small, _ = _read(path, chunk_bytes=1 << 16)
    large, _ = _read(path)
    assert [r[0] for r in small] == frames
    assert small == large


@pytest.mark.parametrize("prefetch", [False, True])
def test_memory_follows_packets_not_file_size(tmp_path: Path, prefetch: bool) -> None:
    """Reading a file 40 times the chunk size keeps only a few chunk buffers alive at once."""
    frames = [bytes(Ether() / IP() / UDP() / (b"p" * 1400))] * 2000
    path = tmp_path / "big.pcap"
    path.write_bytes(pcap_bytes([(f, T0) for f in frames]))
    chunk_bytes = 1 << 16
    tracemalloc.start()
    try:
        with open_capture(path, FlowConfig(chunk_bytes=chunk_bytes)) as reader:
            tracemalloc.reset_peak()
            sizes = [len(chunk) for chunk in reader.chunks(prefetch=prefetch)]
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(sizes) > 40 and sum(sizes) == 2000
    assert path.stat().st_size > 40 * chunk_bytes
    assert peak < 8 * chunk_bytes


def test_payload_read_back_by_offset(tmp_path: Path) -> None:
    frames = _frames()
    path = tmp_path / "x.pcap"
    path.write_bytes(pcap_bytes([(f, T0) for f in frames]))
    with extract_flows_from_file(path) as result:
        assert [result.packet_bytes(i) for i in range(len(frames))] == frames
        i = 5  # TCP with 35 bytes of payload
        assert result.payload_bytes(i) == b"x" * 35
