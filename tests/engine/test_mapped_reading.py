"""Chunks read as windows of a map of the capture file equal chunks read into buffers.

A load with a decoding process maps a plain capture (``ChunkedReader.map_file``): every chunk
after the first is a window of the map, not a copy. These tests read the same files both ways,
with chunks small enough that records straddle windows, a record outgrows a chunk after a
window and the file ends within a padding of the last window.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from engine import FlowConfig
from engine.capture import open_capture
from engine.capture.reader import ChunkedReader

from .capwriter import Iface, Section, pcap_bytes, pcapng_bytes

T0 = 1_700_000_000_000_000_000
CHUNK = 1 << 16


def _frames(seed: int, n: int = 900) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i, size in enumerate(rng.integers(0, 1400, n).tolist()):
        l4 = TCP(sport=1000 + i % 7, dport=80) if i % 2 else UDP(sport=5000 + i % 5, dport=53)
        out.append(bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / l4 / rng.bytes(size)))
    # a record bigger than a chunk, well after the first chunk: read by growing a buffer
    out.insert(n // 2, bytes(Ether(type=0x88B5) / (b"J" * (3 * CHUNK))))
    return out


def _pcap(path: Path, seed: int) -> list[bytes]:
    frames = _frames(seed)
    path.write_bytes(pcap_bytes([(f, T0 + i * 1000) for i, f in enumerate(frames)]))
    return frames


def _pcapng(path: Path, seed: int) -> list[bytes]:
    frames = _frames(seed)
    blocks = [("epb", i % 2, i * 10, f) for i, f in enumerate(frames)]
    path.write_bytes(pcapng_bytes([Section(interfaces=[Iface(), Iface(snaplen=65535)],
                                           blocks=blocks)]))
    return frames


def _read(path: Path, mapped: bool) -> tuple[list[tuple], list[str], int]:
    """Every record's (bytes, time, original length, interface), the warnings and how many
    chunks were windows of the map; each chunk is let go of once read, as a load does."""
    rows: list[tuple] = []
    windows = 0
    with open_capture(path, FlowConfig(chunk_bytes=CHUNK)) as reader:
        mapping = reader.map_file() if mapped else None
        assert (mapping is not None) == mapped
        for chunk in reader.chunks(prefetch=False):
            if mapping is not None:
                windows += bool(np.shares_memory(chunk.buf, np.frombuffer(mapping, np.uint8)))
            for k in range(len(chunk)):
                start = int(chunk.data_off[k])
                rows.append((chunk.buf[start : start + int(chunk.caplen[k])].tobytes(),
                             int(chunk.ts_ns[k]), int(chunk.origlen[k]), int(chunk.iface[k])))
            chunk.done()
        return rows, list(reader.warnings), windows


@pytest.mark.parametrize("write", [_pcap, _pcapng], ids=["pcap", "pcapng"])
@pytest.mark.parametrize("tail", [0, 1, 13, 4095])
def test_windows_read_like_buffers(tmp_path: Path, write: object, tail: int) -> None:
    path = tmp_path / "capture"
    frames = write(path, seed=tail)  # type: ignore[operator]
    with path.open("ab") as f:  # bytes after the last record: a damaged end
        f.write(b"\xff" * tail)
    read, read_warnings, _ = _read(path, mapped=False)
    mapped, mapped_warnings, windows = _read(path, mapped=True)
    assert [r[0] for r in read] == frames
    assert mapped == read
    assert mapped_warnings == read_warnings
    assert windows > path.stat().st_size // CHUNK // 2  # most chunks were windows


def test_a_gzip_capture_is_not_mapped(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "capture.pcap.gz"
    path.write_bytes(gzip.compress(pcap_bytes([(f, T0) for f in _frames(1, 50)])))
    with open_capture(path, FlowConfig(chunk_bytes=CHUNK)) as reader:
        assert reader.map_file() is None


def test_a_file_that_shrinks_while_read_is_read_not_mapped(tmp_path: Path) -> None:
    """Reading a map past its file's end would kill the process (SIGBUS): a file cut after
    it was mapped is read from then on, and reported short like any cut file."""
    path = tmp_path / "capture.pcap"
    _pcap(path, seed=3)
    cut = path.stat().st_size // 4 + 5  # within a record, before the one bigger than a chunk
    short = tmp_path / "short.pcap"
    short.write_bytes(path.read_bytes()[:cut])
    expected, expected_warnings, _ = _read(short, mapped=False)
    rows: list[bytes] = []
    with open_capture(path, FlowConfig(chunk_bytes=CHUNK)) as reader:
        assert reader.map_file() is not None
        os.truncate(path, cut)
        for chunk in reader.chunks(prefetch=False):
            rows.extend(chunk.buf[int(o) : int(o) + int(c)].tobytes()
                        for o, c in zip(chunk.data_off, chunk.caplen, strict=True))
            chunk.done()
        warnings = [w.replace("capture.pcap", "short.pcap") for w in reader.warnings]
    assert rows == [r[0] for r in expected]
    assert warnings == expected_warnings and warnings  # (it says the file ends early)


def test_each_window_is_let_go_once_its_chunk_is_done(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A window's pages are dropped from the map when its chunk is done, so a big capture read
    this way is not kept resident (it would count in the process's memory)."""
    path = tmp_path / "capture.pcap"
    _pcap(path, seed=4)
    released: list[tuple[int, int]] = []
    release = ChunkedReader._release_window

    def counting(self: ChunkedReader, start: int, size: int) -> None:
        released.append((start, size))
        release(self, start, size)

    monkeypatch.setattr(ChunkedReader, "_release_window", counting)
    held = []
    with open_capture(path, FlowConfig(chunk_bytes=CHUNK)) as reader:
        mapping = reader.map_file()
        assert mapping is not None
        whole = np.frombuffer(mapping, np.uint8)
        for chunk in reader.chunks(prefetch=False):
            if np.shares_memory(chunk.buf, whole):
                held.append(chunk.base)
                assert (chunk.base, chunk.buf.size) not in released
                chunk.done()
                assert released[-1] == (chunk.base, chunk.buf.size)
        del whole
    # (a window that held no whole record, only the start of a bigger one, went at once)
    starts = [start for start, _ in released]
    assert len(held) > 3 and set(held) <= set(starts) and len(set(starts)) == len(starts)


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw
40 27 0:45 / /mnt/share rw,relatime shared:7 - nfs4 server:/export rw,vers=4.2
41 27 0:46 / /mnt/box rw,nosuid,nodev - fuse.sshfs me@box: rw,user_id=0
42 27 0:47 / /mnt/odd rw master:3 propagate_from:2 - cifs //nas/share rw
"""


@pytest.mark.parametrize(("device", "expected", "remote"), [
    ((254, 1), "ext4", False), ((0, 45), "nfs4", True), ((0, 46), "fuse.sshfs", True),
    ((0, 47), "cifs", True), ((0, 21), "proc", False), ((9, 9), None, False)])
def test_the_file_system_of_a_file_is_read_from_mountinfo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, device: tuple[int, int],
        expected: str | None, remote: bool) -> None:
    from engine.capture import local_fs

    real_stat = os.stat

    def stat(path: object, *args: object, **kwargs: object) -> object:
        got = real_stat(path, *args, **kwargs)  # type: ignore[arg-type]
        if Path(str(path)) != tmp_path / "f":
            return got
        fields = list(got)
        fields[2] = os.makedev(*device)  # st_dev
        return os.stat_result(fields)

    (tmp_path / "f").write_bytes(b"x")
    monkeypatch.setattr(local_fs.os, "stat", stat)
    fs_type = local_fs.file_system_type(tmp_path / "f", MOUNTINFO)
    assert fs_type == expected
    assert local_fs.is_remote(fs_type) is remote


def test_a_capture_on_a_network_share_is_read_not_mapped(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.capture.reader as reader_module

    path = tmp_path / "capture.pcap"
    frames = _pcap(path, seed=5)
    monkeypatch.setattr(reader_module, "file_system_type", lambda p: "nfs4")
    with open_capture(path, FlowConfig(chunk_bytes=CHUNK)) as reader:
        assert reader.map_file() is None
    monkeypatch.setattr(reader_module, "file_system_type", lambda p: "ext4")
    with open_capture(path, FlowConfig(chunk_bytes=CHUNK)) as reader:
        assert reader.map_file() is not None
    assert [r[0] for r in _read(path, mapped=True)[0]] == frames


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(0, 9000) | st.sampled_from([CHUNK - 20, 2 * CHUNK + 7]),
                      min_size=40, max_size=160),
       chunk=st.sampled_from([CHUNK, CHUNK + 4096 + 13]),
       tail=st.binary(max_size=40), pcapng=st.booleans())
def test_any_capture_reads_the_same_through_its_map(
        tmp_path_factory: pytest.TempPathFactory, sizes: list[int], chunk: int, tail: bytes,
        pcapng: bool) -> None:
    """Whatever the record sizes (some bigger than a chunk), the chunk size (64 kB at least)
    and the damage after the last record, the map gives the records, times and warnings
    reading gives."""
    frames = [bytes([k % 251]) * size for k, size in enumerate(sizes)]
    if pcapng:
        data = pcapng_bytes([Section(blocks=[("epb", 0, k, f) for k, f in enumerate(frames)])])
    else:
        data = pcap_bytes([(f, T0 + k) for k, f in enumerate(frames)], linktype=147)
    path = tmp_path_factory.mktemp("capture") / "capture"
    path.write_bytes(data + tail)
    got = []
    windows = 0
    for mapped in (False, True):
        with open_capture(path, FlowConfig(chunk_bytes=chunk)) as reader:
            mapping = reader.map_file() if mapped else None
            assert (mapping is not None) == mapped
            rows = []
            for c in reader.chunks(prefetch=False):
                if mapping is not None:
                    windows += bool(np.shares_memory(c.buf, np.frombuffer(mapping, np.uint8)))
                rows += [(c.buf[int(o) : int(o) + int(n)].tobytes(), int(t))
                         for o, n, t in zip(c.data_off, c.caplen, c.ts_ns, strict=True)]
                c.done()
            got.append((rows, list(reader.warnings), reader.packets))
    assert got[1] == got[0]
    if len(data) > 4 * chunk and max(sizes) < chunk // 2:
        assert windows  # (the map was read, not only the file's first and last chunks)
    assert [r[0] for r in got[0][0]][: len(frames)] == frames
