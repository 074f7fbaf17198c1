"""The packets pane: the selected conversation's packets, and the clicked one dissected.

Left, the packet list (:class:`~gui.packet_model.PacketModel`: numbers, times, direction,
flags, relative seq/ack, notes). Right, the clicked packet as a tree of layers and fields
(:mod:`engine.dissect`, on a worker: scapy's first import alone takes half a second) above its hex
dump; selecting a field highlights its bytes. Only the clicked packet is ever dissected.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.dissect import Node, packet_tree, warm_up
from engine.packet_notes import PacketRows
from engine.result import FlowResult
from engine.zwave import frames_of
from engine.zwave.protocol import ZWAVE
from gui import units
from gui.jobs import JobRunner
from gui.panes.base import Pane
from gui.panes.packets.hex_view import HexView
from gui.panes.packets.model import COLUMNS, NOTES, PacketModel
from gui.panes.titles import title

RANGE_ROLE = int(Qt.ItemDataRole.UserRole) + 1
WARM_UP_DELAY_MS = 400
#: sample texts that size the columns (never measured over the rows)
COLUMN_SAMPLES = ("12345678", "1234.123456", "Dir", "Length", "ACK, PSH, FIN", "4294967296",
                  "4294967296", "Payload", "")


class PacketsPane(Pane):
    """``show_conversation`` lists a conversation's packets; ``select_packet`` selects one;
    ``packetSelected`` reports the packet the user selected (index in the capture)."""

    name = "packets"
    title = "Packets"
    tooltip = "The conversation's packets; the clicked one dissected"
    priority = 90
    follows_packets = True

    #: the tree of the selected packet is filled (or its dissection failed)
    dissected = Signal()

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.packet = -1
        self._warm = False
        self._warm_timer = QTimer(self)
        self._warm_timer.setSingleShot(True)
        self._warm_timer.setInterval(WARM_UP_DELAY_MS)
        self._warm_timer.timeout.connect(self._warm_up)
        self.model = PacketModel(self)

        self.header = QLabel("Select a conversation in the table to list its packets.")
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics = self.fontMetrics()
        for col, sample in enumerate(COLUMN_SAMPLES):
            if col != NOTES:
                text = max(sample, COLUMNS[col][0], key=len)
                self.table.setColumnWidth(col, metrics.horizontalAdvance(text) + 18)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.currentItemChanged.connect(self._field_changed)
        self.hex = HexView(self)

        details = QSplitter(Qt.Orientation.Vertical)
        details.addWidget(self.tree)
        details.addWidget(self.hex)
        details.setStretchFactor(0, 3)
        details.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)  # room for the notes: "[TCP Fast Retransmission]"
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.setSpacing(3)
        layout.addWidget(self.header)
        layout.addWidget(split, 1)

    def shutdown(self) -> None:
        self._warm_timer.stop()
        super().shutdown()

    # -- the list ------------------------------------------------------------------------------
    def show_conversation(self, result: FlowResult | None, conversation: int) -> None:
        self.jobs.cancel()
        self.result, self.conversation, self.packet = result, conversation, -1
        self.tree.clear()
        self.hex.set_data(b"")
        if result is None or conversation < 0:
            self.model.set_packets(None)
            self.header.setText("Select a conversation in the table to list its packets.")
            return
        if not self._warm:  # the first list shown: load scapy while the user looks at it,
            self._warm = True  # once that list is painted (the import holds the GIL)
            self._warm_timer.start()
        packets = PacketRows(result, conversation)  # (rows are built as they are shown)
        describe: Callable[[int], str] | None = None
        if packets.kind == ZWAVE.kind:
            frames = frames_of(result)

            def describe(packet: int) -> str:
                return frames.describe(int(frames.rows_of(np.array([packet]))[0]))
        self.model.set_packets(packets, describe, _origins(result, packets.index))
        self.table.scrollToTop()
        self.header.setText(f"{title(result, conversation)} · {units.count(len(packets))} "
                            "packets · click one to dissect it")

    def _warm_up(self) -> None:
        if self.packet < 0 and not self.jobs.busy:  # a click may have loaded it already
            self.jobs.run("Loading the packet dissector", warm_up, lambda _none: None)

    def select_packet(self, packet: int) -> None:
        """Select capture packet ``packet`` in the list (if it is in this conversation)."""
        row = self.model.row_of(packet)
        if row < 0:
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        result = self.result
        if result is None or not current.isValid():
            return
        packet = self.model.packet_at(current.row())
        if packet == self.packet:
            return
        self.packet = packet
        self.hex.set_data(result.packet_bytes(packet))
        self.tree.clear()
        QTreeWidgetItem(self.tree, [f"Dissecting packet {packet + 1}…"])
        self.jobs.run(f"Dissecting packet {packet + 1}", lambda: packet_tree(result, packet),
                      lambda answer: self._show_tree(packet, answer), self._dissect_failed)
        self.packetSelected.emit(packet)

    # -- the dissection ------------------------------------------------------------------------
    def _show_tree(self, packet: int, answer: tuple[bytes, list[Node]]) -> None:
        if packet != self.packet:
            return
        _data, nodes = answer
        self.tree.clear()
        for node in nodes:
            item = _item(node)
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
        self.dissected.emit()

    def _dissect_failed(self, message: str) -> None:
        self.tree.clear()
        QTreeWidgetItem(self.tree, [message])
        self.dissected.emit()

    def _field_changed(self, item: QTreeWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        start, length = item.data(0, RANGE_ROLE) or (0, 0)
        self.hex.highlight(start, length)


def _origins(result: FlowResult, packets: np.ndarray) -> Callable[[int], str] | None:
    """"Packet 57 of ring_00003.pcap" for each row, when the capture is several files."""
    names = result.capture.files
    if len(names) <= 1:
        return None
    files, numbers = result.packet_origins(packets)

    def origin(row: int) -> str:
        return f"Packet {int(numbers[row])} of {names[int(files[row])].name}"
    return origin


def _item(node: Node) -> QTreeWidgetItem:
    item = QTreeWidgetItem([node.label])
    item.setData(0, RANGE_ROLE, (node.start, node.length))
    if node.length:
        item.setToolTip(0, f"bytes {node.start}–{node.start + node.length - 1}")
    for child in node.children:
        item.addChild(_item(child))
    return item
