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
