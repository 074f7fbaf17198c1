"""Status bar widgets: load progress with Cancel, and the shown/total counts."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from gui import units
from gui.loading import LoadProgress


class LoadProgressWidget(QWidget):
    """``[■■■■□□] Reading big.pcap: 412,000 packets · 380 k packets/s · 2 s left  [Cancel]``"""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(False)
        self.button = QPushButton("Cancel", self)
        self.button.setToolTip("Stop loading (Esc); the current capture stays open")
        self.button.clicked.connect(self.cancelRequested)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        self.name = ""

    def begin(self, name: str) -> None:
        self.name = name
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.button.setEnabled(True)
        self.label.setText(f"Opening {name}…")
        self.show()

    def update_progress(self, p: LoadProgress) -> None:
        if p.reading_done:
            self.bar.setRange(0, 0)  # busy: conversations are being built
            self.label.setText(f"Building conversations of {self.name}: "
                               f"{units.count(p.packets)} packets read")
            return
        self._set_value(int(p.fraction * 1000))
        parts = [f"Reading {self.name}: {units.count(p.packets)} packets"]
        if p.elapsed > 0.2:
            parts.append(f"{_rate(p.packets_per_second)} packets/s")
            left = p.seconds_left
            if left is not None:
                parts.append(f"{units.duration_left(left)} left")
        self.label.setText(" · ".join(parts))

    def _set_value(self, value: int) -> None:
        """The bar's new value, painted with the next repaint of the window: QProgressBar
        repaints at once when its value changes visibly, and a synchronous repaint can take the
        conversation table with it (20 times a second while a capture loads)."""
        self.bar.setUpdatesEnabled(False)
        self.bar.setValue(value)
        self.bar.setUpdatesEnabled(True)  # (schedules the repaint)

    def cancelling(self) -> None:
        self.button.setEnabled(False)
        self.label.setText(f"Cancelling {self.name}…")


def _rate(per_second: float) -> str:
    """``412``, ``38.2 k``, ``1.20 M`` (a packet rate, short)."""
    if per_second < 1000:
        return f"{per_second:.0f}"
    if per_second < 1_000_000:
        return f"{per_second / 1000:.1f} k"
    return f"{per_second / 1_000_000:.2f} M"


class CountsLabel(QLabel):
    """``34 of 34 conversations · 136 of 136 packets`` (permanent, right of the status bar)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.show_counts(0, 0, 0, 0, 0)

    def show_counts(self, shown: int, total: int, shown_packets: int, total_packets: int,
                    unassigned: int) -> None:
        if total == 0 and total_packets == 0:
            self.setText("No capture")
            self.setToolTip("")
            return
        self.setText(f"{units.count(shown)} of {units.count(total)} conversation"
                     f"{'' if total == 1 else 's'} · {units.count(shown_packets)} of "
                     f"{units.count(total_packets)} packet{'' if total_packets == 1 else 's'}")
        tip = "Conversations shown by the filter, and the packets they hold"
        if unassigned:
            tip += (f"; {units.count(unassigned)} packets of the capture belong to no "
                    "conversation (ARP, damaged headers, …)")
        self.setToolTip(tip)
