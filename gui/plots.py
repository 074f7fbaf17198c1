"""Plot set-up shared by the chart panes: white plots with dark, readable axes and a light grid,
and dense curves that stay fast."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from gui.style import GRID_ALPHA, TEXT_COLOR


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
    for name in ("left", "bottom", "right"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(TEXT_COLOR))
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setTickFont(font)
        _recentre_label(axis)
    style = {"color": TEXT_COLOR.name(), "font-size": f"{font.pointSizeF():.0f}pt"}
    if x_label:
        item.setLabel("bottom", x_label, units=x_units or None, **style)
    if y_label:
        item.setLabel("left", y_label, units=y_units or None, **style)
    return plot


def _recentre_label(axis: pg.AxisItem) -> None:
    """Workaround: pyqtgraph 0.14 centres an axis label only when the axis is resized, so a
    label set later, or one that grows (an SI prefix appears: "(B)" becomes "(kB)"), keeps the
    old position and its end is cut off ("Relative sequence numb"). Re-centre on every
    change."""
    update = axis._updateLabel

    def updated() -> None:
        update()
        axis.resizeEvent()

    axis._updateLabel = updated


def dense_curve(plot: pg.PlotWidget, pen: object, name: str | None = None) -> pg.PlotDataItem:
    """A line for many points: clipped to the view and peak-downsampled.

    Workaround: pyqtgraph 0.14 raises (``PlotWidget`` has no ``autoRangeEnabled``) when an item
    created with ``clipToView=True`` is added to a plot, so the options are set after adding.
    """
    curve = pg.PlotDataItem(pen=pen, name=name)
    plot.getPlotItem().addItem(curve)
    curve.setClipToView(True)
    curve.setDownsampling(auto=True, method="peak")
    # about one sample per pixel column (peak keeps its low and high): pyqtgraph's default of
    # five costs a 100k-point line over 100 ms to stroke
    curve.opts["autoDownsampleFactor"] = 1.0
    return curve
