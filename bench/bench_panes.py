"""Detail pane update time after a selection on a conversation of 100k+ packets.

For each pane (Timeline, Packets, Z-Wave), shown as the open tab of a DetailsPanel at 1300×700:
the time from the selection to the pane's first painted screen (what the user sees at once:
marks and sequence graph, the packet list, the charts), and where part of the work runs on a
worker, the time until it is complete (the timeline's state bars; a clicked packet's
dissection). Each figure is the median of several cold selections (caches cleared), alternating
between two big conversations. Also: re-thinning the timeline's marks after a zoom, and a
packet-list scroll repaint. And the Timeline's TCP stream graphs on one connection of 200k
packets: for each graph, the time from choosing it to its first paint, with its data computed on
the worker (engine.tcp_graphs) and drawn from the pane's cache (switching back to it).

Captures: a generated TCP capture (default 400k packets in 3 flows: ~133k packets each) and a
generated Z-Wave capture (300k frames among few node pairs).

    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_panes.py
    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_panes.py --capture big.pcap
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from common import synthetic_capture  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import engine.packet_notes as packet_notes  # noqa: E402
from engine import WIRESHARK, FlowResult, extract_flows_from_file  # noqa: E402
from engine.packets import Kind  # noqa: E402
from engine.tcp_graphs import stream_graph_data  # noqa: E402
from engine.zwave.protocol import ZWAVE  # noqa: E402
from engine.zwave.synth import main as zwave_synth  # noqa: E402
from gui.app import application  # noqa: E402
from gui.collector import collect_on_gui_thread  # noqa: E402
from gui.panes.details import DetailsPanel  # noqa: E402
from gui.panes.timeline.stream_graphs import GRAPH_TITLES, GraphKind  # noqa: E402
from gui.table.data import ConversationData  # noqa: E402

RUNS = 5


def wait_for(signal: object, timeout_s: float = 60.0) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)  # type: ignore[attr-defined]


def biggest(result: FlowResult, kind: Kind, count: int = 2) -> list[int]:
    t = result.conversations
    rows = np.flatnonzero(t.kind == kind)
    return rows[np.argsort(-t.packets[rows], kind="stable")][:count].tolist()


def cold(fn: Callable[[], None]) -> None:
    packet_notes._cache.clear()  # every selection pays for its packet columns
    fn()


def time_selection(details: DetailsPanel, pane: object, convs: list[int],
                   done: object | None) -> tuple[list[float], list[float]]:
    """(first screen ms, complete ms) per run."""
    first, complete = [], []
    details.setCurrentWidget(pane)  # type: ignore[arg-type]
    for k in range(RUNS):
        conv = convs[k % len(convs)]
        details.show_conversation(-1)
        QApplication.processEvents()
        packet_notes._cache.clear()
        t0 = time.perf_counter()
        details.show_conversation(conv)
        pane.repaint()  # type: ignore[attr-defined]
        t1 = time.perf_counter()
        if done is not None:
            wait_for(done)
            pane.repaint()  # type: ignore[attr-defined]
        t2 = time.perf_counter()
        first.append((t1 - t0) * 1000)
        complete.append((t2 - t0) * 1000)
    return first, complete


def report(name: str, packets: int, first: list[float], complete: list[float] | None) -> None:
    line = (f"{name:<28} {packets:>8,} packets  first screen {statistics.median(first):7.1f} ms"
            f" (max {max(first):6.1f})")
    if complete is not None:
        line += f"   complete {statistics.median(complete):7.1f} ms (max {max(complete):6.1f})"
    print(line)


def bench_tcp(details: DetailsPanel, result: FlowResult) -> None:
    convs = biggest(result, Kind.TCP)
    size = int(result.conversations.packets[convs[0]])
    first, complete = time_selection(details, details.timeline, convs, details.timeline.ready)
    report("Timeline (marks+seq graph)", size, first, complete)
    # zoom: re-thinning the marks for a new range, then a paint
    pane = details.timeline
    times = []
    for k in range(RUNS):
        t0 = time.perf_counter()
        span = pane._duration / (2 + k)
        pane.state_plot.setXRange(span * 0.5, span * 1.5, padding=0)
        pane.marks.refresh()
        pane.repaint()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{'  zoom (re-thin + paint)':<28} {'':>16}  {statistics.median(times):7.1f} ms")
    pane.reset_view()

    first, _ = time_selection(details, details.packets, convs, None)
    report("Packets (list)", size, first, None)
    table = details.packets.table
    times = []
    rng = np.random.default_rng(1)
    for _ in range(RUNS):
        t0 = time.perf_counter()
        table.verticalScrollBar().setValue(int(rng.integers(0, size)))
        table.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{'  scroll + repaint':<28} {'':>16}  {statistics.median(times):7.1f} ms")
    # a user looks at the list before clicking: the pane loads scapy in that time
    pause = QEventLoop()
    QTimer.singleShot(1000, pause.quit)
    pause.exec()
    times = []
    for k in range(RUNS):
        packet = int(result.conversations.packets_of(convs[0])[1000 + 7 * k])
        t0 = time.perf_counter()
        details.packets.select_packet(packet)
        wait_for(details.packets.dissected)
        details.packets.repaint()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{'  click → dissected (scapy)':<28} {'':>16}  {statistics.median(times):7.1f} ms"
          f" (first click, 1 s after the list: {times[0]:.1f} ms)")


def bench_graphs(details: DetailsPanel, result: FlowResult) -> None:
    conv = biggest(result, Kind.TCP, 1)[0]
    size = int(result.conversations.packets[conv])
    pane = details.timeline
    details.setCurrentWidget(pane)
    pane.graph.setCurrentIndex(GraphKind.STEVENS)
    details.show_conversation(conv)
    wait_for(pane.ready)
    lane = pane._graph_lane()[0]
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        stream_graph_data(result, conv, lane)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"Stream graph data (engine)   {size:>8,} packets  {statistics.median(times):7.1f} ms")
    for kind in GraphKind:
        away = GraphKind.TCPTRACE if kind == GraphKind.STEVENS else GraphKind.STEVENS
        worker, cached = [], []
        for _ in range(RUNS):
            pane.graph.setCurrentIndex(away)
            QApplication.processEvents()
            pane._graph_data.clear()
            t0 = time.perf_counter()
            pane.graph.setCurrentIndex(kind)
            if kind != GraphKind.STEVENS:
                wait_for(pane.graphReady)
            pane.repaint()
            worker.append((time.perf_counter() - t0) * 1000)
            pane.graph.setCurrentIndex(away)
            QApplication.processEvents()
            t0 = time.perf_counter()
            pane.graph.setCurrentIndex(kind)  # its data is in the pane's cache now
            pane.repaint()
            cached.append((time.perf_counter() - t0) * 1000)
        print(f"  {GRAPH_TITLES[kind]:<26} {'':>16}  draw {statistics.median(cached):7.1f} ms"
              f" (max {max(cached):6.1f})   with the worker {statistics.median(worker):7.1f} ms")
    # zoomed in: re-thinning for the new range, then a paint
    pane.graph.setCurrentIndex(GraphKind.TCPTRACE)
    wait_for(pane.graphReady, 5)
    times = []
    for k in range(RUNS):
        t0 = time.perf_counter()
        span = pane._duration / (2 + k)
        pane.state_plot.setXRange(span * 0.5, span * 1.5, padding=0)
        for thinned in pane.stream.thinned:
            thinned.refresh()
        pane.repaint()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{'  tcptrace zoom (re-thin)':<28} {'':>16}  {statistics.median(times):7.1f} ms")
    pane.graph.setCurrentIndex(GraphKind.STEVENS)


def bench_zwave(details: DetailsPanel, result: FlowResult) -> None:
    convs = biggest(result, ZWAVE.kind)
    size = int(result.conversations.packets[convs[0]])
    t0 = time.perf_counter()
    details.set_capture(ConversationData(result))
    details.setCurrentWidget(details.zwave)
    details.zwave.repaint()
    print(f"{'Z-Wave overview (new file)':<28} {len(result.packets):>8,} frames   "
          f"{(time.perf_counter() - t0) * 1000:7.1f} ms")
    first, _ = time_selection(details, details.zwave, convs, None)
    report("Z-Wave (selection)", size, first, None)
    first, _ = time_selection(details, details.packets, convs, None)
    report("Packets (Z-Wave list)", size, first, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", type=Path, help="TCP capture (default: generated)")
    parser.add_argument("--packets", type=int, default=400_000)
    parser.add_argument("--flows", type=int, default=3)
    parser.add_argument("--zwave-frames", type=int, default=300_000)
    parser.add_argument("--graph-packets", type=int, default=200_000,
                        help="packets of the one connection the stream graphs are timed on")
    parser.add_argument("--graphs-only", action="store_true", help="time the stream graphs only")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    app = application()  # as gui.app.start sets the application up
    collect_on_gui_thread(app)
    details = DetailsPanel()
    details.resize(1300, 700)
    details.show()
    app.processEvents()
    if not args.graphs_only:
        path = args.capture
        if path is None:
            path, _ = synthetic_capture(args.workdir, args.packets, args.flows, seed=5)
        with extract_flows_from_file(path, WIRESHARK) as result:
            print(f"{path.name}: {len(result.packets):,} packets, "
                  f"{len(result.conversations):,} conversations")
            details.set_capture(ConversationData(result))
            bench_tcp(details, result)
            details.set_capture(None)
    one, _ = synthetic_capture(args.workdir, args.graph_packets, 1, seed=7)
    with extract_flows_from_file(one, WIRESHARK) as result:
        print(f"{one.name}: {len(result.packets):,} packets in one TCP connection")
        details.set_capture(ConversationData(result))
        bench_graphs(details, result)
        details.set_capture(None)
    if not args.graphs_only:
        zwave = args.workdir / f"zwave-{args.zwave_frames}.pcapng"
        if not zwave.exists():
            zwave_synth(["--linktype", "297", "--frames", str(args.zwave_frames), "--homes",
                         "1", "--nodes", "2", "--seed", "3", "--out", str(zwave)])
        with extract_flows_from_file(zwave, WIRESHARK) as result:
            print(f"{zwave.name}: {len(result.packets):,} frames, "
                  f"{len(result.conversations):,} conversations")
            bench_zwave(details, result)
            details.set_capture(None)
    details.shutdown()
    details.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
