"""The Toy plug-in (tests/plugin) in the GUI: its protocol in the table and the filter, its
column in the table, its pane in the details panel — with no GUI file changed for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.window import MainWindow
from tests.gui.conftest import load_window
from tests.plugin import toy
from tests.plugin.test_toy_plugin import write_capture
from tests.plugin.toy_pane import pane_installed

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture()
def capture(tmp_path: Path) -> Iterator[Path]:
    path = write_capture(tmp_path / "toy.pcapng")
    with toy.installed(), pane_installed():
        yield path


def test_the_gui_shows_it_in_the_table_filter_and_details(qtbot, capture: Path) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    data = load_window(qtbot, window, capture)
    model = window.model
    keys = [c.key for c in model.columns]
    assert "extra:toy_max" in keys
    assert model.headerData(keys.index("protocol"), Qt.Orientation.Horizontal) == "Protocol"
    protocols = {p.name for p in data.protocols}
    assert protocols == {"toy", "tcp"}
    assert "toy" in window.filter_bar.protocol_buttons()
    column = keys.index("extra:toy_max")
    toy_rows = np.flatnonzero(data.protocol == "toy")
    texts = {model.index(model.row_of(int(i)), column).data() for i in toy_rows}
    assert texts == {"9", "4"}
    titles = {model.index(model.row_of(int(i)), keys.index("protocol")).data() for i in toy_rows}
    assert titles == {"Toy"}
    for text, expected in (("toy", 2), ("toybus", 2), ("toy_max>5", 1), ("toy-3", 1),
                           ("!toy", 1)):
        window.filter_bar.set_text(text)
        assert model.rowCount() == expected, text
    window.filter_bar.set_text("")
    details = window.details
    assert details.isTabVisible(details.indexOf(details.toy))
    row = int(toy_rows[0])
    window.view.select_conversation(row)
    assert details.currentWidget() is details.toy
    assert details.toy.label.text() == \
        f"Highest reading: {data.table.extra['toy_max'][row]}"
    window.close()
