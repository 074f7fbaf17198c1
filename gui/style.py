"""Every colour, font and style sheet of the GUI, in one place, so a state, a side or a protocol
looks the same everywhere: client red and server blue as in Wireshark's Follow Stream, one colour
per TCP state, one per kind of packet mark, one per protocol.

Protocols are keyed by their registry name (:mod:`engine.protocols`); a protocol a plug-in adds
without a colour here gets a neutral one.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QFontDatabase

from engine.packet_notes import Mark
from engine.tcp import TcpState

# -- text -------------------------------------------------------------------------------------
TEXT_COLOR = QColor("#1f2937")
MUTED_TEXT = QColor("#5f6b7a")  # empty-state sentences, secondary labels
NOTE_COLOR = QColor("#b45309")  # packet notes (retransmission, gap, …)
#: Wireshark's "Bad TCP" colouring rule (its default colorfilters, 4.0)
BAD_TCP_FOREGROUND = QColor(18, 39, 46)
BAD_TCP_BACKGROUND = QColor(247, 135, 135)
LINK_COLOR = QColor("#1a56c4")  # a line that selects another conversation when clicked
EMPTY_STATE_STYLE = f"color: {MUTED_TEXT.name()}; font-size: 11pt; padding: 24px;"
MUTED_STYLE = f"color: {MUTED_TEXT.name()};"

# -- the two sides of a conversation ----------------------------------------------------------
CLIENT_COLOR = QColor("#c62828")
SERVER_COLOR = QColor("#1565c0")

# -- protocols: the Protocol column's text (after Wireshark's colouring rules, darker for text) -
PROTOCOL_COLORS: dict[str, QColor] = {name: QColor(rgb) for name, rgb in (
    ("tcp", "#5b3fa8"), ("udp", "#1f66b3"), ("icmp", "#a8327f"), ("icmpv6", "#a8327f"),
    ("zwave", "#2f7d4a"))}
OTHER_PROTOCOL_COLOR = TEXT_COLOR


def protocol_color(name: str) -> QColor:
    return PROTOCOL_COLORS.get(name, OTHER_PROTOCOL_COLOR)


# -- TCP states and packet marks (timeline) ---------------------------------------------------
#: one colour per TCP state: warm while opening, green when open, blues/purples while closing
STATE_COLORS: dict[TcpState, QColor] = {
    TcpState.CLOSED: QColor("#9e9e9e"),
    TcpState.LISTEN: QColor("#ce93d8"),
    TcpState.SYN_SENT: QColor("#ffca28"),
    TcpState.SYN_RECEIVED: QColor("#ff8f00"),
    TcpState.ESTABLISHED: QColor("#43a047"),
    TcpState.FIN_WAIT_1: QColor("#4fc3f7"),
    TcpState.FIN_WAIT_2: QColor("#0288d1"),
    TcpState.CLOSING: QColor("#00897b"),
    TcpState.TIME_WAIT: QColor("#3949ab"),
    TcpState.CLOSE_WAIT: QColor("#ec407a"),
    TcpState.LAST_ACK: QColor("#8d6e63"),
}

MARK_COLORS: dict[Mark, QColor] = {
    Mark.SYN: QColor("#8e24aa"),
    Mark.SYN_ACK: QColor("#d81b60"),
    Mark.DATA: QColor("#2e7d32"),
    Mark.ACK: QColor("#90a4ae"),
    Mark.FIN: QColor("#1565c0"),
    Mark.RST: QColor("#d50000"),
    Mark.RETRANSMISSION: QColor("#ff6d00"),
    Mark.OTHER: QColor("#424242"),
}

# -- charts -----------------------------------------------------------------------------------
#: Z-Wave chart colours: ACK frames muted, command frames strong, the selection outlined
ZWAVE_ACK_COLOR = QColor("#90caf9")
ZWAVE_COMMAND_COLOR = QColor("#1e88e5")
HIGHLIGHT_COLOR = QColor("#ff6d00")
GUIDE_COLOR = QColor("#9aa5b1")  # dashed guide lines
POINT_OUTLINE = QColor("#ffffff")
GRID_ALPHA = 0.25
#: the TCP stream graphs (tcptrace's colours where it has one: green ACK line, yellow window)
ACK_LINE_COLOR = QColor("#2e7d32")
RECEIVE_WINDOW_COLOR = QColor("#c7a000")
SACK_COLOR = QColor("#8e24aa")
RETRANSMISSION_COLOR = MARK_COLORS[Mark.RETRANSMISSION]
LOST_SEGMENT_COLOR = QColor("#4a148c")
ZERO_WINDOW_COLOR = QColor("#111111")


def lighter(color: QColor, alpha: int = 110) -> QColor:
    out = QColor(color)
    out.setAlpha(alpha)
    return out


def pale(color: QColor, amount: float = 0.5) -> QColor:
    """``color`` mixed with white, opaque: a light line that stays cheap to draw (a translucent
    pen over a dense line costs Qt several times more)."""
    return QColor(*(round(c + (255 - c) * amount) for c in (color.red(), color.green(),
                                                               color.blue())))


def swatch(color: QColor, text: str) -> str:
    """Rich text for a legend entry: a coloured square and its name."""
    return (f'<span style="color:{color.name()}; font-size:large">&#9632;</span>'
            f"&nbsp;{text}")


def coloured(color: QColor, text: str) -> str:
    """Rich text: ``text`` in bold, in ``color``."""
    return f'<b style="color:{color.name()}">{text}</b>'


# -- the stream view (Follow) -----------------------------------------------------------------
@dataclass(frozen=True)
class DirectionStyle:
    label: str
    foreground: QColor
    background: QColor


#: client (A→B) and server (B→A), as Wireshark's Follow colours them (darker text for contrast
#: above 7:1 in a light theme)
STREAM_STYLES = (
    DirectionStyle("A→B", QColor("#8b1212"), QColor("#fbe9e9")),
    DirectionStyle("B→A", QColor("#10318f"), QColor("#e7edfb")),
)
GAP_STYLE = DirectionStyle("gap", QColor("#5a5a5a"), QColor("#ececec"))
SELECTION = (QColor("#2f65ca"), QColor("#ffffff"))
MATCH = (QColor("#ffd54a"), QColor("#000000"))
GUTTER = QColor("#f4f4f4")
GUTTER_LINE = QColor("#d6d6d6")
PAGE = QColor("#ffffff")
OFFSET_TEXT = QColor("#8a8a8a")  # byte offsets in the gutter
PLACEHOLDER_TEXT = QColor("#5f5f5f")
STREAM_NOTE_STYLE = "QLabel { color: #555555; }"

# -- hex dump ---------------------------------------------------------------------------------
HEX_HIGHLIGHT = QColor("#ffd54f")  # the bytes of the selected field


def monospace_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


# -- widgets ----------------------------------------------------------------------------------
WARNING_BANNER_STYLE = ("#warningBanner { background: #fff4ce; border: 1px solid #e0c35a;"
                        " border-radius: 4px; } QLabel { color: #4a3b00; }")
#: protocol toggles look like chips: tinted when shown, plain grey when hidden
PROTOCOL_CHIP_STYLE = ("QToolButton#protocol { padding: 2px 9px; border: 1px solid #c3ccd8; "
                       "border-radius: 10px; background: #f3f4f6; color: #6b7280; }"
                       "QToolButton#protocol:checked { background: #dce8fa; border-color: "
                       "#7ea4dc; color: #17345f; }"
                       "QToolButton#protocol:hover { border-color: #4f7fc4; }")
INVALID_INPUT_STYLE = ("QLineEdit { border: 2px solid #d93025; border-radius: 3px; "
                       "background: #fdecea; padding: 1px 3px; }")
TABLE_HEADER_STYLE = (
    "QHeaderView::section { background: #f4f5f7; color: #1f2937; padding: 3px 14px 3px 5px;"
    " border: none; border-right: 1px solid #dde1e6; border-bottom: 1px solid #c7ccd4; }"
    "QHeaderView::section:hover { background: #e9edf3; }")
