"""Spilling reassembly buffers to disk: the same bytes, and no file left behind."""

from __future__ import annotations

import gc
import io
import random
from functools import cache
from pathlib import Path

import pytest

from engine import WIRESHARK, ExportError, LoadCancelled, extract_flows, extract_flows_from_file
from engine.export.follow import write_follow
from engine.follow import model as stream_module
from engine.follow import reassemble
from engine.follow.store import SPILL_PREFIX, SpillBudget, StreamStore
from tests.conftest import CAPTURES
from tests.engine.test_tcp_scenarios import Flow, handshake


def spill_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{SPILL_PREFIX}*"))


@cache
def shuffled_stream(seed: int = 5, segments: int = 400) -> tuple[Flow, bytes, bytes]:
    """A stream with reordered segments and retransmissions both ways."""
    rng = random.Random(seed)
    a = bytes(rng.getrandbits(8) for _ in range(segments * 100))
    b = bytes(rng.getrandbits(8) for _ in range(segments * 60))
    f = handshake(Flow())
    order = list(range(segments))
    for k in range(0, segments - 1, 7):
        order[k], order[k + 1] = order[k + 1], order[k]
    sent: set[int] = set()
    for k in order:
        f.c("PA", 1 + 100 * k, 1 + 60 * k, a[100 * k : 100 * k + 100])
        if k % 5 == 0:  # a retransmission
            f.c("PA", 1 + 100 * k, 1 + 60 * k, a[100 * k : 100 * k + 100])
        sent.add(k)
        contiguous = next(j for j in range(segments + 1) if j not in sent)
        f.s("PA", 1 + 60 * k, 1 + 100 * contiguous, b[60 * k : 60 * k + 60])
    return f, a, b


@pytest.mark.parametrize("budget", [0, 64, 1000, 10_000])
def test_small_budget_gives_identical_bytes(budget: int, tmp_path: Path) -> None:
    f, a, b = shuffled_stream()
    plain = extract_flows(f.packets, WIRESHARK)
    spilled = extract_flows(f.packets, WIRESHARK.replace(memory_budget=budget,
                                                         spill_dir=tmp_path))
    with reassemble(plain, 0) as x, reassemble(spilled, 0) as y:
        assert (x.data(0), x.data(1)) == (a, b)
        assert (y.data(0), y.data(1)) == (a, b)
        assert y.spilled and not x.spilled
        assert len(spill_files(tmp_path)) == 2
        assert x.chunks.packet.tolist() == y.chunks.packet.tolist()
        assert x.counters == y.counters
        for fmt in ("raw", "hex", "ascii", "c-array", "yaml"):
            one, two = io.BytesIO(), io.BytesIO()
            write_follow(x, one, fmt)
            write_follow(y, two, fmt)
            assert one.getvalue() == two.getvalue(), fmt
        assert [y.chunk_bytes(k) for k in range(0, len(y.chunks), 37)] == [
            x.chunk_bytes(k) for k in range(0, len(x.chunks), 37)]
    assert spill_files(tmp_path) == []


def test_real_capture_with_gaps_spills_identically(tmp_path: Path) -> None:
    path = CAPTURES / "zeek-tcp-reassembly.pcap"
    with extract_flows_from_file(path, WIRESHARK) as r, reassemble(r, 0) as plain:
        expected = (plain.data(0), [(g.offset, g.length) for g in plain.gaps])
    config = WIRESHARK.replace(memory_budget=4096, spill_dir=tmp_path)
    with extract_flows_from_file(path, config) as r, reassemble(r, 0) as stream:
        assert stream.spilled
        assert (stream.data(0), [(g.offset, g.length) for g in stream.gaps]) == expected
    assert spill_files(tmp_path) == []


def test_cancel_removes_spill_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "_BATCH", 500)
    f, _, _ = shuffled_stream()
    result = extract_flows(f.packets, WIRESHARK.replace(memory_budget=100, spill_dir=tmp_path))
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(LoadCancelled):
        reassemble(result, 0, cancel=cancel)
    gc.collect()
    assert spill_files(tmp_path) == []


def test_errors_remove_spill_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "_BATCH", 500)
    f, _, _ = shuffled_stream()
    result = extract_flows(f.packets, WIRESHARK.replace(memory_budget=100, spill_dir=tmp_path))
    real = stream_module.read_pieces
    calls = []

    def failing(*args: object) -> list[memoryview]:
        calls.append(1)
        if len(calls) > 2:
            raise OSError("disk went away")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(stream_module, "read_pieces", failing)
    with pytest.raises(OSError, match="disk went away"):
        reassemble(result, 0)
    assert spill_files(tmp_path) == []


def test_unwritable_spill_folder_is_a_sentence(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    f, _, _ = shuffled_stream(segments=20)
    result = extract_flows(f.packets, WIRESHARK.replace(memory_budget=10, spill_dir=missing))
    with pytest.raises(ExportError, match="spill file"):
        reassemble(result, 0)


def test_store_in_memory_and_spilled(tmp_path: Path) -> None:
    budget = SpillBudget(10, tmp_path)
    small, big = StreamStore(budget), StreamStore(budget)
    small.extend([b"abc", memoryview(b"defg")])
    small.append(b"hi")
    assert not small.spilled and small.read(2, 5) == b"cdefg" and small.tobytes() == b"abcdefghi"
    big.append(b"0123")
    big.append(b"456789")  # past the budget: moves to a file
    assert big.spilled and len(spill_files(tmp_path)) == 1
    assert big.read(3, 4) == b"3456" and big.tobytes() == b"0123456789"
    assert b"".join(bytes(x) for x in big.blocks(3)) == b"0123456789"
    assert budget.in_memory == 9 and len(big) == 10
    big.close()
    small.close()
    assert spill_files(tmp_path) == [] and budget.in_memory == 0


def test_dropped_store_removes_its_file(tmp_path: Path) -> None:
    store = StreamStore(SpillBudget(0, tmp_path))
    store.append(b"spilled")
    assert len(spill_files(tmp_path)) == 1
    del store
    gc.collect()
    assert spill_files(tmp_path) == []


def test_multi_part_reads_cross_parts() -> None:
    store = StreamStore()
    for piece in (b"ab", b"cde", b"f", b"ghij"):
        store.append(piece)
    assert [store.read(k, 4) for k in range(0, 10, 3)] == [b"abcd", b"defg", b"ghij", b"j"]
    assert b"".join(bytes(x) for x in store.blocks(2)) == b"abcdefghij"
