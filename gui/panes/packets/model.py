"""The packets of one conversation as a table model: ``data()`` only indexes the engine's arrays
(:class:`~engine.packet_notes.PacketRows`, built a block of rows at a time as rows scroll into
view) and formats the one cell asked for, so a conversation of a million packets costs nothing
until its rows are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from engine.packet_notes import ConversationPackets, PacketRows, flag_text, note_text
from engine.tcp.expert_flags import bad_tcp
from gui.style import BAD_TCP_BACKGROUND, BAD_TCP_FOREGROUND, CLIENT_COLOR, NOTE_COLOR, SERVER_COLOR

Index = QModelIndex | QPersistentModelIndex

#: (title, tooltip) per column
COLUMNS = (
    ("No.", "Packet number in the capture (as Wireshark numbers it)"),
    ("Time", "Seconds since the conversation's first packet"),
    ("Dir", "→ sent by endpoint A, ← sent by endpoint B (red: the client, blue: the server)"),
    ("Length", "Frame bytes on the wire"),
    ("Flags", "TCP flags"),
    ("Seq", "TCP sequence number, relative to the sender's first"),
    ("Ack", "TCP acknowledgement number, relative to the receiver's first"),
    ("Payload", "Transport payload bytes"),
    ("Notes", "Wireshark's TCP analysis, in its words: [TCP Retransmission], "
              "[TCP Dup ACK 12#1] (the 1st duplicate of the ACK in packet 12), [TCP ZeroWindow], "
              "[TCP Previous segment not captured], …; rows Wireshark's Bad TCP rule would "
              "colour are coloured the same"),
)
NUMBER, TIME, DIRECTION, LENGTH, FLAGS, SEQ, ACK, PAYLOAD, NOTES = range(len(COLUMNS))
_RIGHT = {NUMBER, TIME, LENGTH, SEQ, ACK, PAYLOAD}


class PacketModel(QAbstractTableModel):
    """Rows = packets of one conversation in capture order."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.packets: PacketRows | None = None
        self._start = 0
        self._describe: Callable[[int], str] | None = None
        self._origin: Callable[[int], str] | None = None

    def set_packets(self, packets: PacketRows | None,
                    describe: Callable[[int], str] | None = None,
                    origin: Callable[[int], str] | None = None) -> None:
        """Show ``packets``; ``describe(packet index)`` fills the Notes of non-TCP packets
        (a Z-Wave frame's one-line summary); ``origin(row)`` is the No. column's tooltip (which
        file of a merged capture the packet came from)."""
        self.beginResetModel()
        self.packets = packets
        self._describe = describe
        self._origin = origin
        # (the conversation's first time: the earliest of its packets, without building them)
        self._start = (int(packets.result.conversations.start_ns[packets.conversation])
                       if packets is not None and len(packets) else 0)
        self.endResetModel()

    # -- lookups -------------------------------------------------------------------------------
    def packet_at(self, row: int) -> int:
        assert self.packets is not None
        return int(self.packets.index[row])

    def row_of(self, packet: int) -> int:
        return -1 if self.packets is None else self.packets.row_of(packet)

    # -- the model -----------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self.packets is None:
            return 0
        return len(self.packets)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(section)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if self.packets is None or not index.isValid():
            return None
        col = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(col)
        if role == Qt.ItemDataRole.ToolTipRole and col == NUMBER and self._origin is not None:
            return self._origin(index.row())
        p, row = self.packets.at(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(p, row, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == DIRECTION and p.is_tcp:
                return CLIENT_COLOR if int(p.direction[row]) == p.client_lane else SERVER_COLOR
            if p.is_tcp and bad_tcp(int(p.notes[row])):
                return BAD_TCP_FOREGROUND
            if col == NOTES and p.notes[row]:
                return NOTE_COLOR
        if role == Qt.ItemDataRole.BackgroundRole and p.is_tcp and bad_tcp(int(p.notes[row])):
            return BAD_TCP_BACKGROUND
        if role == Qt.ItemDataRole.ToolTipRole and col == NOTES and p.is_tcp:
            return _analysis_tooltip(p, row)
        return None

    def _text(self, p: ConversationPackets, row: int, col: int) -> str:
        if col == NUMBER:
            return str(int(p.index[row]) + 1)
        if col == TIME:
            return f"{(int(p.ts_ns[row]) - self._start) / 1e9:.6f}"
        if col == DIRECTION:
            return "→" if p.direction[row] == 0 else "←"
        if col == LENGTH:
            return str(int(p.length[row]))
        if col == PAYLOAD:
            return str(int(p.payload[row]))
        if col == NOTES:
            if p.is_tcp:
                return note_text(p, row)
            return self._describe(int(p.index[row])) if self._describe is not None else ""
        if not p.is_tcp:
            return ""
        if col == FLAGS:
            return flag_text(int(p.flags[row]))
        if col == SEQ:
            return str(int(p.rel_seq[row]))
        if col == ACK:
            return str(int(p.rel_ack[row])) if p.has_ack[row] else ""
        return ""

    def shown_packets(self) -> np.ndarray:
        """Packet indices of all rows (tests compare them with the conversation's)."""
        return np.zeros(0, dtype=np.int64) if self.packets is None else self.packets.index


def _analysis_tooltip(p: ConversationPackets, row: int) -> str | None:
    """The rest of Wireshark's SEQ/ACK analysis of the row: what it acknowledges, the RTT, the
    bytes in flight."""
    parts = []
    acked = int(p.acked[row])
    if acked >= 0:
        rtt = int(p.ack_rtt_ns[row])
        parts.append(f"ACK to the segment in packet {acked + 1}" +
                     (f" (RTT {rtt / 1e6:.3f} ms)" if rtt != -1 else ""))
    if p.bytes_in_flight[row]:
        parts.append(f"{int(p.bytes_in_flight[row]):,} bytes in flight")
    return " · ".join(parts) or None


def _alignment(col: int) -> Qt.AlignmentFlag:
    horizontal = Qt.AlignmentFlag.AlignRight if col in _RIGHT else Qt.AlignmentFlag.AlignLeft
    if col == DIRECTION:
        horizontal = Qt.AlignmentFlag.AlignHCenter
    return horizontal | Qt.AlignmentFlag.AlignVCenter
