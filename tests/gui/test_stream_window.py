"""The Stream pane inside the main window: a double click opens it, its keys act on the stream
(not the window's Copy as CSV or filter), and a clicked byte selects its packet in the Packets
pane."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from engine.follow import find_tcp_stream
from gui.panes.stream.pane import StreamPane
from tests.conftest import CAPTURES
from tests.gui.conftest import load_window

HTTP = CAPTURES / "zeek-http-get.pcap"

# the window is shown (key and mouse events need it); the offscreen platform then warns that
# it cannot pass size hints to a window manager it does not have
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def test_in_the_window_double_click_opens_the_stream_and_keys_act_on_it(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    if not hasattr(window, "details"):  # the detail panes land in a separate change
        pytest.skip("the main window has no detail panes yet")
    data = load_window(qtbot, window, HTTP)
    window.show()
    row = find_tcp_stream(data.result, 0)
    pane = window.details.stream
    assert isinstance(pane, StreamPane)
    assert window.view.select_conversation(row)
    with qtbot.waitSignal(pane.streamShown, timeout=30_000):
        window.conversationActivated.emit(row)  # a double click on the row
    assert window.details.currentWidget() is pane
    view = pane.view
    view.setFocus()
    view.select(0, 3)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "GET"  # not the window's CSV copy
    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert pane.find_bar.isVisible() and pane.find_bar.edit.hasFocus()
    qtbot.keyClicks(pane.find_bar.edit, "200 OK")
    qtbot.keyClick(pane.find_bar.edit, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert not window.filter_bar.edit.hasFocus()
    qtbot.keyClick(pane.find_bar.edit, Qt.Key.Key_Return)
    layout = view.stream_layout
    assert layout is not None and view.selection is not None
    assert layout.locate(view.selection[0]) == (1, 9)
    point = view.point_of(view.selection[0])
    assert point is not None
    with qtbot.waitSignal(pane.packetSelected) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    response = int(pane.document.stream.chunks.packet[1])  # type: ignore[union-attr]
    assert blocker.args == [response]
    assert window.details.packets.packet == response  # selected in the Packets pane
