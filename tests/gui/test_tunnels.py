"""Conversations inside UDP tunnels in the GUI (issue 10 item 7): the table lists both levels
with a Tunnel column, the filter reads it, and every pane works on an inner conversation with
the packet inside the tunnel (its TCP flags, its bytes), the frames being the tunnel's."""

from __future__ import annotations

import numpy as np
import pytest

from engine.follow import find_tcp_stream
from gui.panes.packets.model import FLAGS
from gui.panes.stream.pane import StreamPane
from gui.window import MainWindow
from tests.engine.built import levels, path
from tests.gui.conftest import load_window

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")
TUNNELS = path("udp-tunnels.pcap")


@pytest.fixture
def shown(window: MainWindow, qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    window.resize(1300, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_the_table_shows_both_levels_and_the_tunnel(qtbot, shown) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, shown, TUNNELS)
    model = shown.model
    assert model.rowCount() == len(data.result.conversations) == 13
    column = model.column_index("extra:tunnel")
    assert not shown.view.isColumnHidden(column)
    inner = find_tcp_stream(data.result, 0)
    outer = find_tcp_stream(data.result, 1)  # a TCP connection in the open
    text = {c: model.data(model.index(model.row_of(c), column)) for c in (inner, outer)}
    assert text == {inner: "vxlan", outer: ""}
    # the status bar's packet count holds each frame once, tunnelled or not
    assert model.shown_packets() == data.total_packets == 29
    shown.filter_bar.set_text("tunnel == vxlan")
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=5000)


def test_panes_show_the_packet_inside(qtbot, shown) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, shown, TUNNELS)
    details = shown.details
    conv = find_tcp_stream(data.result, 3)  # inside GTP-U
    with qtbot.waitSignal(details.timeline.ready, timeout=20_000):
        shown.view.clearSelection()
        assert shown.view.select_conversation(conv)
    timeline = details.timeline.timeline
    assert timeline is not None and timeline.status == "closed"
    details.setCurrentWidget(details.packets)
    packets = details.packets.model
    assert np.array_equal(packets.shown_packets(), data.result.packets_of(conv))
    flags = [packets.data(packets.index(r, FLAGS))
             for r in range(packets.rowCount())]
    assert flags[:3] == ["SYN", "SYN, ACK", "ACK"]
    stream = details.stream
    with qtbot.waitSignal(stream.streamShown, timeout=30_000) as shown_stream:
        details.setCurrentWidget(stream)
    document = shown_stream.args[0]
    theirs = levels("udp-tunnels.pcap")["follow"]["3"]
    assert document.stream.data(0).hex() == theirs["node0_hex"]
    assert isinstance(stream, StreamPane)
