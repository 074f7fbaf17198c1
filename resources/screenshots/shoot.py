"""Screenshots for the README: the main window on a capture, one conversation selected, one
pane on show, saved as PNG. Run under a virtual screen::

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python resources/screenshots/shoot.py \\
        --stream 2 --pane timeline --out resources/screenshots/main-window.png

With no ``--capture`` it uses the bundled sample.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", type=Path, default=ROOT / "resources" / "sample.pcapng")
    parser.add_argument("--protocol", default="tcp", help="protocol of the stream to select")
    parser.add_argument("--stream", type=int, default=None, help="stream number to select")
    parser.add_argument("--row", type=int, default=None, help="or a conversation id")
    parser.add_argument("--pane", default=None, help="pane to show (timeline, stream, …)")
    parser.add_argument("--size", default="1400x900")
    parser.add_argument("--hide", default="",
                        help="comma-separated column titles to hide (room for the others)")
    parser.add_argument("--show-names", action="store_true", help="View ▸ Show Names on")
    parser.add_argument("--pane-only", action="store_true",
                        help="grab the pane instead of the whole window")
    parser.add_argument("--settle-ms", type=int, default=1500,
                        help="time for the pane's worker to finish before the grab")
    parser.add_argument("--graph", default=None,
                        help="the Timeline's graph: stevens, tcptrace, throughput, rtt, window")
    parser.add_argument("--direction", type=int, default=None,
                        help="the Timeline's direction: 0 both, 1 client → server, 2 server → "
                             "client")
    parser.add_argument("--xrange", default=None,
                        help="the Timeline's time range shown, in seconds: FROM,TO")
    parser.add_argument("--packet", type=int, default=None,
                        help="frame number (1-based) to select in the pane on show")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from engine.protocols import PROTOCOLS
    from gui.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    loop = QEventLoop()
    window.captureLoaded.connect(lambda _data: loop.quit())
    window.open_file(args.capture, sample=args.capture.name == "sample.pcapng")
    loop.exec()
    table = window.details.result.conversations if window.details.result else None
    row = args.row
    if row is None and args.stream is not None and table is not None:
        kind = PROTOCOLS[args.protocol].kind
        row = int(table.rows_with_stream(kind, args.stream)[0])
    hidden = {title.strip() for title in args.hide.split(",") if title.strip()}
    for k, column in enumerate(window.model.columns):
        if column.title in hidden:
            window.view.setColumnHidden(k, True)
    window.show_names_action.setChecked(args.show_names)
    if row is not None:
        window.view.select_conversation(row)
    if args.pane:
        window.details.setCurrentWidget(window.details.panes[args.pane])
    if args.graph or args.direction is not None:
        from gui.panes.timeline.stream_graphs import GraphKind

        timeline = window.details.panes["timeline"]
        if args.graph:
            timeline.graph.setCurrentIndex(GraphKind[args.graph.upper()])
        if args.direction is not None:
            timeline.direction.setCurrentIndex(args.direction)
        if args.xrange:
            QTimer.singleShot(args.settle_ms // 2, lambda: timeline.state_plot.setXRange(
                *(float(v) for v in args.xrange.split(",")), padding=0))
    if args.packet is not None and args.pane:
        pane = window.details.panes[args.pane]
        QTimer.singleShot(args.settle_ms // 2, lambda: pane.select_packet(args.packet - 1))
    QTimer.singleShot(args.settle_ms, loop.quit)
    loop.exec()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shot = window.details.panes[args.pane] if args.pane_only and args.pane else window
    shot.grab().save(str(args.out))
    window.close()
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
