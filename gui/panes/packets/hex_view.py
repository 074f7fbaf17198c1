"""A packet's bytes as a classic hex dump (offset, 16 bytes in hex, the same as ASCII), with
one byte range highlighted in both columns — the range of the field selected in the tree.

One packet is at most 256 KiB, so a read-only QPlainTextEdit holds the whole dump; the
highlight is a set of extra selections computed from the fixed line layout.
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from gui.style import HEX_HIGHLIGHT

PER_LINE = 16
HEX_AT = 6  # "0000  " then the hex bytes
ASCII_AT = HEX_AT + PER_LINE * 3 + 2  # after the hex column and two spaces
HIGHLIGHT = HEX_HIGHLIGHT


def dump_lines(data: bytes) -> list[str]:
    """``0010  45 00 00 3c 29 a9 40 00  40 06 db 5f 83 9b d7 45  E..<).@.@.._...E``."""
    lines = []
    for at in range(0, len(data), PER_LINE):
        chunk = data[at : at + PER_LINE]
        hexes = " ".join(f"{b:02x}" for b in chunk[:8])
        if len(chunk) > 8:
            hexes += "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{at:04x}  {hexes:<{PER_LINE * 3}}  {text}")
    return lines


def hex_column(index: int) -> int:
    """Column of byte ``index`` (0-15 within a line) in the hex part."""
    return HEX_AT + index * 3 + (1 if index >= 8 else 0)


class HexView(QPlainTextEdit):
    """``set_data`` shows bytes; ``highlight(start, length)`` marks a range (0 clears)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("Click a packet to see its bytes.")
        self.data = b""
        self.highlighted: tuple[int, int] = (0, 0)

    def set_data(self, data: bytes) -> None:
        self.data = data
        self.highlighted = (0, 0)
        self.setExtraSelections([])
        self.setPlainText("\n".join(dump_lines(data)))

    def highlight(self, start: int, length: int) -> None:
        start = max(start, 0)
        end = min(start + max(length, 0), len(self.data))
        self.highlighted = (start, max(end - start, 0))
        selections = []
        fmt = QTextCharFormat()
        fmt.setBackground(HIGHLIGHT)
        doc = self.document()
        at = start
        while at < end:
            line = at // PER_LINE
            first = at % PER_LINE
            last = min(end - line * PER_LINE, PER_LINE) - 1  # last byte index on this line
            block = doc.findBlockByNumber(line)
            for a, b in ((hex_column(first), hex_column(last) + 2),
                         (ASCII_AT + first, ASCII_AT + last + 1)):
                cursor = QTextCursor(block)
                cursor.setPosition(block.position() + a)
                cursor.setPosition(block.position() + b, QTextCursor.MoveMode.KeepAnchor)
                selection = QTextEdit.ExtraSelection()
                selection.cursor = cursor  # type: ignore[attr-defined]
                selection.format = fmt  # type: ignore[attr-defined]
                selections.append(selection)
            at = (line + 1) * PER_LINE
        self.setExtraSelections(selections)
        if selections:
            self.setTextCursor(QTextCursor(doc.findBlockByNumber(start // PER_LINE)))
            self.ensureCursorVisible()
