"""A dismissible warning strip above the table (truncated captures, skipped records, …).

Warnings go here rather than into a dialog: the conversations that could be read are still worth
looking at, and the warning must stay visible while the user does.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QStyle,
    QToolButton,
    QWidget,
)

from gui.style import WARNING_BANNER_STYLE


class WarningBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("warningBanner")
        self.setStyleSheet(WARNING_BANNER_STYLE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 6, 6)
        icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setAutoRaise(True)
        close.setText("✕")
        close.setToolTip("Hide this warning")
        close.clicked.connect(self.hide)
        layout.addWidget(icon)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_warnings(self, warnings: list[str]) -> None:
        """Show the capture's warnings (hide the banner when there are none)."""
        if not warnings:
            self.text.clear()
            self.hide()
            return
        self.text.setText("\n".join(warnings))
        self.show()
