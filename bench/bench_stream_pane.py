"""The Stream pane on a 100 MB stream and on a 100k-packet conversation.

    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_stream_pane.py
        [--stream-packets 210000] [--select-packets 100000] [--dir /tmp/flowscope-bench]

Captures: one TCP flow each, made by ../shared/tools/gen_capture.py (about 100 MB of stream for
210,000 packets; out-of-order segments and retransmissions included).

Part 1, 100 MB stream (per mode: text, hex dump, raw hex):
- first screen: from ``show_conversation`` to the first painted screen of the stream (a
  preview of its first packets; target < 0.5 s), and to the whole stream shown and painted;
- the GUI thread's longest stall meanwhile (a 5 ms heartbeat timer), since the work is on a
  worker;
- scroll repaints: a synchronous ``repaint()`` after a page down (lines nearby, partly cached)
  and after jumps to random places (nothing cached): median, 95th percentile, max;
- switching mode (a new layout over the same pieces) and a find that scans the whole stream.
Part 2, selection of a 100k-packet conversation: time to the first painted screen (target
< 200 ms) and to the whole stream.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import GENERATOR  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine import WIRESHARK, FlowResult, extract_flows_from_file  # noqa: E402
from gui.panes.stream.pane import StreamPane  # noqa: E402
from gui.panes.stream.search import find  # noqa: E402

HEARTBEAT_MS = 5


def one_flow(directory: Path, packets: int) -> Path:
    path = directory / f"stream-pane-{packets}.pcap"
    if not path.exists():
        subprocess.run([sys.executable, str(GENERATOR), "--packets", str(packets), "--flows",
                        "1", "--seed", "5", "--tcp-frac", "1", "--udp-frac", "0", "--out",
                        str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


class Stalls:
    """The longest gap between ticks of a GUI-thread timer."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.worst = 0.0

    def start(self) -> None:
        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def stop(self) -> float:
        self.timer.stop()
        return self.worst


def wait(app: QApplication, done: Callable[[], bool], limit: float = 600.0) -> None:
    end = time.perf_counter() + limit
    while not done():
        app.processEvents()
        if time.perf_counter() > end:
            raise SystemExit("timed out")


def open_stream(app: QApplication, pane: StreamPane, result: FlowResult, row: int,
                stalls: Stalls | None = None) -> tuple[float, float]:
    """Seconds to the first painted screen and to the whole stream painted."""
    first: list[float] = []
    whole: list[float] = []
    t0 = time.perf_counter()

    def painted(store: list[float]) -> None:
        pane.view.viewport().repaint()
        store.append(time.perf_counter() - t0)

    pane.previewShown.connect(lambda _d: painted(first))
    pane.streamShown.connect(lambda _d: painted(whole))
    if stalls is not None:
        stalls.start()
    pane.show_conversation(result, row)
    wait(app, lambda: bool(whole))
    pane.previewShown.disconnect()
    pane.streamShown.disconnect()
    return (first or whole)[0], whole[0]


def repaint_times(app: QApplication, pane: StreamPane, positions: list[int]) -> list[float]:
    bar = pane.view.verticalScrollBar()
    out = []
    for value in positions:
        bar.setValue(value)
        t = time.perf_counter()
        pane.view.viewport().repaint()
        out.append(time.perf_counter() - t)
        app.processEvents()
    return out


def describe(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"median {statistics.median(ms):6.2f} ms  p95 {p95:6.2f} ms  max {ms[-1]:6.2f} ms"


def part_big(app: QApplication, args: argparse.Namespace) -> None:
    path = one_flow(args.dir, args.stream_packets)
    result = extract_flows_from_file(path, WIRESHARK)
    row = next(c.id for c in result if c.protocol == "tcp")
    pane = StreamPane()
    pane.resize(1100, 800)
    pane.show()
    app.processEvents()
    stalls = Stalls()
    first, whole = open_stream(app, pane, result, row, stalls)
    worst = stalls.stop()
    doc = pane.document
    assert doc is not None
    size = sum(doc.bytes)
    print(f"100 MB stream: {path.name}, {result.conversations.packets[row]:,} packets, "
          f"{size / 1e6:.1f} MB reassembled ({doc.bytes[0]:,} + {doc.bytes[1]:,} bytes), "
          f"{len(doc.pieces):,} pieces, {len(doc.stream.chunks):,} chunks")
    print(f"  first screen painted       {first * 1000:8.1f} ms   (target < 500 ms)")
    print(f"  whole stream painted       {whole * 1000:8.1f} ms   (reassembly + layout on a "
          "worker)")
    print(f"  longest GUI stall meanwhile {worst * 1000:7.1f} ms")
    rng = random.Random(1)
    for mode in ("hex", "raw", "text"):  # each a switch from the mode before
        t = time.perf_counter()
        pane.mode.setCurrentIndex(pane.mode.findData(mode))
        switch = time.perf_counter() - t
        layout = pane.view.stream_layout
        assert layout is not None
        page = pane.view.visible_lines()
        pages = repaint_times(app, pane, [k * page for k in range(200)])
        top = max(layout.line_count - page, 1)
        jumps = repaint_times(app, pane, [rng.randrange(top) for _ in range(200)])
        print(f"  {mode:4} mode: {layout.line_count:>11,} lines; switch {switch * 1000:6.1f} ms")
        print(f"    page down repaint  {describe(pages)}")
        print(f"    random jump repaint {describe(jumps)}")
    layout = pane.view.stream_layout
    assert layout is not None
    t = time.perf_counter()
    missing = find(layout, b"no such text in the stream", 0)
    scan = time.perf_counter() - t
    print(f"  find scanning the whole stream (no match: {missing is None}) "
          f"{scan * 1000:7.1f} ms  ({size / 1e6 / scan:.0f} MB/s)")
    pane.shutdown()
    result.close()


def part_select(app: QApplication, args: argparse.Namespace) -> None:
    path = one_flow(args.dir, args.select_packets)
    result = extract_flows_from_file(path, WIRESHARK)
    row = next(c.id for c in result if c.protocol == "tcp")
    pane = StreamPane()
    pane.resize(1100, 800)
    pane.show()
    app.processEvents()
    runs = [open_stream(app, pane, result, row) for _ in range(args.repeat)]
    first = min(r[0] for r in runs)
    whole = min(r[1] for r in runs)
    print(f"selection of a {int(result.conversations.packets[row]):,}-packet conversation "
          f"(best of {args.repeat}):")
    print(f"  first screen painted       {first * 1000:8.1f} ms   (target < 200 ms)")
    print(f"  whole stream painted       {whole * 1000:8.1f} ms")
    pane.shutdown()
    result.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stream-packets", type=int, default=210_000)
    ap.add_argument("--select-packets", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    part_big(app, args)
    part_select(app, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
