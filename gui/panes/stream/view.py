"""A stream as text, hex dump or raw hex, painted a screen at a time.

Like Wireshark's bytes pane, a :class:`QAbstractScrollArea` whose vertical scroll bar counts
lines and whose ``paintEvent`` formats only the lines on screen (``StreamLayout`` finds them).
No text widget holds the stream, so there is no size cap: a 100 MB stream costs the same to
paint as a 1 kB one. The two directions are coloured as in Wireshark's Follow Stream (client
red on pink, server blue on light blue); a gutter names the direction at each turn.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QHelpEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from gui import units
from gui.panes.stream.copy import COPY_LIMIT, copy_text
from gui.panes.stream.layout import Line, StreamDocument, StreamLayout
from gui.panes.stream.search import Match, find
from gui.panes.stream.text import Rendered, render, render_gap
from gui.style import (
    GAP_STYLE,
    GUTTER,
    GUTTER_LINE,
    MATCH,
    OFFSET_TEXT,
    PAGE,
    PLACEHOLDER_TEXT,
    SELECTION,
    STREAM_STYLES,
    DirectionStyle,
    monospace_font,
)

#: rendered lines kept for repaints while scrolling
_CACHE_LINES = 2048
#: pixels between the gutter and the text
MARGIN = 6
#: keys the view handles itself although the window has shortcuts for some of them (Edit ▸
#: Copy copies conversations as CSV, Ctrl+F goes to the filter): with the focus here, they
#: act on the stream
OWN_KEYS = (QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.SelectAll,
            QKeySequence.StandardKey.Find, QKeySequence.StandardKey.FindNext,
            QKeySequence.StandardKey.FindPrevious,
            QKeySequence.StandardKey.MoveToStartOfDocument,
            QKeySequence.StandardKey.MoveToEndOfDocument)


class StreamView(QAbstractScrollArea):
    """Shows a :class:`StreamDocument`; emits the packet behind a clicked byte."""

    #: a byte (or gap marker) was clicked: the packet index in the capture
    packetSelected = Signal(int)
    #: the selection changed (positions are display positions, see ``selection``)
    selectionChanged = Signal()
    #: a sentence for the status line (copy refused, …)
    message = Signal(str)
    #: Find keys pressed here: 0 = open the find bar, 1 = next match, -1 = previous match
    findRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self.viewport().setAutoFillBackground(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._document: StreamDocument | None = None
        self._layout: StreamLayout | None = None
        self._mode = "text"
        self._direction = "both"
        self._cache: OrderedDict[int, tuple[Line, Rendered]] = OrderedDict()
        self._selection: tuple[int, int] | None = None
        self._match: tuple[int, int] | None = None
        self._anchor: int | None = None
        self._pressed = False
        self._dragged = False
        self._columns = 80
        self.empty_text = ""
        self._update_metrics()
        self.setFont(monospace_font())

    # -- content ---------------------------------------------------------------------------
    @property
    def document(self) -> StreamDocument | None:
        return self._document

    @property
    def stream_layout(self) -> StreamLayout | None:
        return self._layout

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def direction(self) -> str:
        return self._direction

    def set_document(self, document: StreamDocument | None, keep_position: bool = False) -> None:
        """Show ``document`` (the caller owns it). ``keep_position``: the same stream, more of
        it (a preview replaced by the whole stream) — keep the scroll position and selection."""
        top = self.top_line() if keep_position else 0
        selection = self._selection if keep_position else None
        self._document = document
        self._relayout()
        self._selection = selection
        self._match = None
        self.scroll_to_line(top, top=True)
        self.selectionChanged.emit()

    def set_mode(self, mode: str) -> None:
        """Text, hex dump or raw hex; the line at the top and the selection stay."""
        if mode == self._mode:
            return
        position = self._top_position()
        self._mode = mode
        self._relayout()
        if self._layout is not None and position is not None:
            self.scroll_to_line(self._layout.line_of_position(position), top=True)

    def set_direction(self, direction: str) -> None:
        """Both directions, A→B or B→A; the selection is cleared."""
        if direction == self._direction:
            return
        anchor = self._top_byte()
        self._direction = direction
        self._relayout()
        self._selection = self._match = None
        if self._layout is not None and anchor is not None:
            position = self._layout.position_of(*anchor)
            if position is not None:
                self.scroll_to_line(self._layout.line_of_position(position), top=True)
        self.selectionChanged.emit()

    def set_empty_text(self, text: str) -> None:
        self.empty_text = text
        self.viewport().update()

    def _relayout(self) -> None:
        self._cache.clear()
        doc = self._document
        self._layout = None if doc is None else StreamLayout(doc, self._mode, self._direction)
        # the widest line painted so far sets the horizontal range (text lines vary)
        self._columns = {"text": 0, "hex": 77, "raw": 64}[self._mode]
        self._update_scrollbars()
        self.viewport().update()

    # -- geometry ----------------------------------------------------------------------------
    def _update_metrics(self) -> None:
        fm = QFontMetricsF(self.font())
        self._metrics = fm
        self._line_height = max(1, round(fm.lineSpacing()) + 1)
        self._char_width = fm.horizontalAdvance("0")
        self._ascent = fm.ascent() + 0.5
        label_font = QFont(QGuiApplication.font())
        label_font.setBold(True)
        self._label_font = label_font
        self._gutter = int(QFontMetricsF(label_font).horizontalAdvance("B→A ") + 16)

    @property
    def line_height(self) -> int:
        return self._line_height

    def _text_left(self) -> int:
        return self._gutter + MARGIN

    def visible_lines(self) -> int:
        """Lines that fit wholly in the viewport."""
        return max(1, self.viewport().height() // self._line_height)

    def top_line(self) -> int:
        return self.verticalScrollBar().value()

    def _update_scrollbars(self) -> None:
        count = self._layout.line_count if self._layout is not None else 0
        page = self.visible_lines()
        bar = self.verticalScrollBar()
        bar.setRange(0, min(max(count - page, 0), 2**31 - 1))
        bar.setPageStep(page)
        bar.setSingleStep(1)
        width = int(self._columns * self._char_width) + self._text_left() + MARGIN
        hbar = self.horizontalScrollBar()
        hbar.setRange(0, max(width - self.viewport().width(), 0))
        hbar.setPageStep(self.viewport().width())
        hbar.setSingleStep(max(1, int(self._char_width * 4)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_scrollbars()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._update_metrics()
            self._update_scrollbars()

    def scroll_to_line(self, index: int, top: bool = False) -> None:
        """Bring line ``index`` into view (at the top with ``top``, else only if needed)."""
        bar = self.verticalScrollBar()
        if top:
            bar.setValue(index)
            return
        first = bar.value()
        page = self.visible_lines()
        if index < first:
            bar.setValue(index)
        elif index >= first + page:
            bar.setValue(index - page + 1)

    def _top_position(self) -> int | None:
        layout = self._layout
        if layout is None or not layout.line_count:
            return None
        return layout.line(min(self.top_line(), layout.line_count - 1)).position

    def _top_byte(self) -> tuple[int, int] | None:
        layout = self._layout
        if layout is None or not layout.line_count:
            return None
        line = layout.line(min(self.top_line(), layout.line_count - 1))
        return line.direction, line.start

    # -- lines -------------------------------------------------------------------------------
    def rendered_line(self, index: int) -> tuple[Line, Rendered]:
        """Line ``index`` and its characters (cached while scrolling)."""
        hit = self._cache.get(index)
        if hit is not None:
            return hit
        layout = self._layout
        assert layout is not None
        line = layout.line(index)
        if line.is_gap:
            rendered = render_gap(layout.document.stream.gaps[line.gap])
        else:
            rendered = render(self._mode, layout.line_bytes(line), line.start)
        self._cache[index] = (line, rendered)
        if len(rendered.text) > self._columns:
            self._columns = len(rendered.text)
            self._update_scrollbars()
        if len(self._cache) > _CACHE_LINES:
            self._cache.popitem(last=False)
        return line, rendered

    def line_style(self, index: int) -> DirectionStyle:
        """The colours line ``index`` is painted in."""
        line, _ = self.rendered_line(index)
        return GAP_STYLE if line.is_gap else STREAM_STYLES[line.direction]

    def _x(self, rendered: Rendered, column: int) -> float:
        text = rendered.text
        if column <= 0:
            return 0.0
        if text.isascii():
            return column * self._char_width
        return self._metrics.horizontalAdvance(text[:column])

    def _column_at(self, rendered: Rendered, x: float) -> int:
        text = rendered.text
        if text.isascii():
            return max(0, int(x // self._char_width))
        lo, hi = 0, len(text)
        while lo < hi:  # the first column whose right edge is past x
            mid = (lo + hi) // 2
            if self._metrics.horizontalAdvance(text[: mid + 1]) <= x:
                lo = mid + 1
            else:
                hi = mid
        return lo

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        area = self.viewport().rect()
        painter.fillRect(area, PAGE)
        layout = self._layout
        if layout is None or not layout.line_count:
            self._paint_empty(painter, area)
            return
        painter.setFont(self.font())
        lh = self._line_height
        top = self.top_line()
        rows = area.height() // lh + 1
        x0 = self._text_left() - self.horizontalScrollBar().value()
        width = area.width()
        for row in range(rows):
            index = top + row
            if index >= layout.line_count:
                break
            line, rendered = self.rendered_line(index)
            y = row * lh
            style = GAP_STYLE if line.is_gap else STREAM_STYLES[line.direction]
            painter.fillRect(QRect(self._gutter, y, width, lh), style.background)
            painter.save()
            painter.setClipRect(QRect(self._gutter, y, width, lh))
            self._paint_line(painter, line, rendered, style, x0, y)
            painter.restore()
        self._paint_gutter(painter, layout, top, rows, area)

    def _paint_line(self, painter: QPainter, line: Line, rendered: Rendered,
                    style: DirectionStyle, x0: int, y: int) -> None:
        lh = self._line_height
        baseline = y + self._ascent
        if line.is_gap:
            font = QFont(self.font())
            font.setItalic(True)
            painter.setFont(font)
            painter.setPen(style.foreground)
            painter.drawText(QPointF(x0 + 4, baseline), rendered.text)
            painter.setFont(self.font())
            return
        painter.setPen(style.foreground)
        painter.drawText(QPointF(x0, baseline), rendered.text)
        for span, (background, foreground) in ((self._match, MATCH),
                                               (self._selection, SELECTION)):
            if span is None:
                continue
            first = span[0] - line.position
            stop = span[1] - line.position
            if stop <= 0 or first >= rendered.size:
                continue
            for c0, c1 in rendered.columns(max(first, 0), min(stop, rendered.size)):
                left = x0 + self._x(rendered, c0)
                right = x0 + self._x(rendered, c1)
                painter.fillRect(QRectF(left, y, right - left, lh), background)
                painter.setPen(foreground)
                painter.drawText(QPointF(left, baseline), rendered.text[c0:c1])

    def _paint_gutter(self, painter: QPainter, layout: StreamLayout, top: int, rows: int,
                      area: QRect) -> None:
        lh = self._line_height
        painter.fillRect(QRect(0, 0, self._gutter, area.height()), GUTTER)
        painter.setPen(GUTTER_LINE)
        painter.drawLine(self._gutter - 1, 0, self._gutter - 1, area.height())
        painter.setFont(self._label_font)
        for row in range(rows):
            index = top + row
            if index >= layout.line_count:
                break
            line, _ = self.rendered_line(index)
            style = STREAM_STYLES[line.direction]
            y = row * lh
            painter.fillRect(QRect(self._gutter - 5, y, 4, lh), style.foreground)
            if line.label or row == 0:
                painter.setPen(style.foreground)
                painter.drawText(QPointF(5, y + self._ascent), style.label)
            elif line.wrapped:
                painter.setPen(OFFSET_TEXT)
                painter.drawText(QPointF(self._gutter - 5 - 2 * self._char_width,
                                         y + self._ascent), "↪")
        painter.setFont(self.font())

    def _paint_empty(self, painter: QPainter, area: QRect) -> None:
        if not self.empty_text:
            return
        painter.setPen(PLACEHOLDER_TEXT)
        font = QFont(self.font())
        font.setFamily(QGuiApplication.font().family())
        painter.setFont(font)
        painter.drawText(area.adjusted(24, 24, -24, -24),
                         int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                         self.empty_text)

    # -- hit testing -------------------------------------------------------------------------
    def hit(self, point: QPoint) -> tuple[Line, int] | None:
        """The line under ``point`` and the byte (index in the line) under it; -1 for a gap
        marker or a line without bytes."""
        layout = self._layout
        if layout is None or not layout.line_count:
            return None
        index = self.top_line() + max(point.y(), 0) // self._line_height
        index = min(index, layout.line_count - 1)
        line, rendered = self.rendered_line(index)
        if line.is_gap:
            return line, -1
        x = point.x() - self._text_left() + self.horizontalScrollBar().value()
        return line, rendered.byte_for_column(self._column_at(rendered, x))

    def point_of(self, position: int) -> QPoint | None:
        """The middle of the character showing display ``position`` (scrolled into view)."""
        layout = self._layout
        if layout is None or not 0 <= position < layout.byte_count:
            return None
        index = layout.line_of_position(position)
        self.scroll_to_line(index)
        line, rendered = self.rendered_line(index)
        columns = rendered.columns(position - line.position, position - line.position + 1)
        column = columns[0][0] if columns else 0
        x = (self._text_left() - self.horizontalScrollBar().value() + self._x(rendered, column)
             + self._char_width / 2)
        y = (index - self.top_line()) * self._line_height + self._line_height // 2
        return QPoint(int(x), y)

    def position_at(self, point: QPoint) -> int | None:
        found = self.hit(point)
        if found is None:
            return None
        line, byte = found
        return line.position + max(byte, 0)

    def packet_at(self, point: QPoint) -> int:
        """The packet behind the byte (or gap marker) under ``point``; -1 if none."""
        found = self.hit(point)
        layout = self._layout
        if found is None or layout is None:
            return -1
        line, byte = found
        return layout.packet_of_line(line, None if byte < 0 else line.start + byte)

    # -- selection ---------------------------------------------------------------------------
    @property
    def selection(self) -> tuple[int, int] | None:
        """Selected display positions [first, stop)."""
        return self._selection

    def select(self, first: int, stop: int, scroll: bool = True) -> None:
        layout = self._layout
        if layout is None:
            return
        first, stop = max(0, first), min(stop, layout.byte_count)
        self._selection = (first, stop) if stop > first else None
        if scroll and self._selection is not None:
            self.scroll_to_line(layout.line_of_position(first))
        self.viewport().update()
        self.selectionChanged.emit()

    def select_all(self) -> None:
        if self._layout is not None:
            self.select(0, self._layout.byte_count, scroll=False)

    def clear_selection(self) -> None:
        if self._selection is not None:
            self._selection = None
            self.viewport().update()
            self.selectionChanged.emit()

    def selected_text(self) -> str:
        if self._layout is None or self._selection is None:
            return ""
        return copy_text(self._layout, *self._selection)

    def copy(self) -> bool:
        """Ctrl+C: the selection as the current mode shows it."""
        if self._selection is None:
            return False
        first, stop = self._selection
        if stop - first > COPY_LIMIT:
            self.message.emit(f"The selection ({units.size(stop - first)}) is too large for "
                              "the clipboard; use Export Stream (Ctrl+E) instead.")
            return False
        QGuiApplication.clipboard().setText(self.selected_text())
        self.message.emit(f"Copied {units.count(stop - first)} bytes.")
        return True

    # -- find --------------------------------------------------------------------------------
    def find(self, needle: bytes, forward: bool = True, match_case: bool = False
             ) -> Match | None:
        """Select and show the next (or previous) match after the selection."""
        layout = self._layout
        if layout is None or not needle:
            return None
        current = self._selection or self._match
        if current is None:
            start = 0 if forward else layout.byte_count
        else:
            start = current[0] + 1 if forward else current[0]
        match = find(layout, needle, start, forward, match_case)
        if match is None:
            self._match = None
            self.viewport().update()
            return None
        self._match = (match.position, match.position + match.length)
        self.select(*self._match)
        return match

    def clear_match(self) -> None:
        self._match = None
        self.viewport().update()

    # -- input -------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        position = self.position_at(event.position().toPoint())
        if position is None:
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self._anchor is not None:
            self._extend_to(position)
            self._dragged = True
        else:
            self._anchor = position
            self._dragged = False
        self._pressed = True

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._pressed or self._anchor is None:
            return
        point = event.position().toPoint()
        if point.y() < 0:
            self.verticalScrollBar().triggerAction(
                self.verticalScrollBar().SliderAction.SliderSingleStepSub)
        elif point.y() > self.viewport().height():
            self.verticalScrollBar().triggerAction(
                self.verticalScrollBar().SliderAction.SliderSingleStepAdd)
        position = self.position_at(point)
        if position is not None and (self._dragged or position != self._anchor):
            self._dragged = True
            self._extend_to(position)

    def _extend_to(self, position: int) -> None:
        assert self._anchor is not None
        first, last = sorted((self._anchor, position))
        self.select(first, last + 1, scroll=False)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self._pressed:
            super().mouseReleaseEvent(event)
            return
        self._pressed = False
        if not self._dragged:
            self.clear_selection()
            packet = self.packet_at(event.position().toPoint())
            if packet >= 0:
                self.packetSelected.emit(packet)

    def event(self, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and any(event.matches(key) for key in OWN_KEYS)):
            event.accept()  # a key press follows instead of the window's shortcut
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        bar = self.verticalScrollBar()
        if event.matches(QKeySequence.StandardKey.Find):
            self.findRequested.emit(0)
        elif event.matches(QKeySequence.StandardKey.FindNext):
            self.findRequested.emit(1)
        elif event.matches(QKeySequence.StandardKey.FindPrevious):
            self.findRequested.emit(-1)
        elif event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif event.matches(QKeySequence.StandardKey.MoveToStartOfDocument):
            bar.setValue(0)
        elif event.matches(QKeySequence.StandardKey.MoveToEndOfDocument):
            bar.setValue(bar.maximum())
        elif event.key() == Qt.Key.Key_Escape and self._selection is not None:
            self.clear_selection()
        else:
            super().keyPressEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self._tooltip(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def _tooltip(self, point: QPoint) -> str:
        found = self.hit(point)
        layout = self._layout
        if found is None or layout is None:
            return ""
        line, byte = found
        style = STREAM_STYLES[line.direction]
        packet = layout.packet_of_line(line, None if byte < 0 else line.start + byte)
        if line.is_gap:
            gap = layout.document.stream.gaps[line.gap]
            return (f"{style.label}: {units.count(gap.length)} bytes not in the stream "
                    f"({gap.kind}), noticed at packet {packet + 1}")
        offset = line.start + byte
        return (f"Packet {packet + 1} · {style.label} · byte {units.count(offset)} "
                f"(0x{offset:X}) of this direction\nClick to select the packet")
