"""Cyclic garbage is collected on the GUI thread: a Qt object in a reference cycle is never
destroyed by another thread's allocations (the loading thread's), but by the GUI thread's timer."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from gui.collector import GuiThreadCollector, collect_on_gui_thread


def test_installed_once_with_the_automatic_collector_off(qapp) -> None:  # type: ignore[no-untyped-def]
    collector = collect_on_gui_thread(qapp)
    assert isinstance(collector, GuiThreadCollector)
    assert collect_on_gui_thread(qapp) is collector
    assert not gc.isenabled()


def test_a_qt_object_in_a_cycle_dies_on_the_gui_thread(qtbot, qapp) -> None:  # type: ignore[no-untyped-def]
    collect_on_gui_thread(qapp)
    died_on: list[str] = []

    def cycle() -> None:
        holder = QObject()
        holder.destroyed.connect(lambda *_: died_on.append(threading.current_thread().name))
        holder.me = holder  # type: ignore[attr-defined]  # only the collector can free it

    cycle()

    def allocate() -> None:  # what a load does: many young containers, some in cycles
        for _ in range(5000):
            loop: list[object] = []
            loop.append(loop)

    worker = threading.Thread(target=allocate, name="loader")
    worker.start()
    worker.join()
    assert died_on == []  # the loading thread's allocations collected nothing
    qtbot.waitUntil(lambda: bool(died_on), timeout=5_000)
    assert died_on == [threading.main_thread().name]
