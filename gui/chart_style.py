"""Colours and plot set-up shared by the detail panes, so a state or a side looks the same
everywhere: client red and server blue as in Wireshark's Follow Stream, one colour per TCP state,
one per kind of packet mark.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

from engine.packet_notes import Mark
from engine.tcp import TcpState

CLIENT_COLOR = QColor("#c62828")
SERVER_COLOR = QColor("#1565c0")
TEXT_COLOR = QColor("#1f2937")
GRID_ALPHA = 0.25

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

#: Z-Wave chart colours: ACK frames muted, command frames strong, the selection outlined
ZWAVE_ACK_COLOR = QColor("#90caf9")
ZWAVE_COMMAND_COLOR = QColor("#1e88e5")
HIGHLIGHT_COLOR = QColor("#ff6d00")


def lighter(color: QColor, alpha: int = 110) -> QColor:
    out = QColor(color)
    out.setAlpha(alpha)
    return out


def axis_font() -> QFont:
    font = QFont()
    font.setPointSizeF(max(font.pointSizeF(), 9.0))
    return font


def make_plot(parent: QWidget | None = None, *, x_label: str = "", x_units: str = "",
              y_label: str = "", y_units: str = "") -> pg.PlotWidget:
    """A white plot with dark, readable axes and a light grid."""
    plot = pg.PlotWidget(parent, background="w")
    item = plot.getPlotItem()
    item.showGrid(x=True, y=True, alpha=GRID_ALPHA)
    item.hideButtons()  # our own "Reset view" button instead of pyqtgraph's tiny "A"
    item.setMenuEnabled(False)
    font = axis_font()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(TEXT_COLOR))
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setTickFont(font)
    style = {"color": TEXT_COLOR.name(), "font-size": f"{font.pointSizeF():.0f}pt"}
    if x_label:
        item.setLabel("bottom", x_label, units=x_units or None, **style)
    if y_label:
        item.setLabel("left", y_label, units=y_units or None, **style)
    return plot


def dense_curve(plot: pg.PlotWidget, pen: object, name: str | None = None) -> pg.PlotDataItem:
    """A line for many points: clipped to the view and peak-downsampled.

    Workaround: pyqtgraph 0.14 raises (``PlotWidget`` has no ``autoRangeEnabled``) when an item
    created with ``clipToView=True`` is added to a plot, so the options are set after adding.
    """
    curve = pg.PlotDataItem(pen=pen, name=name)
    plot.getPlotItem().addItem(curve)
    curve.setClipToView(True)
    curve.setDownsampling(auto=True, method="peak")
    return curve


def swatch(color: QColor, text: str) -> str:
    """Rich text for a legend entry: a coloured square and its name."""
    return (f'<span style="color:{color.name()}; font-size:large">&#9632;</span>'
            f"&nbsp;{text}")
