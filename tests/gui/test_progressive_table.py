"""The table fills while a capture loads, keeps sort, filter and selection, and ends identical
to a one-shot load."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

import engine.load
from engine import WIRESHARK, extract_flows_from_file
from engine.table import COLUMN_NAMES
from gui import units
from gui.jobs import GUI_TURN
from gui.table.data import protocol_title
from tests.engine.bigger import bigger_capture

SMALL_CHUNKS = WIRESHARK.replace(chunk_bytes=1 << 16)


@pytest.fixture
def big(tmp_path: Path) -> Path:
    return bigger_capture(tmp_path / "rounds.pcap", copies=10)


@pytest.fixture
def every_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot after every chunk (instead of twice a second), so the test needs no clock."""
    monkeypatch.setattr(engine.load, "SNAPSHOT_SECONDS", 0.0)


def test_rows_appear_and_grow_while_loading_then_match_a_one_shot_load(  # type: ignore[no-untyped-def]
        qtbot, qtmodeltester, window, big, every_chunk, monkeypatch) -> None:
    qtmodeltester.check(window.model, force_py=True)  # checks every update that follows
    monkeypatch.setattr(window, "flow_config", lambda: SMALL_CHUNKS)
    packets_column = window.model.column_index("packets")
    window.view.sortByColumn(packets_column, Qt.SortOrder.DescendingOrder)
    window.filter_bar.set_text("tcp")
    sizes: list[int] = []
    selected: list[int] = []

    def seen() -> None:  # in the GUI thread, each time the table shows newer rows
        if not window.loading or window.model.conversations is None or \
                not window.model.conversations.loading:
            return
        sizes.append(window.model.rowCount())
        if len(sizes) == 2:  # select the top row while the load goes on
            window.view.selectRow(0)
            row_id = window.model.conversation_id(0)
            selected.append(int(window.model.conversations.table.first_packet[row_id]))

    window.model.rowsShownChanged.connect(seen)
    with qtbot.waitSignal(window.captureLoaded, timeout=60_000) as loaded:
        window.open_file(big)
    data = loaded.args[0]
    assert len(sizes) >= 5 and sizes[0] > 0  # rows shown long before the end
    assert sizes[-1] >= sizes[0] and len(set(sizes)) > 1  # and the table grew
    # the sort and the filter held throughout; the selection is the same conversation
    assert window.view.horizontalHeader().sortIndicatorSection() == packets_column
    shown = window.model.ids
    assert (data.protocol[shown] == "tcp").all()
    assert (np.diff(data.packets[shown]) <= 0).all()
    assert selected and window.view.selected_id >= 0
    assert int(data.table.first_packet[window.view.selected_id]) == selected[0]
    # identical to a load that never showed anything on the way
    with extract_flows_from_file(big, WIRESHARK.replace(workers=0)) as one_shot:
        for name in COLUMN_NAMES:
            np.testing.assert_array_equal(getattr(data.table, name),
                                          getattr(one_shot.conversations, name), err_msg=name)
        for name, col in one_shot.conversations.extra.items():
            np.testing.assert_array_equal(data.table.extra[name], col, err_msg=name)
    assert window.export_action.isEnabled() and window.details.result is data.result
    # each refresh painted the table in a later pass, and the load's turns all ended
    qtbot.waitUntil(lambda: window.view.updatesEnabled() and not GUI_TURN._wanted)


def test_cancel_after_rows_appeared_restores_the_previous_capture(  # type: ignore[no-untyped-def]
        qtbot, window, big, every_chunk, monkeypatch) -> None:
    from tests.gui.conftest import WIKIPEDIA, load_window

    previous = load_window(qtbot, window, WIKIPEDIA)
    monkeypatch.setattr(window, "flow_config", lambda: SMALL_CHUNKS)
    window.open_file(big)
    qtbot.waitUntil(lambda: window.model.conversations is not previous
                    and window.model.conversations.loading, timeout=30_000)
    assert not window.export_action.isEnabled()
    with qtbot.waitSignal(window.loadCancelled, timeout=30_000):
        window.cancel_load()
    assert window.model.conversations is previous and window.conversations is previous
    assert window.details.result is previous.result and window.export_action.isEnabled()


def test_refreshes_relabel_the_protocol_buttons_in_place(  # type: ignore[no-untyped-def]
        qtbot, window, big, every_chunk, monkeypatch) -> None:
    """A refresh with the same protocols keeps the buttons (no widgets made anew each second)
    and shows the newer counts; a protocol the user turned off mid-load stays off, and its
    rows stay hidden, through the refreshes and the end of the load."""
    monkeypatch.setattr(window, "flow_config", lambda: SMALL_CHUNKS)
    seen: list[tuple[dict[str, int], dict[str, str]]] = []

    def refreshed() -> None:
        data = window.model.conversations
        if not window.loading or data is None or not data.loading:
            return
        buttons = window.filter_bar.protocol_buttons()
        seen.append(({name: id(b) for name, b in buttons.items()},
                     {name: b.text() for name, b in buttons.items()}))
        if "udp" in buttons and buttons["udp"].isChecked():
            buttons["udp"].setChecked(False)

    window.model.rowsShownChanged.connect(refreshed)
    with qtbot.waitSignal(window.captureLoaded, timeout=60_000) as loaded:
        window.open_file(big)
    data = loaded.args[0]
    kept = [(a, b) for a, b in itertools.pairwise(seen) if a[0].keys() == b[0].keys()]
    assert len(kept) >= 3
    assert all(a[0] == b[0] for a, b in kept)  # the same button objects
    assert any(a[1] != b[1] for a, b in kept)  # with newer counts
    buttons = window.filter_bar.protocol_buttons()
    assert not buttons["udp"].isChecked() and buttons["tcp"].isChecked()
    shown = window.model.ids
    assert shown.size and not (data.protocol[shown] == "udp").any()
    assert (data.protocol == "udp").any()
    final_tcp = next(p for p in data.protocols if p.name == "tcp")
    count = units.count(final_tcp.conversations)
    assert buttons["tcp"].text() == f"{protocol_title('tcp')}  {count}"
