"""The application layer in the GUI: the Application pane (worker, clicks, copy), the Service
and Server name columns, View ▸ Show Names, and the filter terms."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QTreeWidgetItem

from engine import WIRESHARK, FlowResult, extract_flows_from_file
from engine.filter import filter_mask
from gui.panes.application.pane import ApplicationPane
from gui.table.data import ConversationData
from gui.window import MainWindow
from tests.gui.conftest import load_window

APP = Path(__file__).resolve().parents[1] / "data" / "app"
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def app_result() -> Iterator[Callable[[str], FlowResult]]:
    opened: list[FlowResult] = []

    def open_(name: str) -> FlowResult:
        opened.append(extract_flows_from_file(APP / name, WIRESHARK))
        return opened[-1]
    yield open_
    for result in opened:
        result.close()


@pytest.fixture
def pane(qtbot) -> ApplicationPane:  # type: ignore[no-untyped-def]
    p = ApplicationPane()
    qtbot.addWidget(p)
    return p


def show(qtbot, pane: ApplicationPane, result: FlowResult, conv: int) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(pane.ready, timeout=20_000):
        pane.show_conversation(result, conv)


def lines(pane: ApplicationPane) -> dict[str, list[QTreeWidgetItem]]:
    out = {}
    for k in range(pane.tree.topLevelItemCount()):
        top = pane.tree.topLevelItem(k)
        out[top.text(0)] = [top.child(j) for j in range(top.childCount())]
    return out


def row_of(result: FlowResult, protocol: str, stream: int) -> int:
    kind = 1 if protocol == "tcp" else 2
    return int(result.conversations.rows_with_stream(kind, stream)[0])


def test_a_tls_conversation_shows_its_handshake_and_certificate_chain(  # type: ignore[no-untyped-def]
        qtbot, pane, app_result) -> None:
    result = app_result("ndpi-443-firefox.pcap")
    show(qtbot, pane, result, 0)
    sections = lines(pane)
    hello = [i.text(0) for i in sections["ClientHello (from A)"]]
    assert "server name (SNI): www.ntop.org" in hello
    assert "JA4 t13d1814h2_29a2cd9e9f10_d267a5f792d4" in hello
    chain = [i.text(0) for i in sections["Certificate chain (from B)"]]
    assert chain[0] == "0: subject CN=www.ntop.org"
    assert "service <b>tls</b>" in pane.header.text()
    assert "server name <b>www.ntop.org</b>" in pane.header.text()
    pane.copy()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("TCP stream 0: tls") and "Let's Encrypt Authority X3" in copied


def test_a_dns_message_line_selects_its_packet(qtbot, pane, app_result) -> None:  # type: ignore[no-untyped-def]
    result = app_result("ndpi-android.pcap")
    conv = row_of(result, "udp", 9)
    show(qtbot, pane, result, conv)
    messages = lines(pane)["DNS messages"]
    assert messages[0].text(0) == "query 0xfba6: A captive.apple.com"
    assert "A 17.253.53.201" in messages[1].text(0)
    with qtbot.waitSignal(pane.packetSelected) as picked:
        pane.tree.itemClicked.emit(messages[1], 0)
    packets = result.packets_of(conv)
    assert picked.args == [int(packets[1])]


def test_ftp_data_connections_are_links_to_their_conversations(  # type: ignore[no-untyped-def]
        qtbot, pane, app_result) -> None:
    result = app_result("ndpi-ftp.pcap")
    show(qtbot, pane, result, row_of(result, "tcp", 0))
    opened = lines(pane)["Connections it opened"]
    assert [i.text(0).split(":")[0] for i in opened] == ["TCP stream 1", "TCP stream 2"]
    with qtbot.waitSignal(pane.conversationRequested) as requested:
        pane.tree.itemClicked.emit(opened[1], 0)
    assert requested.args == [row_of(result, "tcp", 2)]
    dialogue = [i.text(0) for i in lines(pane)["Dialogue"]]
    assert dialogue[:2] == ["S: 220 (vsFTPd 3.0.3)", "C: USER anonymous"]


def test_other_protocols_get_a_sentence(qtbot, pane, app_result) -> None:  # type: ignore[no-untyped-def]
    result = app_result("ndpi-anyconnect-vpn.pcap")
    icmp = int(np.flatnonzero(result.conversations.kind == 3)[0])
    show(qtbot, pane, result, icmp)
    assert pane.stack.currentIndex() == 0
    assert "TCP and UDP" in pane.empty.text()


def test_the_window_links_the_pane_to_the_table(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    data = load_window(qtbot, window, APP / "ndpi-ftp.pcap")
    control = row_of(data.result, "tcp", 0)
    window.view.select_conversation(control)
    window.details.setCurrentWidget(window.details.application)
    pane = window.details.application
    qtbot.waitUntil(lambda: pane.detail is not None, timeout=20_000)
    opened = lines(pane)["Connections it opened"]
    pane.tree.itemClicked.emit(opened[0], 0)
    assert window.view.selected_id == row_of(data.result, "tcp", 1)


def test_service_and_server_name_are_columns_shown_by_default(  # type: ignore[no-untyped-def]
        qtbot, window: MainWindow) -> None:
    load_window(qtbot, window, APP / "ndpi-android.pcap")
    model, view = window.model, window.view
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    service, server = titles.index("Service"), titles.index("Server name")
    assert not view.isColumnHidden(service) and not view.isColumnHidden(server)
    assert view.isColumnHidden(titles.index("JA4")) and view.isColumnHidden(titles.index("JA3"))
    model.sort(service, Qt.SortOrder.AscendingOrder)
    shown = [model.data(model.index(r, service)) for r in range(model.rowCount())]
    assert shown == sorted(shown)
    assert "tls" in shown and "dns" in shown


def test_show_names_puts_the_captures_dns_names_in_the_address_columns(  # type: ignore[no-untyped-def]
        qtbot, window: MainWindow) -> None:
    data = load_window(qtbot, window, APP / "ndpi-android.pcap")
    model = window.model
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    column = titles.index("Address B")
    conv = row_of(data.result, "tcp", 4)  # to 17.253.53.201, which the capture named
    row = int(np.flatnonzero(model.ids == conv)[0])
    index = model.index(row, column)
    assert model.data(index) == "17.253.53.201"
    window.show_names_action.setChecked(True)
    assert model.data(index) == "captive.apple.com"
    assert model.data(index, Qt.ItemDataRole.ToolTipRole) == "17.253.53.201"
    window.show_names_action.setChecked(False)
    assert model.data(index) == "17.253.53.201"


@pytest.mark.parametrize(("text", "expected"), [
    ("service tls", lambda t, e: e["service"] == "tls"),
    ("tls", lambda t, e: e["service"] == "tls"),
    ("service=dns", lambda t, e: e["service"] == "dns"),
    ("!service dns udp", lambda t, e: (e["service"] != "dns") & (t.kind == 2)),
    # a whole word of the server name or of either endpoint's name, any case
    ("name google", lambda t, e: [any("google" in re.split(r"[^a-z0-9_-]+", str(col[k]).lower())
                                      for col in (e["server_name"], e["a_name"], e["b_name"]))
                                  for k in range(len(t))]),
    ("ja4 t12d1409h1_c866b44c5a26_b39be8c56a14",
     lambda t, e: e["tls_ja4"] == "t12d1409h1_c866b44c5a26_b39be8c56a14"),
])
def test_filter_terms_for_the_application_columns(text: str, expected) -> None:  # type: ignore[no-untyped-def]
    result = extract_flows_from_file(APP / "ndpi-android.pcap", WIRESHARK)
    try:
        data = ConversationData(result)
        extra = dict(result.conversations.extra)
        want = np.asarray(expected(result.conversations, extra), dtype=bool)
        mask = filter_mask(text, data.filter_columns)
        assert mask is not None and want.any()
        assert np.array_equal(mask, want), text
    finally:
        result.close()


def test_the_window_shows_the_services_found_ahead_in_a_forked_copy(  # type: ignore[no-untyped-def]
        qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """A load in the GUI's worker thread forks the application layer's copy (here on a small
    capture, the threshold lowered): the table shows what the engine finds in one process."""
    import os

    from engine import hooks
    from engine.app.analysis import add_app_columns

    ahead = hooks.AHEAD[add_app_columns]
    parent = os.getpid()
    workers: list[int] = []

    def work(result: FlowResult) -> object:
        workers.append(os.getpid())  # (in the child: the list seen here stays empty)
        return os.getpid(), ahead.work(result)

    def keep(result: FlowResult, found: tuple[int, object]) -> None:
        workers.append(found[0])
        ahead.keep(result, found[1])

    monkeypatch.setitem(hooks.AHEAD, add_app_columns, hooks.Ahead(work, keep, lambda r: True))
    data = load_window(qtbot, window, APP / "ndpi-android.pcap")
    assert len(workers) == 1 and workers[0] != parent
    with extract_flows_from_file(APP / "ndpi-android.pcap",
                                 WIRESHARK.replace(workers=0)) as alone:
        expected = alone.conversations.extra["service"]
        assert (expected == "tls").sum() > 5
        np.testing.assert_array_equal(data.result.conversations.extra["service"], expected)
        model = window.model
        titles = [model.headerData(c, Qt.Orientation.Horizontal)
                  for c in range(model.columnCount())]
        column = titles.index("Service")
        shown = {model.conversation_id(r): model.data(model.index(r, column))
                 for r in range(model.rowCount())}
        assert shown == {conv: str(expected[conv]) for conv in shown}
