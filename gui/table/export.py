"""File ▸ Export Conversations: the engine's conversation-list formats (CSV, JSON, a text
table, …: ``engine.export.conversations.LIST_FORMATS``), written atomically.

The fields are exactly those of ``flowscope-cli conversations --format …`` because the same
functions write them; the GUI only chooses the rows (all, shown, or selected, in table order).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from engine.atomic import atomic_write
from engine.export.conversations import LIST_FORMATS
from gui import units
from gui.table.data import ConversationData

#: the formats offered, CSV first (what a spreadsheet opens)
OFFERED = ("csv", "json", "table")


@dataclass(frozen=True)
class ExportRequest:
    path: Path
    format: str  # a name of LIST_FORMATS
    rows: np.ndarray  # conversation ids, in the order to write


def write_conversations(data: ConversationData, request: ExportRequest) -> Path:
    """Write the rows with the engine's writer; the file appears whole or not at all."""
    fmt = LIST_FORMATS[request.format]
    with atomic_write(request.path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        fmt.write(data.result, text, request.rows)
        text.flush()
        text.detach()  # the binary file is closed by atomic_write, not by the wrapper
    return request.path


class ExportConversationsDialog(QDialog):
    """Which rows and which format; the file name is asked for next."""

    def __init__(self, total: int, shown: int, selected: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Conversations")
        layout = QVBoxLayout(self)
        rows_box = QGroupBox("Conversations", self)
        rows_layout = QVBoxLayout(rows_box)
        self.rows_group = QButtonGroup(self)
        choices = [("shown", f"Shown by the filter, in table order ({units.count(shown)})"),
                   ("all", f"All ({units.count(total)})"),
                   ("selected", f"Selected ({units.count(selected)})")]
        for key, label in choices:
            button = QRadioButton(label, rows_box)
            button.setObjectName(key)
            button.setEnabled(key != "selected" or selected > 0)
            self.rows_group.addButton(button)
            rows_layout.addWidget(button)
        self.rows_group.buttons()[0].setChecked(True)
        format_box = QGroupBox("Format", self)
        format_layout = QVBoxLayout(format_box)
        self.format_group = QButtonGroup(self)
        names = [n for n in OFFERED if n in LIST_FORMATS]
        names += [n for n in LIST_FORMATS if n not in names]  # a plug-in's, last
        for key in names:
            fmt = LIST_FORMATS[key]
            button = QRadioButton(f"{fmt.title} ({fmt.description})", format_box)
            button.setObjectName(key)
            self.format_group.addButton(button)
            format_layout.addWidget(button)
        self.format_group.buttons()[0].setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(rows_box)
        layout.addWidget(format_box)
        layout.addWidget(buttons)

    @property
    def scope(self) -> str:
        """"shown", "all" or "selected"."""
        button = self.rows_group.checkedButton()
        return button.objectName() if button is not None else "shown"

    @property
    def format(self) -> str:
        """The chosen format's name ("csv", "json", …)."""
        button = self.format_group.checkedButton()
        return button.objectName() if button is not None else "csv"


def ask_export_path(parent: QWidget, fmt: str, suggested: Path) -> Path | None:
    """The save dialog for ``fmt``; None if the user cancels."""
    spec = LIST_FORMATS[fmt]
    path, _ = QFileDialog.getSaveFileName(parent, "Export Conversations",
                                          str(suggested.with_suffix(spec.suffix)),
                                          f"{spec.title} (*{spec.suffix})")
    if not path:
        return None
    result = Path(path)
    return result if result.suffix else result.with_suffix(spec.suffix)
