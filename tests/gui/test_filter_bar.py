"""The filter box speaks the engine's filter language: expressions filter the table, mistakes
show where they are (caret in the tooltip, position in the status bar), Help lists the fields."""

from __future__ import annotations

import numpy as np
import pytest

from gui.table.filter_help import FilterHelpDialog
from tests.gui.conftest import WIKIPEDIA, load_window


@pytest.fixture
def loaded(qtbot, window):  # type: ignore[no-untyped-def]
    load_window(qtbot, window, WIKIPEDIA)
    return window


@pytest.mark.parametrize(("text", "keep"), [
    ("port 80 or port 443", lambda c: 80 in (c.a[1], c.b[1]) or 443 in (c.a[1], c.b[1])),
    ("bytes>1k", lambda c: c.bytes > 1000),
    ("(tcp and not port 22) || udp.stream == 3",
     lambda c: c.protocol == "tcp" or (c.protocol == "udp" and c.stream == 3)),
    ("ip.addr == 141.142.220.0/24 && !udp",
     lambda c: c.protocol != "udp" and any(x.startswith("141.142.220.")
                                           for x in (c.a[0], c.b[0]))),
    ("duration < 1ms or packets >= 10", lambda c: c.duration_ns < 10**6 or c.packets >= 10),
])
def test_expressions_filter_the_table(qtbot, loaded, text, keep) -> None:  # type: ignore[no-untyped-def]
    expected = [c.id for c in loaded.conversations.result.conversations if keep(c)]
    assert 0 < len(expected) < 34, f"{text!r} is a useless case"
    with qtbot.waitSignal(loaded.filter_bar.maskChanged) as blocker:
        loaded.filter_bar.set_text(text)
    assert np.flatnonzero(blocker.args[0]).tolist() == expected
    assert sorted(loaded.model.ids.tolist()) == expected
    assert loaded.filter_bar.error == ""


def test_a_mistake_shows_where_it_is_and_keeps_the_table(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    bar = loaded.filter_bar
    bar.set_text("udp")
    shown = loaded.model.ids.copy()
    with qtbot.waitSignal(bar.errorChanged) as blocker:
        bar.set_text("tcp and or udp")
    message = blocker.args[0]
    assert message == ("“and” needs a term after it, as in “tcp and port 80”; found “or” "
                       "(at character 9)")
    assert "#d93025" in bar.edit.styleSheet()
    tip = bar.edit.toolTip()
    assert "<pre>tcp and or udp\n        ^^</pre>" in tip
    assert loaded.statusBar().currentMessage() == f"Filter not applied: {message}"
    assert np.array_equal(loaded.model.ids, shown)
    with qtbot.waitSignal(bar.errorChanged) as blocker:
        bar.set_text("tcp and udp")
    assert blocker.args[0] == "" and bar.edit.styleSheet() == ""
    assert loaded.model.rowCount() == 0 and loaded.statusBar().currentMessage() == ""


# the offscreen platform cannot size or raise windows; a desktop can
@pytest.mark.qt_log_ignore("does not support propagateSizeHints", "does not support raise")
def test_help_lists_the_syntax_and_every_column(qtbot, loaded) -> None:  # type: ignore[no-untyped-def]
    loaded._show_filter_help()
    dialog = loaded.filter_help
    assert isinstance(dialog, FilterHelpDialog) and dialog.isVisible()
    text = dialog.text.toPlainText()
    for phrase in ("or (||)", "tcp.port == 443",
                   "30k = 30,000", "64KiB = 65,536", "conn_state", "a_port, srcport, port"):
        assert phrase in text
    loaded._show_filter_help()  # a second time: the same window
    assert loaded.filter_help is dialog
    dialog.close()
