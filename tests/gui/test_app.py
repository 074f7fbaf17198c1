"""Starting the application: argv, the sample capture, macOS file-open events, the CLI flags."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QFileOpenEvent

from engine import WIRESHARK, extract_flows_from_file
from engine.export.conversations import conversation_records
from gui import app as app_module
from gui import desktop
from gui.recent import recent_captures
from gui.resource_files import sample_capture
from tests.gui.conftest import NMAP, WIKIPEDIA


@pytest.fixture
def started(qtbot):  # type: ignore[no-untyped-def]
    """``app.start(argv)``, with the window and the file-open relay cleaned up afterwards."""
    made = []

    def start(argv: list[str]):  # type: ignore[no-untyped-def]
        window, relay = app_module.start(argv)
        qtbot.addWidget(window)
        made.append(relay)
        return window, relay

    yield start
    instance = QCoreApplication.instance()
    for relay in made:
        instance.removeEventFilter(relay)
        relay.deleteLater()


# app.start shows the window; the offscreen platform logs this harmless notice when it does
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def test_open_via_argv(qtbot, started) -> None:  # type: ignore[no-untyped-def]
    window, _relay = started([str(NMAP)])
    assert window.loading and window.isVisible()
    qtbot.waitSignal(window.captureLoaded, timeout=30_000).wait()
    assert window.current_path == NMAP
    assert window.model.rowCount() == len(window.conversations.result.conversations) > 0
    assert recent_captures() == [(NMAP.resolve(),)]


def test_no_file_opens_the_sample_capture(qtbot, started) -> None:  # type: ignore[no-untyped-def]
    window, _relay = started([])
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000) as loaded:
        pass
    data = loaded.args[0]
    assert window.current_path == sample_capture()
    assert window.windowTitle() == "Sample capture — Flowscope"
    assert {p.name for p in data.protocols} >= {"tcp", "udp", "zwave"}
    assert "sample capture" in window.statusBar().currentMessage()
    assert recent_captures() == []  # the sample is not a recent file of the user's


def test_sample_is_the_documented_real_capture_plus_zwave() -> None:
    """The sample holds every frame of the real wikipedia capture (so its IP conversations are
    that capture's) and generated Z-Wave frames on a second interface."""
    def ip_records(path):  # type: ignore[no-untyped-def]
        with extract_flows_from_file(path, WIRESHARK) as result:
            return [r for r in conversation_records(result) if r["protocol"] != "zwave"], \
                sum(1 for c in result if c.protocol == "zwave")
    sample, zwave = ip_records(sample_capture())
    alone, none = ip_records(WIKIPEDIA)
    for rec in sample + alone:
        del rec["id"], rec["relative_start"]
    assert sample == alone and zwave > 20 and none == 0
    readme = (sample_capture().parent / "README.md").read_text()
    assert "zeek-wikipedia-many-conns.pcap" in readme and "BSD-3-Clause" in readme
    assert "make_sample.py" in readme


def test_macos_file_open_event_opens_the_file(qtbot, started) -> None:  # type: ignore[no-untyped-def]
    window, _relay = started([str(WIKIPEDIA)])
    qtbot.waitSignal(window.captureLoaded, timeout=30_000).wait()
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        QCoreApplication.sendEvent(QCoreApplication.instance(), QFileOpenEvent(str(NMAP)))
    assert window.current_path == NMAP


def test_file_open_events_before_the_window_are_kept(qtbot) -> None:  # type: ignore[no-untyped-def]
    relay = app_module.FileOpenRelay()
    assert relay.eventFilter(relay, QFileOpenEvent(str(NMAP)))
    assert relay.pending == [str(NMAP)]
    opened: list[str] = []
    relay.connect_window(opened.append)
    assert opened == [str(NMAP)] and relay.pending == []


def test_desktop_flags_run_without_a_window(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    monkeypatch.setattr(desktop, "install", lambda: calls.append("install") or ["installed x"])
    monkeypatch.setattr(desktop, "uninstall", lambda: calls.append("uninstall") or ["removed x"])
    assert app_module.main(["--install-desktop"]) == 0
    assert app_module.main(["--uninstall-desktop"]) == 0
    assert calls == ["install", "uninstall"]
    assert capsys.readouterr().out == "installed x\nremoved x\n"


def test_both_desktop_flags_are_refused() -> None:
    with pytest.raises(SystemExit):
        app_module.build_parser().parse_args(["--install-desktop", "--uninstall-desktop"])
