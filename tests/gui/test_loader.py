"""The load worker: progress, results, errors and cancelling, all as signals from a pool thread."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThread

from engine import WIRESHARK, FlowConfig
from gui import loading as loader
from gui.jobs import FunctionJob, Job, JobRunner
from gui.loading import LoadJob, LoadProgress
from gui.priority import BACKGROUND_NICE
from gui.table.data import ConversationData
from tests.conftest import oracle
from tests.gui.conftest import INVALID, WIKIPEDIA

SMALL_CHUNKS = FlowConfig(udp_timeout=None, icmp_timeout=None, chunk_bytes=1 << 16)


@pytest.fixture
def runner(qtbot):  # type: ignore[no-untyped-def]
    r = JobRunner()
    yield r
    assert r.shutdown(30_000)


def test_progress_then_finished_with_the_conversations(qtbot, runner) -> None:  # type: ignore[no-untyped-def]
    job = LoadJob(WIKIPEDIA, WIRESHARK)
    reports: list[LoadProgress] = []
    threads: list[QThread] = []
    job.progress.connect(lambda _job, p: (reports.append(p),
                                          threads.append(QThread.currentThread())))
    with qtbot.waitSignal(job.finished, timeout=30_000) as done:
        runner.start(job)
    assert done.args[0] is job
    data = done.args[1]
    assert isinstance(data, ConversationData)
    try:
        expected = oracle(WIKIPEDIA)
        assert len(data) == len(data.result.conversations)
        assert sum(p.conversations for p in data.protocols if p.name == "tcp") == len(
            expected["tcp"])
        assert sum(p.conversations for p in data.protocols if p.name == "udp") == len(
            expected["udp"])
        # progress arrived in the GUI thread, ending with the whole file read
        assert reports and threads[-1] is QThread.currentThread()
        last = reports[-1]
        assert last.done_bytes == last.total_bytes == WIKIPEDIA.stat().st_size
        assert last.packets == 136 and last.reading_done
    finally:
        data.result.close()


def test_progress_reports_rate_and_time_left() -> None:
    p = LoadProgress(done_bytes=25, total_bytes=100, packets=500, elapsed=2.0)
    assert p.fraction == 0.25 and p.packets_per_second == 250 and p.seconds_left == 6.0
    assert not p.reading_done
    assert LoadProgress(0, 0, 0, 0.0).seconds_left is None


def test_an_unreadable_file_errors_with_the_engine_sentence(qtbot, runner) -> None:  # type: ignore[no-untyped-def]
    job = LoadJob(INVALID, WIRESHARK)
    with qtbot.waitSignal(job.errored, timeout=30_000) as failed:
        runner.start(job)
    message = failed.args[1]
    assert "pcap major version 1 is not supported" in message
    assert "Traceback" not in message


def test_cancel_mid_load_emits_cancelled(qtbot, runner, generated_capture) -> None:  # type: ignore[no-untyped-def]
    job = LoadJob(generated_capture, SMALL_CHUNKS)
    seen: list[LoadProgress] = []

    def cancel_on_first_report(_job: Job, p: LoadProgress) -> None:
        # runs in the worker (direct connection): the engine's next check sees the flag
        seen.append(p)
        job.cancel()

    job.progress.connect(cancel_on_first_report, Qt.ConnectionType.DirectConnection)
    finished: list[object] = []
    job.finished.connect(lambda _j, data: finished.append(data))
    with qtbot.waitSignal(job.cancelled, timeout=30_000):
        runner.start(job)
    assert finished == []
    assert seen and seen[0].done_bytes < seen[0].total_bytes  # stopped mid-file
    qtbot.waitUntil(lambda: job.is_done)


def test_a_bug_in_a_job_becomes_one_sentence(qtbot, runner, caplog) -> None:  # type: ignore[no-untyped-def]
    def broken() -> None:
        raise KeyError("oops")

    job = FunctionJob("Exporting to x.csv", broken)
    with qtbot.waitSignal(job.errored, timeout=10_000) as failed:
        runner.start(job)
    assert failed.args[1] == ("Exporting to x.csv failed because of an internal error "
                              "(KeyError: 'oops').")
    assert "Traceback" in caplog.text  # the details go to the log, not to the user


def test_shutdown_cancels_and_waits(qtbot, generated_capture, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Closing the window while a load runs stops it; no worker outlives the runner."""
    started = threading.Event()
    real = loader.extract_flows_from_file

    def slow_start(path, config, progress, cancel, on_snapshot):  # type: ignore[no-untyped-def]
        def report(done: int, total: int, packets: int) -> None:
            started.set()
            progress(done, total, packets)
        return real(path, config, progress=report, cancel=cancel, on_snapshot=on_snapshot)

    monkeypatch.setattr(loader, "extract_flows_from_file", slow_start)
    runner = JobRunner()
    job = runner.start(LoadJob(generated_capture, SMALL_CHUNKS))
    assert started.wait(30)
    assert runner.shutdown(30_000)
    assert job.is_done and job.is_cancelled and Job.running_count() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values: Linux")
def test_jobs_and_what_they_start_run_below_the_gui_thread(qtbot, runner) -> None:  # type: ignore[no-untyped-def]
    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def child_nice(send: Any) -> None:
        send.send(os.getpriority(os.PRIO_PROCESS, 0))

    def work() -> tuple[int, int, int]:
        started: list[int] = []
        helper = threading.Thread(target=lambda: started.append(nice()))
        helper.start()
        helper.join()
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=child_nice, args=(send,))
        child.start()
        forked = receive.recv()
        child.join()
        return nice(), started[0], forked

    gui_before = nice()
    job = FunctionJob("a check", work)
    with qtbot.waitSignal(job.finished, timeout=30_000) as done:
        runner.start(job)
    mine, thread, forked = done.args[1]
    assert mine >= BACKGROUND_NICE and thread >= BACKGROUND_NICE and forked >= BACKGROUND_NICE
    assert nice() == gui_before < BACKGROUND_NICE  # the GUI thread keeps its priority
