"""The detail panel in the main window: it follows the table's selection, updates the pane on
show and the others when their tab opens, routes packet selections, turns to a tab that
applies, and shows the Z-Wave tab only for captures with Z-Wave."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QSplitter, QWidget

from engine.packets import Kind
from gui.panes.application.pane import ApplicationPane
from gui.panes.details import DetailsPanel
from gui.panes.packets.pane import PacketsPane
from gui.panes.stream.pane import StreamPane
from gui.panes.timeline.pane import TimelinePane
from gui.panes.zwave.pane import ZWavePane
from gui.window import MainWindow
from tests.gui.conftest import WIKIPEDIA, load_window

TIMELINE, STREAM, PACKETS, ZWAVE = (TimelinePane.title, StreamPane.title, PacketsPane.title,
                                   ZWavePane.title)
ZWAVE_SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "zwave-sample.pcapng"
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def shown(window: MainWindow, qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    window.resize(1300, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def tab(details: DetailsPanel) -> str:
    return details.tabText(details.currentIndex())


def select(qtbot, window: MainWindow, conv: int) -> None:  # type: ignore[no-untyped-def]
    window.view.clearSelection()
    assert window.view.select_conversation(conv)
    assert window.view.selected_id == conv


def test_panel_sits_below_the_table(shown: MainWindow) -> None:
    split = shown.details.parentWidget()
    assert isinstance(split, QSplitter)
    # the table's place is a stack: the capture table, or the index table (File ▸ Open Index…)
    table_place = shown.index_mode.stack
    assert split.widget(0) is table_place and split.widget(1) is shown.details
    assert table_place.currentWidget() is shown.view
    assert [shown.details.tabText(k) for k in range(shown.details.count())] == \
        [TIMELINE, STREAM, ApplicationPane.title, PACKETS, ZWAVE]


def test_selection_updates_the_visible_pane_and_the_others_on_demand(  # type: ignore[no-untyped-def]
        qtbot, shown) -> None:
    data = load_window(qtbot, shown, WIKIPEDIA)
    details = shown.details
    assert not details.isTabVisible(details.indexOf(details.zwave))
    tcp = int(np.flatnonzero(data.result.conversations.kind == Kind.TCP)[0])
    with qtbot.waitSignal(details.timeline.ready, timeout=20_000):
        select(qtbot, shown, tcp)
    assert tab(details) == TIMELINE
    assert details.timeline.conversation == tcp and details.timeline.timeline is not None
    assert details.packets.conversation == -1  # not on show: not updated yet
    details.setCurrentWidget(details.packets)
    assert details.packets.conversation == tcp
    assert np.array_equal(details.packets.model.shown_packets(),
                          data.result.conversations.packets_of(tcp))


def test_a_packet_chosen_on_the_timeline_is_selected_in_the_packet_list(  # type: ignore[no-untyped-def]
        qtbot, shown) -> None:
    data = load_window(qtbot, shown, WIKIPEDIA)
    details = shown.details
    t = data.result.conversations
    tcp = int(np.flatnonzero(t.kind == Kind.TCP)[np.argmax(t.packets[t.kind == Kind.TCP])])
    with qtbot.waitSignal(details.timeline.ready, timeout=20_000):
        select(qtbot, shown, tcp)
    packet = int(data.result.conversations.packets_of(tcp)[2])
    with qtbot.waitSignal(details.packets.dissected, timeout=20_000):
        details.timeline.packetSelected.emit(packet)
    assert details.packets.conversation == tcp
    assert details.packets.table.currentIndex().row() == 2
    assert tab(details) == TIMELINE  # the user stays where they clicked
    # and the other way round: a packet picked in the list is marked on the timeline
    other = int(data.result.conversations.packets_of(tcp)[4])
    details.packets.select_packet(other)
    assert details.timeline.cursors[0].isVisible()
    assert details.timeline.info.text().startswith(f"Packet {other + 1} ")


def test_a_tab_that_does_not_apply_gives_way(qtbot, shown) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, shown, WIKIPEDIA)
    details = shown.details
    kinds = data.result.conversations.kind
    udp = int(np.flatnonzero(kinds == Kind.UDP)[0])
    tcp = int(np.flatnonzero(kinds == Kind.TCP)[0])
    select(qtbot, shown, udp)
    assert tab(details) == STREAM  # the timeline is for TCP
    with qtbot.waitSignal(details.timeline.ready, timeout=20_000):
        details.setCurrentWidget(details.timeline)  # the user insists: an empty state
    assert details.timeline.stack.currentIndex() == 0
    select(qtbot, shown, tcp)
    assert tab(details) == TIMELINE  # applies to TCP: no switch
    details.setCurrentWidget(details.packets)
    select(qtbot, shown, udp)
    assert tab(details) == PACKETS  # applies to every conversation


def test_a_double_click_opens_the_stream(qtbot, shown) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, shown, WIKIPEDIA)
    details = shown.details
    tcp = int(np.flatnonzero(data.result.conversations.kind == Kind.TCP)[0])
    with qtbot.waitSignal(details.timeline.ready, timeout=20_000):
        select(qtbot, shown, tcp)
    shown.conversationActivated.emit(tcp)
    assert tab(details) == STREAM
    assert details.stream.conversation == tcp


def test_zwave_capture_opens_on_the_zwave_charts(qtbot, shown) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, shown, ZWAVE_SAMPLE)
    details = shown.details
    assert details.isTabVisible(details.indexOf(details.zwave))
    assert tab(details) == ZWAVE
    assert details.zwave.pairs is not None and details.zwave.stack.currentIndex() == 1
    select(qtbot, shown, 5)
    assert details.zwave.conversation == 5
    assert list(details.zwave.pair_highlight.opts["x"]) == [details.zwave.pairs.x_of(5)]
    # a capture without Z-Wave hides the tab again and leaves it
    load_window(qtbot, shown, WIKIPEDIA)
    assert not details.isTabVisible(details.indexOf(details.zwave))
    assert data.result is not shown.conversations.result


def test_a_new_capture_resets_every_pane(qtbot, shown) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, shown, WIKIPEDIA)
    details = shown.details
    tcp = int(np.flatnonzero(data.result.conversations.kind == Kind.TCP)[0])
    with qtbot.waitSignal(details.timeline.ready, timeout=20_000):
        select(qtbot, shown, tcp)
    load_window(qtbot, shown, ZWAVE_SAMPLE)
    assert details.result is shown.conversations.result
    details.setCurrentWidget(details.timeline)
    assert details.timeline.result is details.result and details.timeline.conversation == -1


def test_qt_calls_keep_none_alive(qtbot) -> None:  # type: ignore[no-untyped-def]
    """PySide6 6.12.0 on Python 3.11 dropped a reference to None per void call, and the panes'
    charts make thousands of them while painting (pyproject.toml pins PySide6 below 6.12)."""
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(20_000):
        widget.setWindowTitle("x")
    assert sys.getrefcount(None) >= before - 100


def _heights(window: MainWindow) -> tuple[int, int]:
    split = window.details.parentWidget()
    assert isinstance(split, QSplitter)
    table, panel = split.sizes()
    return table, panel


def test_the_table_has_the_room_while_nothing_is_selected(qtbot, shown) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 14: with nothing selected the panes are empty, so the panel folds to its
    tabs and the table shows about three times the rows; a selection opens the panel, clearing
    it folds it again, and a split the user chose is left alone."""
    data = load_window(qtbot, shown, WIKIPEDIA)
    table, panel = _heights(shown)
    assert panel == shown.details.folded_height() and table > 6 * panel
    tcp = int(np.flatnonzero(data.result.conversations.kind == Kind.TCP)[0])
    with qtbot.waitSignal(shown.details.timeline.ready, timeout=20_000):
        select(qtbot, shown, tcp)
    table, panel = _heights(shown)
    assert panel > table > 3 * shown.details.folded_height()
    shown.filter_bar.set_text("udp")  # filters the selection away: nothing selected
    qtbot.waitUntil(lambda: shown.view.selected_id == -1, timeout=5000)
    assert _heights(shown)[1] == shown.details.folded_height()
    split = shown.details.parentWidget()
    split.setSizes([400, 380])
    split.splitterMoved.emit(400, 1)  # as a drag of the handle reports it
    chosen = _heights(shown)
    shown.filter_bar.set_text("")
    select(qtbot, shown, tcp)
    assert _heights(shown) == chosen
