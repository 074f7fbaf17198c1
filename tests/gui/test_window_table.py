"""The window around the table: selection signal, copy, export, filter bar, columns, options."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from engine.export.conversations import csv_text, to_json_document
from gui import window as window_module
from gui.settings import read_list
from gui.table.columns import default_hidden
from gui.table.export import ExportConversationsDialog
from gui.window import EMPTY_NO_CAPTURE, MainWindow
from tests.conftest import oracle
from tests.gui.conftest import WIKIPEDIA, load_window


@pytest.fixture
def loaded(qtbot, window):  # type: ignore[no-untyped-def]
    load_window(qtbot, window, WIKIPEDIA)
    return window


def _select_rows(window: MainWindow, rows: list[int]) -> None:
    view = window.view
    view.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in rows:
        view.selectionModel().select(window.model.index(row, 0), flags)
    view.selectionModel().setCurrentIndex(window.model.index(rows[-1], 0), flags)


def test_selecting_a_row_publishes_its_conversation(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    w = loaded
    w.view.sortByColumn(w.model.column_index("bytes"), Qt.SortOrder.DescendingOrder)
    biggest = int(np.argmax(w.conversations.bytes))
    with qtbot.waitSignal(w.conversationSelected, timeout=1000) as selected:
        w.view.selectRow(0)
    assert selected.args == [biggest]
    # re-sorting moves the row but the same conversation stays selected: no new signal
    with qtbot.assertNotEmitted(w.conversationSelected):
        w.view.sortByColumn(w.model.column_index("start"), Qt.SortOrder.AscendingOrder)
    assert w.view.selected_id == biggest
    assert w.model.conversation_id(w.view.currentIndex().row()) == biggest
    # filtering it away publishes "nothing selected"
    with qtbot.waitSignal(w.conversationSelected, timeout=1000) as cleared:
        w.filter_bar.set_text("udp")
    assert cleared.args == [-1]


# showing a window on the offscreen platform logs this harmless notice (clicks need a layout)
@pytest.mark.qt_log_ignore("does not support propagateSizeHints")
def test_double_click_opens_nothing_yet(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    w = loaded
    w.show()
    qtbot.waitExposed(w)
    before = set(QApplication.topLevelWidgets())
    index = w.model.index(3, 1)
    rect = w.view.visualRect(index)
    with qtbot.waitSignal(w.conversationActivated, timeout=1000) as activated:
        # a real double-click: the first press/release, then the double-click event
        qtbot.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(w.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert activated.args == [w.model.conversation_id(3)]
    assert set(QApplication.topLevelWidgets()) == before


def test_copy_gives_the_engines_csv_of_the_selected_rows(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    w = loaded
    w.view.sortByColumn(w.model.column_index("bytes"), Qt.SortOrder.DescendingOrder)
    _select_rows(w, [0, 2, 5])
    ids = w.model.ids[[0, 2, 5]]
    w.copy_action.trigger()
    text = QGuiApplication.clipboard().text()
    assert text == csv_text(w.conversations.result, ids)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["id"]) for r in rows] == ids.tolist()
    byte_counts = [int(r["bytes"]) for r in rows]
    assert byte_counts == sorted(byte_counts, reverse=True)
    # the figures are tshark's
    expected = {(c["a"]["address"], c["a"]["port"], c["b"]["address"], c["b"]["port"]): c
                for proto in ("tcp", "udp") for c in oracle(WIKIPEDIA)[proto]}
    for r in rows:
        conv = expected[(r["a_address"], int(r["a_port"]), r["b_address"], int(r["b_port"]))]
        assert int(r["bytes_a_to_b"]) == conv["bytes_a_to_b"]
        assert int(r["packets_b_to_a"]) == conv["packets_b_to_a"]
    assert "Copied 3 conversations" in w.statusBar().currentMessage()


def test_copy_with_nothing_selected_says_so(loaded) -> None:  # type: ignore[no-untyped-def]
    QGuiApplication.clipboard().setText("untouched")
    loaded.view.clearSelection()
    loaded.copy_selection()
    assert QGuiApplication.clipboard().text() == "untouched"
    assert "Select conversations" in loaded.statusBar().currentMessage()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_writes_the_shown_rows_with_the_engines_fields(qtbot, loaded, tmp_path, fmt) -> None:  # type: ignore[no-untyped-def]
    w = loaded
    w.filter_bar.set_text("tcp")
    w.view.sortByColumn(w.model.column_index("duration"), Qt.SortOrder.DescendingOrder)
    ids = w.model.ids.copy()
    assert ids.size == 10
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / f"out.{fmt}"
    with qtbot.waitSignal(w.taskFinished, timeout=30_000):
        w.export_to(target, fmt, "shown")
    written = target.read_text(encoding="utf-8")
    if fmt == "csv":
        assert written == csv_text(w.conversations.result, ids)
    else:
        document = json.loads(written)
        assert document == json.loads(json.dumps(to_json_document(w.conversations.result, ids)))
        assert [c["id"] for c in document["conversations"]] == ids.tolist()
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left


def test_a_json_export_written_by_two_processes_is_the_one_process_text(  # type: ignore[no-untyped-def]
        qtbot, loaded, tmp_path, monkeypatch) -> None:
    """A long list's later half is written by a forked copy of the GUI process (from the
    export's worker thread, into the atomic export's temporary file): the same bytes."""
    from engine.export import conversations as conversations_export

    (tmp_path / "out").mkdir()
    alone = tmp_path / "out" / "alone.json"
    with qtbot.waitSignal(loaded.taskFinished, timeout=30_000):
        loaded.export_to(alone, "json", "all")
    monkeypatch.setattr(conversations_export, "SHARED_WRITE", 2)
    shared = tmp_path / "out" / "shared.json"
    with qtbot.waitSignal(loaded.taskFinished, timeout=30_000):
        loaded.export_to(shared, "json", "all")
    assert shared.read_bytes() == alone.read_bytes()
    assert sorted(p.name for p in alone.parent.iterdir()) == ["alone.json", "shared.json"]


def test_export_all_ignores_the_filter(qtbot, loaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    loaded.filter_bar.set_text("udp")
    with qtbot.waitSignal(loaded.taskFinished, timeout=30_000):
        loaded.export_to(tmp_path / "all.csv", "csv", "all")
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 1 + 34


def test_export_dialog_choices(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = ExportConversationsDialog(total=34, shown=10, selected=0)
    qtbot.addWidget(dialog)
    assert dialog.scope == "shown" and dialog.format == "csv"
    buttons = {b.objectName(): b for b in dialog.rows_group.buttons()}
    assert not buttons["selected"].isEnabled()
    assert "(10)" in buttons["shown"].text() and "(34)" in buttons["all"].text()


def test_filter_bar_filters_counts_and_flags_bad_terms(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    w = loaded
    assert w.counts.text() == "34 of 34 conversations · 126 of 136 packets"
    w.filter_bar.set_text("141.142.2.2 port 53")
    shown = w.model.ids.copy()
    expected = [c.id for c in w.conversations.result.conversations
                if "141.142.2.2" in (c.a[0], c.b[0]) and 53 in (c.a[1], c.b[1])]
    assert sorted(shown.tolist()) == expected and len(expected) == 14
    packets = sum(w.conversations.result.conversations[i].packets for i in expected)
    assert w.counts.text() == f"14 of 34 conversations · {packets} of 136 packets"
    assert w.filter_bar.edit.styleSheet() == ""
    # an unknown term: red box, the hint in the tooltip and status bar, table unchanged
    w.filter_bar.set_text("141.142.2.2 prot 53")
    assert "#d93025" in w.filter_bar.edit.styleSheet()
    assert "Unknown filter term “prot”" in w.filter_bar.edit.toolTip()
    assert "Filter not applied" in w.statusBar().currentMessage()
    assert np.array_equal(w.model.ids, shown)
    w.filter_bar.set_text("")
    assert w.model.rowCount() == 34 and w.filter_bar.edit.styleSheet() == ""


def test_typing_applies_after_a_pause(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(loaded.filter_bar.edit, "tcp")
    qtbot.waitUntil(lambda: loaded.model.rowCount() == 10, timeout=2000)


def test_protocol_buttons_show_counts_and_toggle(loaded) -> None:  # type: ignore[no-untyped-def]
    buttons = loaded.filter_bar.protocol_buttons()
    assert [b.text() for b in buttons.values()] == ["UDP  24", "TCP  10"]
    buttons["udp"].setChecked(False)
    assert loaded.model.rowCount() == 10
    assert set(loaded.conversations.protocol[loaded.model.ids]) == {"tcp"}
    loaded.filter_bar.set_text("port 53")  # AND with the text filter
    assert loaded.model.rowCount() == 0
    assert loaded.view.empty_text == "No conversation matches the filter."


def test_column_visibility_is_remembered(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    w = loaded
    k = w.model.column_index("stream")
    w.view.fill_column_menu(w.columns_menu)
    action = next(a for a in w.columns_menu.actions() if a.text() == "Stream")
    assert action.isCheckable() and action.isChecked()
    action.setChecked(False)
    assert w.view.isColumnHidden(k)
    assert read_list("table/hiddenColumns") == ["stream"]
    other = MainWindow()
    qtbot.addWidget(other)
    load_window(qtbot, other, WIKIPEDIA)
    assert other.view.isColumnHidden(other.model.column_index("stream"))
    assert not other.view.isColumnHidden(other.model.column_index("bytes"))


def test_absolute_start_toggle(loaded) -> None:  # type: ignore[no-untyped-def]
    k = loaded.model.column_index("start")
    loaded.absolute_time_action.setChecked(True)
    assert loaded.model.headerData(k, Qt.Orientation.Horizontal) == "Abs Start"
    assert loaded.model.data(loaded.model.index(0, k)).startswith("2011-03-18")
    loaded.absolute_time_action.setChecked(False)
    assert loaded.model.data(loaded.model.index(0, k)) == "0.000000"


def test_split_idle_toggle_reloads_with_timeouts(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    assert loaded.flow_config().udp_timeout is None  # Wireshark's semantics by default
    with qtbot.waitSignal(loaded.captureLoaded, timeout=30_000):
        loaded.split_idle_action.setChecked(True)
    assert loaded.conversations.result.config.udp_timeout == 120.0
    assert loaded.current_path == WIKIPEDIA


def test_recent_menu_reopens(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    loaded.recent_menu.aboutToShow.emit()
    entries = [a for a in loaded.recent_menu.actions() if a.toolTip() == str(WIKIPEDIA.resolve())]
    assert len(entries) == 1 and entries[0].isEnabled()
    with qtbot.waitSignal(loaded.captureLoaded, timeout=30_000):
        entries[0].trigger()


def test_empty_window_invites_opening_a_file(window) -> None:  # type: ignore[no-untyped-def]
    assert window.view.empty_text == EMPTY_NO_CAPTURE
    assert window.counts.text() == "No capture"
    assert not window.copy_action.isEnabled() and not window.export_action.isEnabled()
    assert window.windowTitle() == "Flowscope"


def test_detail_columns_start_hidden_and_can_be_shown(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    w = loaded
    shown_keys = [c.key for k, c in enumerate(w.model.columns) if not w.view.isColumnHidden(k)]
    for key in shown_keys:
        assert key not in default_hidden()
    defaults = [c.key for c in w.model.columns if c.key in default_hidden()]
    if not defaults:
        pytest.skip("no default-hidden analysis column in this capture")
    key = defaults[0]
    w.view.set_column_visible(key, True)
    assert not w.view.isColumnHidden(w.model.column_index(key))
    assert read_list("table/shownColumns") == [key]
    other = MainWindow()
    qtbot.addWidget(other)
    load_window(qtbot, other, WIKIPEDIA)
    assert not other.view.isColumnHidden(other.model.column_index(key))


def test_a_column_shown_later_is_sized_as_one_shown_from_the_start(loaded) -> None:  # type: ignore[no-untyped-def]
    """Hidden columns are not measured at each refresh of the table: one is sized when shown,
    to the width Resize Columns gives it."""
    w = loaded
    hidden = [k for k in range(w.model.columnCount()) if w.view.isColumnHidden(k)]
    assert hidden
    widths = {}
    for k in hidden[:6]:
        w.view.set_column_visible(w.model.columns[k].key, True)
        widths[k] = w.view.columnWidth(k)
    w.view.fit_columns()
    assert widths == {k: w.view.columnWidth(k) for k in widths}
    head = w.view.horizontalHeader().fontMetrics()
    for k in widths:
        title = w.model.columns[k].header(w.model.display_options).split("\n")[0]
        assert widths[k] > head.horizontalAdvance(title)


def test_large_copies_run_in_the_background(qtbot, loaded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(window_module, "COPY_IN_BACKGROUND", 1)
    _select_rows(loaded, [1, 3])
    ids = loaded.model.ids[[1, 3]]
    QGuiApplication.clipboard().setText("")
    with qtbot.waitSignal(loaded.taskFinished, timeout=30_000):
        loaded.copy_selection()
    assert QGuiApplication.clipboard().text() == csv_text(loaded.conversations.result, ids)


def test_export_menu_asks_rows_format_and_file(qtbot, loaded, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ExportConversationsDialog, "exec",
                        lambda self: ExportConversationsDialog.DialogCode.Accepted)
    asked: list[tuple[str, str]] = []

    def ask(_parent: object, fmt: str, suggested):  # type: ignore[no-untyped-def]
        asked.append((fmt, suggested.name))
        return tmp_path / "chosen.csv"

    monkeypatch.setattr(window_module, "ask_export_path", ask)
    with qtbot.waitSignal(loaded.taskFinished, timeout=30_000):
        loaded.export_action.trigger()
    assert asked == [("csv", "zeek-wikipedia-many-conns-conversations")]
    assert (tmp_path / "chosen.csv").read_text() == csv_text(loaded.conversations.result,
                                                             loaded.model.ids)


@pytest.mark.qt_log_ignore("does not support propagateSizeHints")  # (offscreen, shown)
def test_only_a_table_with_rows_pauses_a_load_to_paint(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Painting rows calls data() thousands of times, so a load parks meanwhile; an empty table
    makes no such calls and paints without waiting for a load that is just starting."""
    import gui.table.view as view_module
    from gui.jobs import GuiTurn

    turns: list[int] = []

    class Recording(GuiTurn):
        def hold(self, wait: float = 0.05):  # type: ignore[no-untyped-def]
            turns.append(window.model.rowCount())
            return super().hold(wait)

    monkeypatch.setattr(view_module, "GUI_TURN", Recording())
    window.show()
    qtbot.waitExposed(window)
    window.view.viewport().repaint()
    assert turns == []
    load_window(qtbot, window, WIKIPEDIA)
    qtbot.waitUntil(window.view.updatesEnabled)  # (the final rows paint a pass later)
    window.view.viewport().repaint()
    assert turns and all(rows > 0 for rows in turns)
