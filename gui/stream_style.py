"""The Stream view's colours and font: Wireshark's Follow Stream colours, legible in a light
theme (client red on pink, server blue on light blue; text contrast above 7:1), a grey gap line,
and the system's fixed-width font."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QFontDatabase


@dataclass(frozen=True)
class DirectionStyle:
    label: str
    foreground: QColor
    background: QColor


#: client (A→B) and server (B→A), as Wireshark's Follow colours them (darker text for contrast)
STYLES = (
    DirectionStyle("A→B", QColor("#8b1212"), QColor("#fbe9e9")),
    DirectionStyle("B→A", QColor("#10318f"), QColor("#e7edfb")),
)
GAP_STYLE = DirectionStyle("gap", QColor("#5a5a5a"), QColor("#ececec"))
SELECTION = (QColor("#2f65ca"), QColor("#ffffff"))
MATCH = (QColor("#ffd54a"), QColor("#000000"))
GUTTER = QColor("#f4f4f4")
GUTTER_LINE = QColor("#d6d6d6")


def monospace_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font
