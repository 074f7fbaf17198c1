"""Several files as one capture in the window: the Open dialog's multi-select, a dropped set, a
folder, argv, Open Recent, the title and status, warnings by file, and the packets pane saying
which file each packet came from."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from engine import WIRESHARK, Kind, extract_flows_from_file, extract_flows_from_files
from engine.export.conversations import conversation_records
from engine.packet_notes import conversation_packets
from gui import app as app_module
from gui import window as window_module
from gui.panes.packets.model import NUMBER, PacketModel
from gui.panes.packets.pane import PacketsPane
from gui.recent import add_recent, recent_captures
from tests.engine.merging import mergecap, records_of, split, traffic, write, write_set
from tests.gui.conftest import WIKIPEDIA

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def capture_set(tmp_path: Path) -> tuple[list[Path], Path]:
    """The wikipedia capture in three files taken in turns, and their mergecap."""
    files = split(records_of(WIKIPEDIA), "alternate", 3)
    return write_set(tmp_path / "set", files), write(tmp_path / "merged.pcap", mergecap(files))


def _rows(result) -> list[dict]:  # type: ignore[no-untyped-def]
    return conversation_records(result)


def _same_as_merged(window, merged: Path) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(merged, WIRESHARK) as want:
        assert _rows(window.conversations.result) == _rows(want)
    assert window.model.rowCount() == len(window.conversations.result)


def test_open_dialog_takes_several_files(qtbot, window, monkeypatch,  # type: ignore[no-untyped-def]
                                         capture_set) -> None:
    paths, merged = capture_set
    monkeypatch.setattr(window_module.QFileDialog, "getOpenFileNames",
                        lambda *_args: ([str(p) for p in paths], ""))
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        window.open_action.trigger()
    _same_as_merged(window, merged)
    assert window.current_paths == paths and window.current_path is None
    name = "3 files: part00.pcap, part01.pcap, part02.pcap"
    assert window.windowTitle() == f"{name} — Flowscope"
    assert window.statusBar().currentMessage().startswith(f"Opened {name} — 34 conversations")
    assert recent_captures() == [tuple(p.resolve() for p in paths)]


def test_a_dropped_set_is_one_capture(qtbot, window, capture_set) -> None:  # type: ignore[no-untyped-def]
    paths, merged = capture_set
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        QApplication.sendEvent(window, drop)
    _same_as_merged(window, merged)
    assert window.current_paths == paths


def test_open_folder(qtbot, window, monkeypatch, capture_set) -> None:  # type: ignore[no-untyped-def]
    paths, merged = capture_set
    folder = paths[0].parent
    monkeypatch.setattr(window_module.QFileDialog, "getExistingDirectory",
                        lambda *_args: str(folder))
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        window.open_folder_action.trigger()
    _same_as_merged(window, merged)
    assert window.current_path == folder
    assert window.conversations.result.capture.files == paths
    assert window.windowTitle().startswith("3 files: part00.pcap, ")
    assert recent_captures() == [(folder.resolve(),)]


def test_argv_with_several_files(qtbot, capture_set) -> None:  # type: ignore[no-untyped-def]
    paths, merged = capture_set
    window, relay = app_module.start([str(p) for p in paths])
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.conversations is not None, timeout=30_000)
        _same_as_merged(window, merged)
        assert window.current_paths == paths
    finally:
        QApplication.instance().removeEventFilter(relay)
        relay.deleteLater()


def test_argv_with_several_files_and_a_stream(qtbot, capture_set) -> None:  # type: ignore[no-untyped-def]
    paths, _ = capture_set
    window, relay = app_module.start([*map(str, paths), "--stream", "2", "--protocol", "udp"])
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.view.selected_id >= 0, timeout=30_000)
        table = window.conversations.result.conversations
        chosen = window.view.selected_id
        assert int(table.stream[chosen]) == 2 and int(table.kind[chosen]) == Kind.UDP
    finally:
        QApplication.instance().removeEventFilter(relay)
        relay.deleteLater()


def test_open_recent_reopens_a_set(qtbot, window, capture_set) -> None:  # type: ignore[no-untyped-def]
    paths, merged = capture_set
    add_recent(WIKIPEDIA)
    add_recent(paths)
    window.recent_menu.aboutToShow.emit()
    actions = [a for a in window.recent_menu.actions() if a.text().startswith("&")]
    assert [a.text() for a in actions] == [
        "&1  3 files: part00.pcap, part01.pcap, part02.pcap", f"&2  {WIKIPEDIA.name}"]
    assert actions[0].toolTip() == "\n".join(str(p.resolve()) for p in paths)
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        actions[0].trigger()
    _same_as_merged(window, merged)
    paths[1].unlink()
    window.recent_menu.aboutToShow.emit()
    first = next(a for a in window.recent_menu.actions() if a.text().startswith("&1"))
    assert not first.isEnabled()  # a file of the set is gone


def test_a_damaged_file_of_a_set_warns_by_name(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    records = traffic(random.Random(1), conversations=8, packets=400)
    paths = write_set(tmp_path, split(records, "ring", 3))
    paths[2].write_bytes(paths[2].read_bytes()[:-9])
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        window.open_file(paths)
    assert window.banner.isVisibleTo(window)
    assert "part02.pcap is cut short" in window.banner.text.text()
    assert window.conversations.result.capture.packets == len(records) - 1


def test_split_idle_reloads_the_whole_set(qtbot, window, capture_set) -> None:  # type: ignore[no-untyped-def]
    paths, _ = capture_set
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        window.open_file(paths)
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        window.split_idle_action.setChecked(True)
    assert window.current_paths == paths
    assert window.conversations.result.capture.files == paths


def test_packets_pane_says_which_file(qtbot, qtmodeltester, capture_set) -> None:  # type: ignore[no-untyped-def]
    paths, _ = capture_set
    pane = PacketsPane()
    qtbot.addWidget(pane)
    with extract_flows_from_files(paths, WIRESHARK) as result:
        pane.show_conversation(result, 0)
        model: PacketModel = pane.model
        qtmodeltester.check(model)
        packets = conversation_packets(result, 0).index
        # the set was dealt in turns: capture packet k is packet k // 3 + 1 of file k % 3
        tips = [model.data(model.index(r, NUMBER), Qt.ItemDataRole.ToolTipRole)
                for r in range(model.rowCount())]
        assert tips == [f"Packet {k // 3 + 1} of part{k % 3:02d}.pcap" for k in packets.tolist()]
        files, numbers = result.packet_origins(np.arange(len(result.packets)))
        assert files.tolist() == [k % 3 for k in range(len(result.packets))]
        assert numbers.tolist() == [k // 3 + 1 for k in range(len(result.packets))]
    pane.show_conversation(None, -1)
