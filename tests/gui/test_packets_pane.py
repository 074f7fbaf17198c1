"""The packets pane: a lazy model of the conversation's packets (qtmodeltester), the clicked
packet dissected on a worker, its bytes with the selected field highlighted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether

from engine import FlowResult
from engine.packet_notes import PacketRows, conversation_packets
from engine.packets import Kind
from engine.zwave import frames_of
from gui.panes.packets.model import ACK, DIRECTION, FLAGS, NOTES, NUMBER, PAYLOAD, SEQ, PacketModel
from gui.panes.packets.pane import PacketsPane
from tests.conftest import CAPTURES

ZWAVE_SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "zwave-sample.pcapng"
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")




@pytest.fixture
def pane(qtbot) -> PacketsPane:  # type: ignore[no-untyped-def]
    p = PacketsPane()
    qtbot.addWidget(p)
    p.resize(1200, 500)
    p.show()
    qtbot.waitExposed(p)
    return p


def cell(model: PacketModel, row: int, col: int) -> str:
    return str(model.data(model.index(row, col)))


def test_model_passes_qtmodeltester(qtmodeltester, open_result) -> None:  # type: ignore[no-untyped-def]
    model = PacketModel()
    qtmodeltester.check(model)
    result = open_result(CAPTURES / "zeek-http-get.pcap")
    model.set_packets(PacketRows(result, 0))
    qtmodeltester.check(model)
    zwave = open_result(ZWAVE_SAMPLE)
    frames = frames_of(zwave)
    model.set_packets(PacketRows(zwave, 5),
                      lambda packet: frames.describe(int(frames.rows_of(np.array([packet]))[0])))
    qtmodeltester.check(model)


_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
          Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole,
          Qt.ItemDataRole.TextAlignmentRole)


@pytest.mark.parametrize("path", [CAPTURES / "zeek-tcp-ssh-dups.pcap",
                                  CAPTURES / "zeek-tcp-retransmit-fast009.pcap",
                                  CAPTURES / "zeek-ftp-ipv6.pcap",
                                  CAPTURES / "zeek-icmp-5-pings.pcap", ZWAVE_SAMPLE],
                         ids=lambda p: p.name)
def test_rows_built_in_blocks_read_as_the_whole_conversation(  # type: ignore[no-untyped-def]
        open_result, monkeypatch, path) -> None:
    """Rows built a few at a time, as a list scrolls (blocks of 3 here), show exactly what the
    whole conversation's columns show, cell by cell and role by role (duplicate ACKs,
    retransmissions, relative numbers, ICMP, Z-Wave)."""
    result = open_result(path)
    biggest = int(np.argmax(result.conversations.packets))
    conversation_packets(result, biggest)  # the whole, remembered: PacketRows uses it as is
    whole = PacketModel()
    whole.set_packets(PacketRows(result, biggest))
    monkeypatch.setattr(PacketRows, "BLOCK", 3)
    rows = PacketRows(result, biggest)
    rows._whole = None  # (forget the remembered whole: build in blocks)
    blocks = PacketModel()
    blocks.set_packets(rows)
    assert blocks.rowCount() == whole.rowCount() > 3
    for row in range(whole.rowCount()):
        for col in range(whole.columnCount()):
            for role in _ROLES:
                assert blocks.data(blocks.index(row, col), role) == \
                    whole.data(whole.index(row, col), role), (row, col, role)
    assert rows.built == len(rows)


def test_a_long_list_builds_only_the_rows_it_shows(  # type: ignore[no-untyped-def]
        pane, open_result, monkeypatch) -> None:
    """Selecting a conversation builds the blocks of the rows on screen, not all of them (on a
    big spilled capture out of the page cache, building 466,665 rows took 0.7 s)."""
    monkeypatch.setattr(PacketRows, "BLOCK", 4)
    result = open_result(CAPTURES / "zeek-tcp-ssh-dups.pcap")
    biggest = int(np.argmax(result.conversations.packets))
    pane.show_conversation(result, biggest)
    pane.table.viewport().repaint()
    rows = pane.model.packets
    assert rows is not None and len(rows) > 8
    assert 0 < rows.built < len(rows)
    pane.table.scrollToBottom()
    pane.table.viewport().repaint()
    assert cell(pane.model, len(rows) - 1, NUMBER) == str(int(rows.index[-1]) + 1)


@pytest.mark.parametrize("name", ["zeek-wikipedia-many-conns.pcap", "zeek-dns53.pcap",
                                  "zeek-icmp-5-pings.pcap", "zeek-tcp-ssh-dups.pcap"])
def test_rows_are_the_conversations_packets(pane, open_result, name) -> None:  # type: ignore[no-untyped-def]
    result = open_result(CAPTURES / name)
    for conv in range(min(len(result.conversations), 12)):
        pane.show_conversation(result, conv)
        expected = result.conversations.packets_of(conv)
        assert np.array_equal(pane.model.shown_packets(), expected)
        assert pane.model.rowCount() == expected.size
        assert [cell(pane.model, r, NUMBER) for r in range(expected.size)] == \
            [str(int(i) + 1) for i in expected]


def test_tcp_columns_match_the_packets_bytes(pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(CAPTURES / "zeek-http-get.pcap")
    pane.show_conversation(result, 0)
    model = pane.model
    isn: dict[str, int] = {}
    for row in range(model.rowCount()):
        packet = Ether(result.packet_bytes(model.packet_at(row)))
        tcp = packet[TCP]
        sender = packet.src
        isn.setdefault(sender, tcp.seq)
        assert int(cell(model, row, SEQ)) == tcp.seq - isn[sender]
        flags = {"S": "SYN", "A": "ACK", "P": "PSH", "F": "FIN", "R": "RST"}
        assert set(cell(model, row, FLAGS).split(", ")) == {flags[f] for f in str(tcp.flags)}
        assert int(cell(model, row, PAYLOAD)) == len(bytes(tcp.payload))
        if "A" in str(tcp.flags):
            other = next((v for k, v in isn.items() if k != sender), None)
            if other is not None:
                assert int(cell(model, row, ACK)) == tcp.ack - other
        else:
            assert cell(model, row, ACK) == ""
    assert cell(model, 0, DIRECTION) == "→" and cell(model, 1, DIRECTION) == "←"
    client = model.data(model.index(0, DIRECTION), Qt.ItemDataRole.ForegroundRole)
    server = model.data(model.index(1, DIRECTION), Qt.ItemDataRole.ForegroundRole)
    assert client != server


def test_notes_are_wiresharks(pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(CAPTURES / "zeek-tcp-ssh-dups.pcap")
    t = result.conversations
    conv = int(np.argmax(t.extra["tcp_retrans"]))
    pane.show_conversation(result, conv)
    notes = [cell(pane.model, r, NOTES) for r in range(pane.model.rowCount())]
    retrans = [n for n in notes if "Retransmission]" in n]
    assert len(retrans) == t.extra["tcp_retrans"][conv] > 0
    assert "[TCP Fast Retransmission]" in notes
    assert any(n.startswith("[TCP Dup ACK ") for n in notes)
    # Wireshark's Bad TCP colouring: every flagged row but window updates and keep-alives
    bad = [pane.model.data(pane.model.index(r, 0), Qt.ItemDataRole.BackgroundRole)
           for r in range(pane.model.rowCount())]
    assert [b is not None for b in bad] == [bool(n) and "Window Update" not in n and
                                            "Keep-Alive" not in n for n in notes]


def click_row(qtbot, pane: PacketsPane, row: int) -> None:  # type: ignore[no-untyped-def]
    rect = pane.table.visualRect(pane.model.index(row, 0))
    qtbot.mouseClick(pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def top_labels(pane: PacketsPane) -> list[str]:
    return [pane.tree.topLevelItem(k).text(0) for k in range(pane.tree.topLevelItemCount())]


def test_click_dissects_that_packet_and_highlights_a_fields_bytes(  # type: ignore[no-untyped-def]
        qtbot, pane, open_result, monkeypatch) -> None:
    import gui.panes.packets.pane as module

    dissected: list[int] = []
    real = module.packet_tree

    def counting(result: FlowResult, packet: int) -> object:
        dissected.append(packet)
        return real(result, packet)
    monkeypatch.setattr(module, "packet_tree", counting)
    result = open_result(CAPTURES / "zeek-http-get.pcap")
    pane.show_conversation(result, 0)
    assert dissected == []  # listing never dissects
    with qtbot.waitSignal(pane.dissected, timeout=20_000), \
            qtbot.waitSignal(pane.packetSelected) as selected:
        click_row(qtbot, pane, 3)
    assert selected.args == [3] and dissected == [3]
    labels = top_labels(pane)
    assert [label.split(":")[0] for label in labels] == ["Ethernet", "IP", "TCP", "Raw"]
    assert pane.hex.data == result.packet_bytes(3)
    assert pane.hex.toPlainText().splitlines()[0].startswith("0000  00 10 db 88 d2 ef")
    tcp = pane.tree.topLevelItem(2)
    dport = next(tcp.child(k) for k in range(tcp.childCount())
                 if tcp.child(k).text(0).startswith("dport"))
    pane.tree.setCurrentItem(dport)
    assert pane.hex.highlighted == (36, 2)  # 14 bytes Ethernet, 20 bytes IP, then sport
    assert len(pane.hex.extraSelections()) == 2  # the hex and the ASCII column
    pane.tree.setCurrentItem(pane.tree.topLevelItem(3))  # the HTTP request bytes
    assert pane.hex.highlighted == (66, 136)
    assert len(pane.hex.extraSelections()) > 2  # several lines


def test_select_packet_from_another_pane(qtbot, pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(CAPTURES / "zeek-wikipedia-many-conns.pcap")
    conv = int(np.flatnonzero(result.conversations.kind == Kind.TCP)[0])
    pane.show_conversation(result, conv)
    packets = result.conversations.packets_of(conv)
    with qtbot.waitSignal(pane.dissected, timeout=20_000):
        pane.select_packet(int(packets[2]))
    assert pane.table.currentIndex().row() == 2 and pane.packet == int(packets[2])
    other = int(result.conversations.packets_of(conv + 1)[0])
    pane.select_packet(other)  # not in this conversation: nothing changes
    assert pane.table.currentIndex().row() == 2


def test_zwave_frames_are_described_and_dissected_by_the_engine(  # type: ignore[no-untyped-def]
        qtbot, pane, open_result) -> None:
    result = open_result(ZWAVE_SAMPLE)
    frames = frames_of(result)
    pane.show_conversation(result, 5)
    packets = result.conversations.packets_of(5)
    for row in range(pane.model.rowCount()):
        frame = int(frames.rows_of(np.array([packets[row]]))[0])
        assert cell(pane.model, row, NOTES) == frames.describe(frame)
        assert cell(pane.model, row, FLAGS) == "" and cell(pane.model, row, SEQ) == ""
    with qtbot.waitSignal(pane.dissected, timeout=20_000):
        click_row(qtbot, pane, 0)
    labels = top_labels(pane)
    assert labels[0] == "Z-Wave TAP header" and labels[1].startswith("Z-Wave MAC (")
    mac = pane.tree.topLevelItem(1)
    home = mac.child(0)
    assert home.text(0) == f"Home ID: {int(result.conversations.extra['home_id'][5]):08X}"
    pane.tree.setCurrentItem(home)
    start, length = pane.hex.highlighted
    assert length == 4
    assert pane.hex.data[start:start + 4] == int(
        result.conversations.extra["home_id"][5]).to_bytes(4, "big")


def test_nothing_selected(pane) -> None:  # type: ignore[no-untyped-def]
    pane.show_conversation(None, -1)
    assert pane.model.rowCount() == 0 and pane.model.rowCount(QModelIndex()) == 0
    assert "Select a conversation" in pane.header.text()
    assert pane.hex.toPlainText() == ""
