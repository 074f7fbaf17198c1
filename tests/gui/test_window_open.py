"""Opening captures in the window: dialog, drop, replace, errors, truncation and cancelling."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from engine import FlowConfig
from gui import loading as loader
from gui import window as window_module
from gui.recent import recent_captures
from tests.conftest import oracle
from tests.gui.conftest import CUT_SHORT, INVALID, NMAP, WIKIPEDIA, load_window

SMALL_CHUNKS = FlowConfig(udp_timeout=None, icmp_timeout=None, chunk_bytes=1 << 16)


def _tcp_udp_count(path: Path) -> int:
    expected = oracle(path)
    return len(expected["tcp"]) + len(expected["udp"])


def test_open_dialog_code_path(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def fake_dialog(_parent: object, caption: str, _start: str, filters: str
                    ) -> tuple[list[str], str]:
        asked.append(filters)
        return [str(WIKIPEDIA)], ""

    monkeypatch.setattr(window_module.QFileDialog, "getOpenFileNames", fake_dialog)
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        window.open_action.trigger()
    assert "*.pcapng" in asked[0] and "*.pcap " in asked[0] and "*.gz" in asked[0]
    assert window.current_path == WIKIPEDIA
    assert window.model.rowCount() == 34
    assert _tcp_udp_count(WIKIPEDIA) == 34
    assert window.windowTitle() == f"{WIKIPEDIA.name} — Flowscope"
    assert recent_captures() == [(WIKIPEDIA.resolve(),)]


def test_open_dialog_cancelled_changes_nothing(window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(window_module.QFileDialog, "getOpenFileNames",
                        lambda *_args: ([], ""))
    window.open_dialog()
    assert not window.loading and window.current_path is None


def _drag_events(paths: list[Path]) -> tuple[QDragEnterEvent, QDropEvent, QMimeData]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    return enter, drop, mime


def test_drop_a_file_on_the_window(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    enter, drop, _mime = _drag_events([NMAP])
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        QApplication.sendEvent(window, drop)
    assert drop.isAccepted()
    assert window.current_path == NMAP
    assert window.model.rowCount() == len(window.conversations.result.conversations)
    assert _tcp_udp_count(NMAP) == 18


def test_dropping_text_is_refused(window) -> None:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setText("not a file")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_second_file_replaces_the_first(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    first = load_window(qtbot, window, WIKIPEDIA)
    second = load_window(qtbot, window, NMAP)
    assert window.conversations is second
    assert window.model.rowCount() == len(second)
    assert "replaces zeek-wikipedia-many-conns.pcap" in window.statusBar().currentMessage()
    with pytest.raises(ValueError, match="closed"):
        first.result.packet_bytes(0)  # the first capture's file was released


def test_unreadable_file_shows_the_engine_sentence_and_keeps_the_window(  # type: ignore[no-untyped-def]
        qtbot, window, message_boxes) -> None:
    load_window(qtbot, window, WIKIPEDIA)
    with qtbot.waitSignal(window.loadFailed, timeout=30_000):
        window.open_file(INVALID)
    assert len(message_boxes) == 1
    title, text = message_boxes[0]
    assert title == "Cannot open capture"
    assert "pcap major version 1 is not supported" in text and "Traceback" not in text
    # the previous capture is still shown and usable
    assert window.current_path == WIKIPEDIA and window.model.rowCount() == 34
    assert not window.loading and not window.progress.isVisibleTo(window)
    window.filter_bar.set_text("tcp")
    assert window.model.rowCount() == 10
    load_window(qtbot, window, NMAP)
    assert window.current_path == NMAP


def test_missing_file_error(qtbot, window, message_boxes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.loadFailed, timeout=30_000):
        window.open_file(tmp_path / "gone.pcap")
    assert "does not exist" in message_boxes[0][1]
    assert window.conversations is None and "File ▸ Open" in window.view.empty_text


def test_truncated_capture_shows_its_conversations_and_a_warning(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, window, CUT_SHORT)
    assert window.banner.isVisibleTo(window)
    text = window.banner.text.text()
    assert "cut short in the middle of packet 2" in text
    assert "1 of its 16 bytes are present" in text
    assert data.total_packets == 1
    # a clean capture afterwards hides the warning
    load_window(qtbot, window, WIKIPEDIA)
    assert not window.banner.isVisibleTo(window)


@pytest.fixture
def gated_engine(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The engine pauses after its first progress report until the test opens the gate."""
    gate = threading.Event()
    real = loader.extract_flows_from_file

    def gated(path, config, progress, cancel, on_snapshot):  # type: ignore[no-untyped-def]
        def report(done: int, total: int, packets: int) -> None:
            progress(done, total, packets)
            gate.wait(30)
        return real(path, config, progress=report, cancel=cancel, on_snapshot=on_snapshot)

    monkeypatch.setattr(loader, "extract_flows_from_file", gated)
    yield gate
    gate.set()


def test_progress_then_cancel_keeps_the_previous_capture(  # type: ignore[no-untyped-def]
        qtbot, window, generated_capture, gated_engine, monkeypatch) -> None:
    gated_engine.set()
    load_window(qtbot, window, WIKIPEDIA)
    gated_engine.clear()
    monkeypatch.setattr(window, "flow_config", lambda: SMALL_CHUNKS)
    job = window.open_file(generated_capture)
    with qtbot.waitSignal(job.progress, timeout=30_000):
        pass
    assert window.loading and window.progress.isVisibleTo(window)
    assert "packets" in window.progress.label.text()
    assert "loading generated.pcap" in window.windowTitle()
    with qtbot.waitSignal(window.loadCancelled, timeout=30_000):
        qtbot.mouseClick(window.progress.button, Qt.MouseButton.LeftButton)
        gated_engine.set()
    assert window.current_path == WIKIPEDIA and window.model.rowCount() == 34
    assert "cancelled; still showing zeek-wikipedia" in window.statusBar().currentMessage()
    assert not window.progress.isVisibleTo(window)


# showing a window on the offscreen platform logs this harmless notice (needed for shortcuts)
@pytest.mark.qt_log_ignore("does not support propagateSizeHints")
def test_escape_cancels_a_load(qtbot, window, generated_capture, gated_engine,  # type: ignore[no-untyped-def]
                               monkeypatch) -> None:
    monkeypatch.setattr(window, "flow_config", lambda: SMALL_CHUNKS)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    job = window.open_file(generated_capture)
    with qtbot.waitSignal(job.progress, timeout=30_000):
        pass
    with qtbot.waitSignal(window.loadCancelled, timeout=30_000):
        qtbot.keyClick(window.view, Qt.Key.Key_Escape)
        assert job.is_cancelled
        gated_engine.set()
    assert window.conversations is None and not window.loading


def test_opening_during_a_load_supersedes_it(qtbot, window, generated_capture,  # type: ignore[no-untyped-def]
                                             gated_engine, monkeypatch) -> None:
    monkeypatch.setattr(window, "flow_config", lambda: SMALL_CHUNKS)
    slow = window.open_file(generated_capture)
    with qtbot.waitSignal(slow.progress, timeout=30_000):
        pass
    gated_engine.set()
    data = load_window(qtbot, window, WIKIPEDIA)
    assert slow.is_cancelled
    qtbot.waitUntil(lambda: slow.is_done, timeout=30_000)
    assert window.conversations is data and window.current_path == WIKIPEDIA


def test_a_closed_window_holds_none_of_its_capture(qtbot) -> None:  # type: ignore[no-untyped-def]
    # the table, the filter bar and the panes all let go: a window closed after a big capture
    # kept its packet columns (hundreds of MB) alive until the interpreter ended
    w = window_module.MainWindow()
    data = load_window(qtbot, w, WIKIPEDIA)
    w.view.selectRow(0)
    result = weakref.ref(data.result)
    packets = weakref.ref(data.result.packets)
    del data
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents()  # (the stopped jobs' last signals, then the delete)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    del w
    gc.collect()
    assert result() is None and packets() is None


def test_the_previous_capture_is_let_go_when_another_replaces_it(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    # every pane that showed a conversation of the first capture lets go of it, not only the
    # one on top (at 20M packets a capture held this way is hundreds of MB)
    data = load_window(qtbot, window, WIKIPEDIA)
    window.view.selectRow(0)
    for pane in window.details.panes.values():
        if window.details.indexOf(pane) >= 0:
            window.details.setCurrentWidget(pane)
    first = weakref.ref(data.result)
    del data
    load_window(qtbot, window, NMAP)
    assert window.runner.shutdown()  # (the first capture's pane jobs are done: let go)
    QCoreApplication.sendPostedEvents()
    gc.collect()
    assert first() is None


def test_the_recent_list_is_written_off_the_gui_thread(qtbot, monkeypatch, private_settings,  # type: ignore[no-untyped-def]
                                                       window) -> None:
    """QSettings writes atomically, with an fsync that held the GUI thread 250-320 ms at the
    end of a big load: the list is written on the writer's thread (the window starts it:
    starting a thread per write waited 320 ms there too), into a file of its own (the
    QSettings of one file share a lock through a write), in the order the writes were asked
    for, and read back from memory meanwhile."""
    from PySide6.QtCore import QSettings

    from gui import recent

    writers: list[threading.Thread] = []
    real_write = recent._write

    def write(path: str, entries: list[str]) -> None:
        writers.append(threading.current_thread())
        real_write(path, entries)

    monkeypatch.setattr(recent, "_write", write)
    recent.add_recent(WIKIPEDIA)
    recent.add_recent(CUT_SHORT)
    newest_first = [(CUT_SHORT.resolve(),), (WIKIPEDIA.resolve(),)]
    assert recent.recent_captures() == newest_first
    recent.wait_for_writes()
    assert recent._writer is not None  # (the window started it)
    assert writers == [recent._writer._thread] * 2  # the one writer, not a thread a write
    assert recent.list_file().startswith(str(private_settings))
    on_disk = QSettings(recent.list_file(), QSettings.Format.IniFormat)
    assert on_disk.value(recent.KEY) == [str(p) for (p,) in newest_first]
    assert not QSettings(recent.settings().fileName(),
                         QSettings.Format.IniFormat).contains(recent.KEY)
    recent.clear_recent()
    assert recent.recent_captures() == []
    recent.wait_for_writes()
    recent._latest = None  # (as a new process finds it)
    assert recent.recent_captures() == []


def test_a_recent_list_from_the_settings_file_is_read_until_the_first_write() -> None:
    """Before the list had a file of its own it was kept in the settings file."""
    from gui import recent

    recent.settings().setValue(recent.KEY, [str(NMAP.resolve())])
    recent._latest = None
    assert recent.recent_captures() == [(NMAP.resolve(),)]
    recent.add_recent(WIKIPEDIA)
    recent.wait_for_writes()
    recent._latest = None
    assert recent.recent_captures() == [(WIKIPEDIA.resolve(),), (NMAP.resolve(),)]


def test_the_recent_menu_with_no_captures(window) -> None:  # type: ignore[no-untyped-def]
    """An empty list shows its placeholder and a disabled Clear Menu (it raised before)."""
    window.recent_menu.aboutToShow.emit()
    texts = {a.text(): a.isEnabled() for a in window.recent_menu.actions() if a.text()}
    assert texts == {"No recent captures": False, "Clear Menu": False}
