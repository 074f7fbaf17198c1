"""Cancel acts in every phase of a load: every poll of the cancel callback is a point where the
load stops, with LoadCancelled and nothing left behind (the bench measures how often it polls:
bench/bench_cancel.py)."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from engine import (
    WIRESHARK,
    FlowConfig,
    LoadCancelled,
    extract_flows,
    extract_flows_from_file,
    extract_flows_streaming,
)
from engine.cancel import cancel_scope, checkpoint

from .tcpgen import shuffled_stream

SMALL_CHUNKS = WIRESHARK.replace(chunk_bytes=1 << 16)


class Counter:
    """A cancel callback that says stop at its ``stop_at``-th call (never, if None)."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at = stop_at
        self.calls = 0
        self.after_reading = 0  # calls after the progress callback reported the whole file
        self.read_all = False

    def __call__(self) -> bool:
        self.calls += 1
        self.after_reading += self.read_all
        stop = self.stop_at is not None and self.calls >= self.stop_at
        if stop and not self.stopped_at:
            self.stopped_at = time.perf_counter()
        return stop

    stopped_at = 0.0

    def progress(self, done: int, total: int, packets: int) -> None:
        self.read_all = done >= total


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Several 64 KiB chunks, then one long stream for the TCP analysis to chew on."""
    path = tmp_path_factory.mktemp("cancel") / "shuffled.pcap"
    path.write_bytes(shuffled_stream(6000, seed=5))
    return path


def test_every_phase_polls(capture: Path) -> None:
    """Reading and everything after it (grouping, TCP analysis …) poll the callback."""
    counter = Counter()
    with extract_flows_from_file(capture, SMALL_CHUNKS, counter.progress, counter) as result:
        assert result.capture.packets == 6003
    assert counter.calls - counter.after_reading >= 8  # one a chunk at least
    assert counter.after_reading >= 20


def test_cancel_acts_at_every_poll(capture: Path) -> None:
    """Whatever poll says stop, the load ends there: the callback is never asked again."""
    total = Counter()
    with extract_flows_from_file(capture, SMALL_CHUNKS, cancel=total):
        pass
    for stop_at in range(1, total.calls + 1):
        counter = Counter(stop_at)
        with pytest.raises(LoadCancelled, match=r"shuffled\.pcap was cancelled"):
            extract_flows_from_file(capture, SMALL_CHUNKS, counter.progress, counter)
        assert counter.calls == stop_at
        assert time.perf_counter() - counter.stopped_at < 5  # a hang guard; bench_cancel times it


def test_cancel_from_the_progress_callback(capture: Path) -> None:
    stop = False

    def progress(done: int, total: int, packets: int) -> None:
        nonlocal stop
        stop = True

    with pytest.raises(LoadCancelled):
        extract_flows_from_file(capture, SMALL_CHUNKS, progress, lambda: stop)


def test_cancelled_gzip_load_leaves_no_decompressed_copy(capture: Path, tmp_path: Path) -> None:
    packed = tmp_path / "shuffled.pcap.gz"
    packed.write_bytes(gzip.compress(capture.read_bytes(), compresslevel=1))
    spill = tmp_path / "spill"
    spill.mkdir()
    config = SMALL_CHUNKS.replace(spill_dir=spill)
    total = Counter()
    with extract_flows_from_file(packed, config, cancel=total):
        pass
    for stop_at in range(1, total.calls + 1, 7):
        counter = Counter(stop_at)
        with pytest.raises(LoadCancelled):
            extract_flows_from_file(packed, config, cancel=counter)
        assert list(spill.iterdir()) == []


def test_packets_in_memory_can_be_cancelled_too() -> None:
    frames = [(shuffled_stream(3)[24 + 16 : 24 + 16 + 54], 1_000, 1)] * 50
    counter = Counter(stop_at=2)
    with pytest.raises(LoadCancelled, match="cancelled"):
        extract_flows_streaming(iter(frames), FlowConfig(chunk_bytes=1 << 16), counter)
    assert len(extract_flows(frames)) == 1


def test_checkpoint_outside_a_scope_does_nothing() -> None:
    checkpoint()
    with cancel_scope(lambda: True, "stop here"), pytest.raises(LoadCancelled, match="stop here"):
        checkpoint()
    checkpoint()  # the scope ended with the block
