"""GUI responsiveness while a big capture loads, and a 1M-row table's speed.

Part 1 (load): the window opens a capture (default: 1M generated packets) while a GUI-thread
heartbeat QTimer (5 ms) records every gap between its ticks. Reported: the longest gap (the
event loop's worst stall; target < 100 ms), the time from ``open_file`` to a painted, populated
table and to the first rows shown while loading, the engine's own time on the same file in the
same process (target: GUI ≤ 1.3×), the memory while loading (peak RSS of this process, and the
peak of its and its decoding worker's proportional set sizes summed, sampled every 50 ms), and
what selecting conversations then costs: the time to the Timeline's first screen and to its
complete state bars, and to the Packets list's first screen (target < 0.5 s).
Part 2 (table): a synthetic 1M-conversation table — model reset, a sort by every column, a
filter, and repaints of the viewport at random scroll positions.

Run one benchmark at a time on the shared machine:
    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_gui_load.py
    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_gui_load.py --capture big.pcap
    … --capture /tmp/x/gen-20000000-200000-1.pcap --runs 1 --no-engine --table-rows 0
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from common import synthetic_capture  # noqa: E402
from PySide6.QtCore import (  # noqa: E402
    QCoreApplication,
    QElapsedTimer,
    QEvent,
    QEventLoop,
    QObject,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine import WIRESHARK, extract_flows_from_file  # noqa: E402
from gui.app import application  # noqa: E402
from gui.collector import collect_on_gui_thread  # noqa: E402
from gui.table.data import ConversationData  # noqa: E402
from gui.window import MainWindow  # noqa: E402

HEARTBEAT_MS = 5


class Heartbeat:
    """Ticks every few ms on the GUI thread; the longest gap between ticks is the worst stall."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.last = 0
        self.gaps: list[float] = []
        self.at: list[float] = []  # when each gap ended, seconds since start
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.last = self.clock.nsecsElapsed()
        self.gaps.clear()
        self.at.clear()
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.gaps.append((now - self.last) / 1e6)
        self.at.append(now / 1e9)
        self.last = now

    def stop(self) -> None:
        self._tick()
        self.timer.stop()


class NextPaint(QObject):
    """Calls ``then`` once a widget's first paint after :attr:`armed` is set has finished."""

    def __init__(self, then: Callable[[], None]) -> None:
        super().__init__()
        self.armed = False
        self._then = then

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if self.armed and event.type() == QEvent.Type.Paint:
            self.armed = False
            QTimer.singleShot(0, self._then)  # (queued: runs once this paint is done)
        return False


class MemoryWatch:
    """Samples, on its own thread every 50 ms, the proportional set size of this process and
    its children (the decoding worker), summed: shared pages are counted once."""

    def __init__(self, active: bool = True) -> None:
        self.peak_kb = 0
        self.active = active
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        if self.active:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self.active:
            self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, _tree_pss_kb(os.getpid()))
            self._done.wait(0.05)


def _tree_pss_kb(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return total


def engine_alone(path: Path) -> float:
    t = time.perf_counter()
    with extract_flows_from_file(path, WIRESHARK):
        pass
    return time.perf_counter() - t


def wait_for(signal: object, timeout_s: float = 60.0) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)  # type: ignore[attr-defined]


def selections(app: QApplication, window: MainWindow, count: int = 4) -> list[str]:
    """Select the largest TCP conversations, and then random ones, as a user would: the time to
    the Timeline's first screen and to its state bars, and to the Packets list's first screen."""
    data = window.model.conversations
    t = data.table
    tcp = np.flatnonzero(data.protocol == "tcp")
    if not tcp.size:
        return []
    big = tcp[np.argsort(-t.packets[tcp], kind="stable")][:count]
    rng = np.random.default_rng(7)
    picks = [*big.tolist(), *rng.choice(tcp, size=min(count, tcp.size), replace=False).tolist()]
    details = window.details
    lines = []
    for pane_name, pane, done in (("Timeline", details.timeline, details.timeline.ready),
                                  ("Packets", details.packets, None)):
        details.setCurrentWidget(pane)
        first, complete = [], []
        for conv in picks:
            details.show_conversation(-1)
            app.processEvents()
            t0 = time.perf_counter()
            details.show_conversation(int(conv))
            pane.repaint()
            first.append(time.perf_counter() - t0)
            if done is not None:
                wait_for(done)
                pane.repaint()
                complete.append(time.perf_counter() - t0)
        line = (f"  select → {pane_name} first screen: max {max(first) * 1000:.0f} ms, "
                f"median {statistics.median(first) * 1000:.0f} ms")
        if complete:
            line += (f"; complete: max {max(complete) * 1000:.0f} ms, "
                     f"median {statistics.median(complete) * 1000:.0f} ms")
        lines.append(line + f" ({len(picks)} conversations, the largest "
                     f"{int(t.packets[big[0]]):,} packets)")
    return lines


def gui_load(app: QApplication, path: Path, detail: bool = False,
             select: bool = False, memory: bool = True) -> dict[str, float]:
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    beat = Heartbeat()
    done: dict[str, float] = {}

    selected: list[str] = []

    def loaded(_data: object) -> None:
        done["loaded"] = time.perf_counter()
        done["rows"] = window.model.rowCount()
        # the populated table's own next paint ends the run (forcing one here would add a
        # paint to the pass the window's handlers run in, and the stall measured with it)
        painted.armed = True
        window.view.viewport().update()

    def after_paint() -> None:
        done["painted"] = time.perf_counter()
        beat.stop()
        if select:  # once the load's signal handlers are done
            QTimer.singleShot(0, lambda: (selected.extend(selections(app, window)), app.quit()))
        else:
            app.quit()

    painted = NextPaint(after_paint)
    window.view.viewport().installEventFilter(painted)

    def rows_shown() -> None:
        if "first_rows" not in done and window.model.rowCount():
            done["first_rows"] = time.perf_counter()

    window.captureLoaded.connect(loaded)
    window.model.rowsShownChanged.connect(rows_shown)
    window.loadFailed.connect(lambda message: (print(message), app.quit()))
    with MemoryWatch(memory) as watch:
        beat.start()
        start = time.perf_counter()
        window.open_file(path)
        app.exec()  # (quitting closes the window, in Qt 6)
    gaps = beat.gaps
    if detail:
        loaded_at = done["loaded"] - start
        worst = sorted(range(len(gaps)), key=gaps.__getitem__)[-5:][::-1]
        print("  worst gaps (ms, ended at s; the table was ready at "
              f"{loaded_at:.2f} s): " + ", ".join(f"{gaps[k]:.0f} @ {beat.at[k]:.2f}"
                                                  for k in worst))
    for line in selected:
        print(line)
    window.close()
    # the next run starts from a clean slate: this window and the capture it holds go now
    # (left to live, each run's window kept its capture and made the next runs' heap bigger)
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()
    return {"to_table": done["painted"] - start, "to_signal": done["loaded"] - start,
            "first_rows": done.get("first_rows", done["loaded"]) - start,
            "max_gap_ms": max(gaps), "p99_gap_ms": float(np.percentile(gaps, 99)),
            "median_gap_ms": statistics.median(gaps), "rows": done["rows"],
            "peak_pss_mb": watch.peak_kb / 1024}


def table_speed(app: QApplication, rows: int) -> None:
    from engine.columns import COLUMNS as EXTRA_COLUMNS
    from tests.gui.synthetic_table import SYNTHETIC_EXTRA, synthetic_result

    for spec in SYNTHETIC_EXTRA:
        EXTRA_COLUMNS[spec.name] = spec
    t = time.perf_counter()
    result = synthetic_result(rows)
    data = ConversationData(result)
    prepared = time.perf_counter() - t
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    model, view = window.model, window.view
    t = time.perf_counter()
    model.set_conversations(data)
    window.filter_bar.set_conversations(data)
    reset = time.perf_counter() - t
    sorts = {}
    for k, column in enumerate(model.columns):
        t = time.perf_counter()
        view.sortByColumn(k, Qt.SortOrder.DescendingOrder)
        sorts[column.key] = time.perf_counter() - t
    t = time.perf_counter()
    view.sortByColumn(model.column_index("bytes"), Qt.SortOrder.DescendingOrder)
    resort = time.perf_counter() - t  # this order was computed in the loop above
    t = time.perf_counter()
    view.sortByColumn(model.column_index("bytes"), Qt.SortOrder.AscendingOrder)
    other_way = time.perf_counter() - t
    t = time.perf_counter()
    window.filter_bar.set_text("10.0.0.0/16 tcp packets>100")
    filtered = time.perf_counter() - t
    shown = model.rowCount()
    window.filter_bar.set_text("")
    bar = view.verticalScrollBar()
    rng = np.random.default_rng(1)
    paints = []
    for value in rng.integers(0, bar.maximum(), 50):
        t = time.perf_counter()
        bar.setValue(int(value))
        view.viewport().repaint()
        paints.append(time.perf_counter() - t)
    steps = []
    for _ in range(50):  # wheel-like scrolling: three rows at a time
        t = time.perf_counter()
        bar.setValue(bar.value() + 3)
        view.viewport().repaint()
        steps.append(time.perf_counter() - t)
    window.close()
    slowest = max(sorts, key=sorts.__getitem__)
    print(f"table of {rows:,} conversations ({len(model.columns)} columns)")
    print(f"  ConversationData (worker side)  {prepared * 1000:8.0f} ms")
    print(f"  model reset + protocol buttons  {reset * 1000:8.0f} ms")
    print(f"  first sort per column           median {statistics.median(sorts.values()) * 1000:.0f}"
          f" ms, slowest {sorts[slowest] * 1000:.0f} ms ({slowest})")
    print(f"  sort again (order cached)       {resort * 1000:8.0f} ms")
    print(f"  other direction, first time     {other_way * 1000:8.0f} ms")
    print(f"  filter '10.0.0.0/16 tcp packets>100' {filtered * 1000:5.0f} ms ({shown:,} rows)")
    print(f"  repaint at random positions     median {statistics.median(paints) * 1000:.1f} ms, "
          f"max {max(paints) * 1000:.1f} ms")
    print(f"  scroll by 3 rows + repaint      median {statistics.median(steps) * 1000:.1f} ms, "
          f"max {max(steps) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", type=Path, help="capture to load (default: generated)")
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--flows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--table-rows", type=int, default=1_000_000,
                        help="rows of the synthetic table (0 skips part 2)")
    parser.add_argument("--switch-interval", type=float,
                        help="sys.setswitchinterval for the run (default: Python's 5 ms)")
    parser.add_argument("--detail", action="store_true", help="print the worst gaps of each run")
    parser.add_argument("--no-engine", action="store_true",
                        help="skip the engine-alone load (a big capture: it doubles the time)")
    parser.add_argument("--no-select", action="store_true",
                        help="skip timing selections after the load")
    parser.add_argument("--no-memory", action="store_true",
                        help="no memory sampling thread (to see the stalls without it)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/flowscope-bench"))
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    path = args.capture
    if path is None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        path, _manifest = synthetic_capture(args.workdir, args.packets, args.flows)
    app = application()  # as gui.app.start sets the application up
    collect_on_gui_thread(app)
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB), switch interval "
          f"{sys.getswitchinterval() * 1000:.1f} ms, platform {app.platformName()}")
    if not args.no_engine:
        engine_alone(path)  # warm the page cache and imports
    for run in range(1, args.runs + 1):
        engine = None if args.no_engine else engine_alone(path)
        gui = gui_load(app, path, args.detail, select=not args.no_select and run == 1,
                       memory=not args.no_memory)
        ratio = f" ({gui['to_table'] / engine:.2f}× the engine alone, {engine:.2f} s)" \
            if engine else ""
        print(f"run {run}: GUI to populated table {gui['to_table']:.2f} s{ratio}, "
              f"first rows at {gui['first_rows']:.2f} s, {gui['rows']:,} rows | heartbeat gap "
              f"max {gui['max_gap_ms']:.0f} ms, p99 {gui['p99_gap_ms']:.0f} ms, median "
              f"{gui['median_gap_ms']:.1f} ms | peak PSS (GUI + worker) "
              f"{gui['peak_pss_mb']:.0f} MB, peak RSS of the GUI process "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB so far")
    if args.table_rows:
        table_speed(app, args.table_rows)


if __name__ == "__main__":
    main()
