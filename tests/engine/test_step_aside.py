"""The step-aside flag: raised, a load's other threads and forked processes wait at their next
check until it is lowered (never past the limit); the raising thread and an unraised flag never
wait."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from engine import step_aside
from engine.cancel import checkpoint


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` (a generous hang guard, not a timing assertion)."""
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


@pytest.fixture(autouse=True)
def lowered() -> Iterator[None]:
    step_aside.lower_flag()
    yield
    step_aside.lower_flag()


class Steps:
    """A loop on another thread counting its steps, checking the flag (through the cancel
    checkpoint) between them."""

    def __init__(self) -> None:
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.count += 1
            checkpoint()

    def __enter__(self) -> Steps:
        self.thread.start()
        wait_until(lambda: self.count > 0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        step_aside.lower_flag()
        self.thread.join(5)


def _settled(steps: Steps) -> int:
    """The count once the loop has stopped moving (it waits at its next check)."""
    last = -1
    while steps.count != last:
        last = steps.count
        time.sleep(0.02)
    return last


def test_another_thread_waits_while_raised_and_goes_on_when_lowered(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(step_aside, "MAX_WAIT", 3600.0)
    with Steps() as steps:
        step_aside.raise_flag()
        stopped_at = _settled(steps)
        time.sleep(0.05)
        assert steps.count == stopped_at
        step_aside.lower_flag()
        wait_until(lambda: steps.count > stopped_at + 5)


def test_the_raising_thread_does_not_wait(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_wait(seconds: float) -> None:
        raise AssertionError("the thread that raised the flag waited on it")

    step_aside.raise_flag()
    monkeypatch.setattr(step_aside.time, "sleep", no_wait)
    for _ in range(1000):
        checkpoint()
    assert step_aside.is_raised()


def test_no_wait_outlasts_the_limit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(step_aside, "MAX_WAIT", 0.01)
    with Steps() as steps:
        step_aside.raise_flag()
        at = steps.count
        wait_until(lambda: steps.count > at + 3)  # a GUI thread that never lowers it


def _child_steps(counter: multiprocessing.sharedctypes.Synchronized, stop: threading.Event  # type: ignore[name-defined]
                 ) -> None:
    while not stop.is_set():
        with counter.get_lock():
            counter.value += 1
        step_aside.step_aside()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_forked_process_sees_the_flag_raised_after_the_fork(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As the decoding worker and the forked analyses do: the byte is shared, not copied."""
    monkeypatch.setattr(step_aside, "MAX_WAIT", 3600.0)
    ctx = multiprocessing.get_context("fork")
    counter, stop = ctx.Value("q", 0), ctx.Event()
    child = ctx.Process(target=_child_steps, args=(counter, stop), daemon=True)
    child.start()
    try:
        wait_until(lambda: counter.value > 0)
        step_aside.raise_flag()
        last = -1
        while counter.value != last:
            last = counter.value
            time.sleep(0.05)
        time.sleep(0.05)
        assert counter.value == last
        step_aside.lower_flag()
        wait_until(lambda: counter.value > last + 5)
    finally:
        stop.set()
        step_aside.lower_flag()
        child.join(5)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
