"""``flowscope [FILE...]``: the desktop application's entry point.

With a FILE it opens that capture (several files, or a folder, are one capture merged by time);
with none, the small sample capture from ``resources/`` so a new user sees a populated window at
once. ``--install-desktop`` / ``--uninstall-desktop`` set
up double-click opening for the current user (see :mod:`gui.desktop`) and exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from gui.collector import collect_on_gui_thread
from gui.settings import APPLICATION, ORGANIZATION


class FileOpenRelay(QObject):
    """macOS opens documents with a QFileOpenEvent, not argv; this turns it into a signal.

    Events that arrive before the window exists are kept until :meth:`connect_window`.
    """

    fileOpenRequested = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pending: list[str] = []
        self._connected = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = event.file()
            if path:
                if self._connected:
                    self.fileOpenRequested.emit(path)
                else:
                    self.pending.append(path)
                return True
        return False

    def connect_window(self, open_file: object) -> None:
        self.fileOpenRequested.connect(open_file)
        self._connected = True
        for path in self.pending:
            self.fileOpenRequested.emit(path)
        self.pending.clear()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowscope",
        description="Browse the conversations of a packet capture (pcap, pcapng, gzip).")
    parser.add_argument("file", nargs="*", metavar="FILE",
                        help="capture to open (default: the sample capture); several files, or "
                             "a folder of them, are read as one capture merged by time")
    parser.add_argument("--stream", type=int, metavar="N",
                        help="select Wireshark's tcp.stream / udp.stream N and open its stream "
                             "(as 'flowscope-cli query' on an index reports it)")
    parser.add_argument("--protocol", choices=("tcp", "udp"),
                        help="which stream --stream means (default: TCP if it has one)")
    parser.add_argument("--index", metavar="DATASET",
                        help="open a conversation index (a folder flowscope-cli index wrote)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--install-desktop", action="store_true",
                       help="make double-clicking .pcap/.pcapng files open Flowscope (this user)")
    group.add_argument("--uninstall-desktop", action="store_true",
                       help="undo --install-desktop")
    return parser


def application(qt_args: Sequence[str] = ()) -> QApplication:
    """The running QApplication (created with Flowscope's names if there is none yet)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(["flowscope", *qt_args])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Flowscope")
    app.setDesktopFileName("flowscope")
    return app


def start(argv: Sequence[str] | None = None) -> tuple[object, FileOpenRelay]:
    """Create the window and start opening the file named in ``argv`` (or the sample).

    Returns the window and the macOS file-open relay; :func:`main` runs the event loop.
    """
    from gui.resource_files import sample_capture
    from gui.window import MainWindow, app_icon

    parser = build_parser()
    args, qt_args = parser.parse_known_args(argv)
    if args.stream is not None and not args.file:
        parser.error("--stream needs the capture FILE it is a stream of")
    app = application(qt_args)
    app.setWindowIcon(app_icon())
    relay = FileOpenRelay(app)
    app.installEventFilter(relay)
    window = MainWindow()
    collect_on_gui_thread(app)  # start-up is done: what it made is frozen
    window.show()
    if args.index:
        window.index_mode.open_index(args.index)
    files = [Path(f) for f in args.file]
    if files and args.stream is not None:
        from .index.opening import stream_chooser

        what = f"{(args.protocol or 'TCP or UDP').upper()} stream {args.stream}"
        window.index_mode.opener.open(files, stream_chooser(args.stream, args.protocol),
                                      activate=True, what=what)
    elif files:
        window.open_file(files[0] if len(files) == 1 else files)
    elif not relay.pending and not args.index:
        try:
            window.open_file(sample_capture(), sample=True)
        except FileNotFoundError as exc:
            window.statusBar().showMessage(str(exc))
    relay.connect_window(window.open_file)
    return window, relay


def main(argv: Sequence[str] | None = None) -> int:
    """The ``flowscope`` gui-script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args, _ = build_parser().parse_known_args(argv)
    if args.install_desktop or args.uninstall_desktop:
        from gui import desktop

        lines = desktop.install() if args.install_desktop else desktop.uninstall()
        for line in lines:
            print(line)
        return 0
    app = application()
    _window, _relay = start(argv)  # keep references for the life of the loop
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
