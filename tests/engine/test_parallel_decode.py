"""Decoding in a worker process gives exactly what decoding in this process gives."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.packets import PacketTable
from engine.parallel import pool as pool_module
from engine.table import COLUMN_NAMES

from .bigger import bigger_capture

pytestmark = pytest.mark.skipif(not pool_module.can_fork(), reason="needs fork (Linux)")


def _same(a: object, b: object) -> None:
    for f in dataclasses.fields(PacketTable):
        np.testing.assert_array_equal(getattr(a.packets, f.name), getattr(b.packets, f.name),
                                      err_msg=f.name)
    for name in COLUMN_NAMES:
        np.testing.assert_array_equal(getattr(a.conversations, name),
                                      getattr(b.conversations, name), err_msg=name)
    for name, col in a.conversations.extra.items():
        np.testing.assert_array_equal(b.conversations.extra[name], col, err_msg=name)
    np.testing.assert_array_equal(a.conversations.packet_index, b.conversations.packet_index)
    assert a.capture.warnings == b.capture.warnings


@pytest.mark.parametrize("budget", [None, 0], ids=["in memory", "spilled"])
def test_worker_decodes_like_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          budget: int | None) -> None:
    path = bigger_capture(tmp_path / "big.pcap")
    served = []
    grouped = []
    result = pool_module.DecodePool.result

    def counting(self: pool_module.DecodePool, ticket: pool_module.Ticket) -> object:
        served.append(ticket.rows)
        got = result(self, ticket)
        grouped.append(got is not None and got[2] is not None)
        return got

    monkeypatch.setattr(pool_module.DecodePool, "result", counting)
    in_file = []
    in_file_of = pool_module.DecodePool._in_file

    def mapped(self: pool_module.DecodePool, chunk: object) -> bool:
        in_file.append(in_file_of(self, chunk))
        return in_file[-1]

    monkeypatch.setattr(pool_module.DecodePool, "_in_file", mapped)
    config = WIRESHARK.replace(chunk_bytes=1 << 16, packet_budget=budget,
                               spill_dir=tmp_path)
    with extract_flows_from_file(path, config.replace(workers=0)) as here:
        assert not served
        with extract_flows_from_file(path, config.replace(workers=1)) as there:
            assert len(served) > 10  # most chunks went to the worker
            assert sum(served) < here.capture.packets  # the first chunk was decoded here
            assert all(grouped)  # and grouped by tuple there
            # as windows of the capture's map, decoded in place there: all but the first
            # chunk (read before the map was made, into a buffer of its own, and decoded
            # here) and the last (within a padding of the file's end: read into a slot)
            assert in_file == [False] + [True] * (len(served) - 1)
            _same(here, there)


def test_a_dead_worker_leaves_the_chunks_to_this_process(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    path = bigger_capture(tmp_path / "big.pcap", copies=6)
    config = WIRESHARK.replace(chunk_bytes=1 << 16)
    original = pool_module.DecodePool.__init__

    def start_then_die(self: pool_module.DecodePool, chunk_bytes: int,
                       file_map: object = None) -> None:
        original(self, chunk_bytes, file_map)
        self._proc.kill()
        self._proc.join()

    with extract_flows_from_file(path, config.replace(workers=0)) as here:
        monkeypatch.setattr(pool_module.DecodePool, "__init__", start_then_die)
        with extract_flows_from_file(path, config.replace(workers=1)) as there:
            _same(here, there)


def _load_in_daemon(path: str, send: object) -> None:
    config = WIRESHARK.replace(chunk_bytes=1 << 16, workers=1)
    try:
        with extract_flows_from_file(path, config) as r:
            send.send(("ok", r.conversations.packets.tolist(), r.conversations.stream.tolist()))
    except BaseException as exc:  # reported to the test
        send.send(("failed", f"{type(exc).__name__}: {exc}"))


def test_a_load_inside_a_daemonic_process_runs_in_that_process(tmp_path: Path) -> None:
    """A pool's worker (daemonic) may not start processes: there the load (decoding worker,
    analyses ahead, the JSON's halves) stays in that one process, with the same result."""
    import multiprocessing

    path = bigger_capture(tmp_path / "big.pcap")
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_load_in_daemon, args=(str(path), send), daemon=True)
    worker.start()
    send.close()
    got = receive.recv()
    worker.join(timeout=60)
    assert got[0] == "ok", got
    with extract_flows_from_file(path, WIRESHARK.replace(chunk_bytes=1 << 16)) as here:
        assert got[1:] == (here.conversations.packets.tolist(),
                           here.conversations.stream.tolist())


def test_the_shared_slots_are_unmapped_once_the_chunks_are_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The slots the worker decoded into are not left resident through the analyses."""
    from engine.parallel import slots as slots_module

    made: list[slots_module.SharedSlots] = []
    original = slots_module.SharedSlots.__init__

    def remember(self: slots_module.SharedSlots, count: int, size: int) -> None:
        original(self, count, size)
        made.append(self)

    monkeypatch.setattr(slots_module.SharedSlots, "__init__", remember)
    path = bigger_capture(tmp_path / "big.pcap", copies=2)
    config = WIRESHARK.replace(chunk_bytes=1 << 16, workers=1)
    with extract_flows_from_file(path, config) as result:
        pool_module.wait_closed()  # (a thread of the closed pool unmaps them during the analyses)
        assert len(made) == 2  # the chunk buffers and the decoded columns
        assert all(s._map.closed for s in made)
        assert len(result.conversations) > 0


def test_closing_a_pool_hands_the_workers_end_to_a_thread(tmp_path: Path) -> None:
    """``close`` returns before the worker has exited (its exit and the unmapping of the slots
    took 35–45 ms of every load); ``wait_closed`` waits for both."""
    pool = pool_module.DecodePool(1 << 16)
    ends: list[int | None] = []
    close_process = pool._proc.close

    def closing() -> None:
        ends.append(pool._proc.exitcode)
        close_process()

    pool._proc.close = closing  # type: ignore[method-assign]
    gate = threading.Event()
    let_go = pool._let_go

    def held() -> None:
        gate.wait()
        let_go()

    pool._let_go = held  # type: ignore[method-assign]
    pool.close(wait=False)
    assert not pool.alive
    assert not pool.inputs._map.closed  # (still waiting at the gate)
    gate.set()
    pool_module.wait_closed()
    assert pool.inputs._map.closed and pool.outputs._map.closed
    assert ends == [0]  # it ended on its own, told by the pipe, and was closed
    assert not pool_module._ENDING


def test_a_pool_closed_in_the_background_is_ended_before_the_program_exits(
        tmp_path: Path) -> None:
    """The thread ending a closed pool's worker is waited for at exit (before multiprocessing
    reaps the children itself), not cut off with the program."""
    import subprocess
    import sys

    marker = tmp_path / "ended"
    script = f"""
import pathlib, time
from engine.parallel import pool as pool_module
pool = pool_module.DecodePool(1 << 16)
end = pool._end
def slow_end():
    time.sleep(0.3)
    end()
    pathlib.Path({str(marker)!r}).write_text(str(pool._proc._popen is None))
pool._end = slow_end
pool.close(wait=False)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert marker.read_text() == "True"  # ended, and its process object closed
