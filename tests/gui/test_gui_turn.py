"""The GUI thread's turn: a load parks at its next cancel check while the GUI thread works, and
goes on after; without a turn (or without a load) nothing waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gui.jobs import GuiTurn


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` (a generous hang guard, not a timing assertion)."""
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


class Loader:
    """A stand-in for a load: counts its steps, letting the GUI run between them."""

    def __init__(self, turn: GuiTurn) -> None:
        self.turn = turn
        self.steps = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with self.turn.worker():
            while not self.stop.is_set():
                self.steps += 1
                self.turn.let_gui_run()

    def __enter__(self) -> Loader:
        self.thread.start()
        wait_until(lambda: self.steps > 0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def test_a_load_parks_during_the_turn_and_goes_on_after() -> None:
    turn = GuiTurn()
    with Loader(turn) as loader:
        with turn.turn(wait=10):
            assert turn._parked == 1  # the turn began once the load had parked
            parked_at = loader.steps
            assert loader.steps == parked_at
        wait_until(lambda: loader.steps > parked_at + 5)  # and it goes on after
    assert not loader.thread.is_alive()


def test_turns_nest_and_the_load_waits_for_the_outer_one() -> None:
    turn = GuiTurn()
    with Loader(turn) as loader:
        with turn.turn(wait=10):
            with turn.turn(wait=10):
                parked_at = loader.steps
            assert turn._parked == 1 and loader.steps == parked_at  # the outer turn holds
        wait_until(lambda: loader.steps > parked_at)


def test_a_load_never_parks_longer_than_its_limit() -> None:
    turn = GuiTurn()
    turn.MAX_PARK = 0.01
    with Loader(turn) as loader, turn.turn(wait=10):
        parked_at = loader.steps
        wait_until(lambda: loader.steps > parked_at + 2)  # the GUI thread overstayed


def test_without_a_load_a_turn_does_not_wait() -> None:
    turn = GuiTurn()
    with turn.turn(wait=3600):
        assert turn._parked == 0


def test_a_held_turn_lasts_until_released_once() -> None:
    """``hold`` spans passes of the event loop (the table's update, then its paint): the load
    stays parked until the release, and a second release changes nothing."""
    turn = GuiTurn()
    with Loader(turn) as loader:
        release = turn.hold(wait=10)
        parked_at = loader.steps
        with turn.turn(wait=10):  # a turn inside (the paint's own) does not end the hold
            pass
        assert turn._parked == 1 and loader.steps == parked_at
        release()
        wait_until(lambda: loader.steps > parked_at)
        release()
        assert turn._wanted == 0
        with turn.turn(wait=10):  # and later turns still park the load
            assert turn._parked == 1
