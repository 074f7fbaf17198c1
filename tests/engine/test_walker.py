"""The compiled record walker and the pure-Python loop find exactly the same records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import FlowConfig
from engine.capture import open_capture
from engine.capture.accel import walker
from tests.conftest import CAPTURE_FILES

from .capwriter import Iface, Section, pcap_bytes, pcapng_bytes


def _records(path: Path, monkeypatch: pytest.MonkeyPatch, pure: bool) -> tuple:
    if pure:
        monkeypatch.setenv("FLOWSCOPE_PURE_PYTHON", "1")
    else:
        monkeypatch.delenv("FLOWSCOPE_PURE_PYTHON", raising=False)
    out = []
    try:
        with open_capture(path, FlowConfig(chunk_bytes=1 << 16)) as reader:
            for chunk in reader.chunks():
                out.append((chunk.base + chunk.data_off, chunk.caplen, chunk.origlen, chunk.ts_ns,
                            chunk.iface))
            warnings = tuple(reader.warnings)
    except Exception as exc:  # the same error either way
        return (type(exc), str(exc))
    if not out:
        return ((), warnings)
    return (tuple(np.concatenate(cols).tolist() for cols in zip(*out, strict=True)), warnings)


def _generated(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(3)
    frames = [rng.bytes(int(n)) for n in rng.integers(14, 3000, 300)]
    paths = []
    for k, data in enumerate([
        pcap_bytes([(f, 10**18 + i) for i, f in enumerate(frames)]),
        pcap_bytes([(f, 10**18) for f in frames], big=True, nano=True),
        pcapng_bytes([Section(blocks=[("epb", 0, i, f) for i, f in enumerate(frames[:150])]),
                      Section(big=True, interfaces=[Iface(), Iface(101)],
                              blocks=[("spb", f) if i % 7 == 0 else ("epb", i % 2, i, f)
                                      for i, f in enumerate(frames[150:])])]),
    ]):
        path = tmp_path / f"gen{k}.cap"
        path.write_bytes(data[: len(data) - 5] if k == 1 else data)  # one cut short
        paths.append(path)
    return paths


@pytest.mark.skipif(walker() is None, reason="the compiled walker is not built here")
def test_compiled_and_python_walkers_agree(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for path in [*CAPTURE_FILES, *_generated(tmp_path)]:
        assert _records(path, monkeypatch, True) == _records(path, monkeypatch, False), path.name


def _numpy_gather(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """The reference: numpy's fancy index over the sliding windows (what ``gather`` falls back
    to), written out here so a change to the fallback cannot hide a wrong compiled copy."""
    windows = np.lib.stride_tricks.sliding_window_view(buf, width)
    return windows[pos]


@pytest.mark.skipif(walker() is None, reason="the compiled walker is not built here")
@pytest.mark.parametrize("width", [1, 4, 8, 16, 20, 26, 28, 40, 60, 3, 33, 200])
def test_compiled_gather_copies_every_window(width: int) -> None:
    from engine.capture.chunk import gather

    rng = np.random.default_rng(width)
    buf = rng.integers(0, 256, 5000, dtype=np.uint8)
    last = buf.size - width
    pos = np.concatenate([rng.integers(0, last + 1, 997), [0, last, last, 7]]).astype(np.int64)
    got = gather(buf, pos, width)
    assert got.shape == (pos.size, width) and got.dtype == np.uint8
    assert np.array_equal(got, _numpy_gather(buf, pos, width))
    # positions of another integer type, and none at all
    assert np.array_equal(gather(buf, pos.astype(np.uint32), width), got)
    assert gather(buf, pos[:0], width).shape == (0, width)


@pytest.mark.skipif(walker() is None, reason="the compiled walker is not built here")
def test_compiled_gather_leaves_positions_outside_the_buffer_to_numpy() -> None:
    """A window past the end raises numpy's IndexError; a negative position counts from the
    end as numpy's does; the compiled copy says no and writes nothing in both cases."""
    from engine.capture.chunk import gather

    buf = np.arange(100, dtype=np.uint8)
    out = np.full((2, 8), 7, dtype=np.uint8)
    assert not walker().gather(buf, np.array([0, 93], dtype=np.int64), 8, out)
    assert not walker().gather(buf, np.array([-1, 0], dtype=np.int64), 8, out)
    assert (out == 7).all()
    with pytest.raises(IndexError):
        gather(buf, np.array([0, 93]), 8)
    assert np.array_equal(gather(buf, np.array([-1]), 8), _numpy_gather(buf, np.array([-1]), 8))
    frozen = np.frombuffer(bytes(range(100)), dtype=np.uint8)  # read-only, as a mapped file
    assert np.array_equal(gather(frozen, np.array([3, 50]), 4),
                          _numpy_gather(frozen, np.array([3, 50]), 4))
