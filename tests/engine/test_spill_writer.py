"""The packet store's spill writes run on a thread of their own (:mod:`engine.spill_writer`):
the same files, in order, however the caller reuses its rows; a failed write is the load's
error, in a sentence, and the spill folder goes with it."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine import spill_writer as writer_module
from engine.errors import DiskSpaceError, FlowError
from engine.spill_writer import SpillWriter

from ..conftest import CAPTURES


def test_pieces_land_in_order_and_as_they_were_handed_over(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(writer_module, "QUEUED_BYTES", 64)  # the caller waits for room often
    rows = np.zeros(8, dtype=np.int64)
    expected = []
    writer = SpillWriter()
    with (tmp_path / "a.bin").open("wb") as a, (tmp_path / "b.bin").open("wb") as b:
        for k in range(200):
            rows[:] = np.arange(8) + 8 * k  # the same rows, refilled as a chunk's are
            writer.write(a if k % 3 else b, rows)
            expected.append((k % 3 != 0, rows.copy()))
        writer.flush()
        writer.stop()
    for name, to_a in (("a.bin", True), ("b.bin", False)):
        got = np.fromfile(tmp_path / name, dtype=np.int64)
        np.testing.assert_array_equal(
            got, np.concatenate([r for into_a, r in expected if into_a == to_a]))


def _failing_after(count: int, code: int) -> object:
    calls = []
    real = writer_module._append

    def append(out: object, data: np.ndarray) -> None:
        calls.append(1)
        if len(calls) > count:
            raise OSError(code, "simulated")
        real(out, data)  # type: ignore[arg-type]

    return append


@pytest.mark.parametrize(("code", "error"),
                         [(errno.ENOSPC, DiskSpaceError), (errno.EIO, FlowError)])
@pytest.mark.parametrize("count", [0, 10])
def test_a_failed_spill_write_is_the_loads_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 code: int, error: type, count: int) -> None:
    """At the first write or later (then raised at a later write or at the end): a FlowError
    naming the folder and the reason, and no spill files left."""
    monkeypatch.setattr(writer_module, "_append", _failing_after(count, code))
    config = WIRESHARK.replace(packet_budget=0, spill_dir=tmp_path, chunk_bytes=1 << 12)
    with pytest.raises(error, match=r"Writing the packet columns to .* failed .*simulated"):
        extract_flows_from_file(CAPTURES / "zeek-http-get.pcap", config)
    assert list(tmp_path.iterdir()) == []
