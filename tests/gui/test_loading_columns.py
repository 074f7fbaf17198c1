"""A loading table that meets a protocol's first conversations gains that protocol's columns in
place: no reset, so the selection, the sort and the columns already sized stay (a capture whose
first chunk holds only DNS gets its TCP columns a chunk later)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelectionModel

from engine import WIRESHARK, extract_flows_from_file
from engine.table import COLUMN_NAMES, ConversationTable
from gui.table.columns import columns_for, default_hidden
from gui.table.data import ConversationData
from gui.table.model import ConversationModel
from gui.table.view import ConversationView
from tests.gui.conftest import WIKIPEDIA


def _partial(table: ConversationTable, rows: np.ndarray, first_ns: int) -> ConversationData:
    """The conversations ``rows`` as a loading table shows them (running ids 0, 1, …)."""
    part = ConversationTable(**{name: getattr(table, name)[rows] for name in COLUMN_NAMES})
    return ConversationData(None, part, first_ns, int(part.packets.sum()))


def test_new_protocol_columns_are_inserted_not_reset(qtbot, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(WIKIPEDIA, WIRESHARK) as result:
        t = result.conversations
        udp, tcp = (np.flatnonzero(t.protocol_names() == p) for p in ("udp", "tcp"))
        assert udp.size and tcp.size
        first_ns = int(t.start_ns.min())
        early = _partial(t, udp, first_ns)  # the first chunks: DNS only
        later = _partial(t, np.concatenate([udp, tcp]), first_ns)
    model = ConversationModel()
    view = ConversationView(model)
    qtbot.addWidget(view)
    model.set_conversations(early)
    qtmodeltester.check(model, force_py=True)  # (checks every change that follows)
    before = [c.key for c in model.columns]
    assert not any(k.startswith("extra:") and "state" in k for k in before)
    view.sortByColumn(model.column_index("bytes"), view.horizontalHeader().sortIndicatorOrder())
    row = 2
    view.selectionModel().select(model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)
    chosen = model.conversation_id(row)
    address_width = view.columnWidth(model.column_index("a_address"))
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))

    model.update_conversations(later)

    assert not resets
    after = [c.key for c in model.columns]
    assert after == [c.key for c in columns_for(later)] and len(after) > len(before)
    assert [k for k in after if k in before] == before
    assert view.selected_ids().tolist() == [chosen]
    assert model.rowCount() == len(later)
    assert view.columnWidth(model.column_index("a_address")) == address_width
    for k, key in enumerate(after):  # the new columns are hidden or shown as chosen
        assert view.isColumnHidden(k) == (key in default_hidden()), key
    status = model.column_index("extra:status")
    assert status >= 0 and not view.isColumnHidden(status) and view.columnWidth(status) > 0
    tcp_row = model.row_of(udp.size)  # the first TCP conversation reads its own cells
    assert model.data(model.index(tcp_row, model.column_index("protocol"))) == "TCP"


def test_a_final_table_with_other_columns_still_resets(qtbot) -> None:  # type: ignore[no-untyped-def]
    # the load's end renumbers the rows (id_map): columns that change then reset the model
    with extract_flows_from_file(WIKIPEDIA, WIRESHARK) as result:
        t = result.conversations
        udp = np.flatnonzero(t.protocol_names() == "udp")
        early = _partial(t, udp, int(t.start_ns.min()))
        final = ConversationData(result)
        model = ConversationModel()
        model.set_conversations(early)
        resets: list[int] = []
        model.modelReset.connect(lambda: resets.append(1))
        model.update_conversations(final, np.arange(len(early)))
        assert resets and [c.key for c in model.columns] == [c.key for c in columns_for(final)]


def test_a_refresh_resizes_no_header_section(qtbot) -> None:  # type: ignore[no-untyped-def]
    # QHeaderView shows and hides every hidden section again across a layout change; the view
    # holds those signals (each would ask for a relayout and a repaint), and the sections end
    # as they were
    with extract_flows_from_file(WIKIPEDIA, WIRESHARK) as result:
        t = result.conversations
        rows = np.arange(len(t))
        first_ns = int(t.start_ns.min())
        early, later = _partial(t, rows[:20], first_ns), _partial(t, rows, first_ns)
    model = ConversationModel()
    view = ConversationView(model)
    qtbot.addWidget(view)
    model.set_conversations(early)
    hidden = [view.isColumnHidden(k) for k in range(model.columnCount())]
    widths = [view.columnWidth(k) for k in range(model.columnCount())]
    assert any(hidden)
    resized: list[int] = []
    view.horizontalHeader().sectionResized.connect(lambda k, _old, _new: resized.append(k))
    model.update_conversations(later)
    assert resized == []
    assert [view.isColumnHidden(k) for k in range(model.columnCount())] == hidden
    assert [view.columnWidth(k) for k in range(model.columnCount())] == widths
    assert not view.horizontalHeader().signalsBlocked()
