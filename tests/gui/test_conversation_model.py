"""The table model: Qt's model checks, numpy sort orders, masks, persistent indexes, cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt

from engine.columns import COLUMNS as EXTRA_COLUMNS
from engine.zwave.protocol import FAMILY_ZWAVE
from gui.table.columns import DisplayOptions
from gui.table.data import ConversationData
from gui.table.model import EXACT_ROLE, ID_ROLE, ConversationModel, sort_order

ASC, DESC = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder


def _model(data: ConversationData | None) -> ConversationModel:
    model = ConversationModel()
    model.set_conversations(data)
    return model


def _reference_keys(data: ConversationData, key: str) -> tuple[np.ndarray, ...]:
    """The arrays a column sorts by, written out independently of gui.columns."""
    t = data.table
    if key in ("a_address", "b_address"):
        side = key[0]
        return (t.family, getattr(t, f"{side}_hi"), getattr(t, f"{side}_lo"))
    if key.startswith("extra:"):
        return (t.extra[key[6:]],)
    derived = {"protocol": data.protocol, "packets": t.packets_ab + t.packets_ba,
               "bytes": t.bytes_ab + t.bytes_ba, "start": t.start_ns,
               "duration": t.end_ns - t.start_ns, "bps_ab": t.bits_per_second("ab"),
               "bps_ba": t.bits_per_second("ba")}
    return (derived[key] if key in derived else getattr(t, key),)


def test_empty_model_passes_qt_checks(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    qtmodeltester.check(_model(None), force_py=False)


def test_real_capture_model_passes_qt_checks(qtmodeltester, wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    model = _model(wikipedia_data)
    qtmodeltester.check(model)
    model.sort(model.column_index("bytes"), DESC)
    model.set_mask(wikipedia_data.protocol == "tcp")
    qtmodeltester.check(model)


def test_synthetic_model_with_extra_columns_passes_qt_checks(  # type: ignore[no-untyped-def]
        qtmodeltester, synthetic_data) -> None:
    model = _model(synthetic_data)
    assert [c.title for c in model.columns][-5:] == ["State", "Retransmissions", "Payload",
                                                     "Home ID", "Score"]
    qtmodeltester.check(model)


@pytest.mark.parametrize("order", [ASC, DESC], ids=["ascending", "descending"])
def test_sorting_by_every_column_matches_numpy(synthetic_data, order) -> None:  # type: ignore[no-untyped-def]
    model = _model(synthetic_data)
    for k, column in enumerate(model.columns):
        model.sort(k, order)
        keys = _reference_keys(synthetic_data, column.key)
        expected = np.lexsort(keys[::-1])  # stable: ties keep conversation (start time) order
        if order == DESC:
            # descending values, ties still in conversation order
            ranks = np.empty(expected.size, dtype=np.int64)
            ordered = [k[expected] for k in keys]
            change = np.zeros(expected.size, dtype=bool)
            change[0] = True
            for col in ordered:
                change[1:] |= ~((col[1:] == col[:-1])
                                | (_isnan(col[1:]) & _isnan(col[:-1])))
            ranks[expected] = np.cumsum(change)
            expected = np.argsort(-ranks, kind="stable")
        assert np.array_equal(model.ids, expected), column.key


def _isnan(values: np.ndarray) -> np.ndarray:
    return np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, dtype=bool)


def test_sort_of_real_capture_by_every_column(wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    model = _model(wikipedia_data)
    for k, column in enumerate(model.columns):
        model.sort(k, ASC)
        keys = _reference_keys(wikipedia_data, column.key)
        assert np.array_equal(model.ids, np.lexsort(keys[::-1])), column.key
        exact = [model.data(model.index(r, k), EXACT_ROLE) for r in range(model.rowCount())]
        if column.key not in ("a_address", "b_address", "protocol"):
            values = [v for v in exact if not (isinstance(v, float) and math.isnan(v))]
            assert values == sorted(values), column.key


def test_sort_order_keeps_ties_in_row_order_both_ways() -> None:
    values = np.array([3.0, np.nan, 1.0, 3.0, np.nan, 1.0])
    assert sort_order((values,)).tolist() == [2, 5, 0, 3, 1, 4]
    assert sort_order((values,), descending=True).tolist() == [1, 4, 0, 3, 2, 5]
    two = (np.array([1, 1, 0, 1]), np.array([5, 4, 9, 5]))
    assert sort_order(two).tolist() == [2, 1, 0, 3]
    assert sort_order(two, descending=True).tolist() == [0, 3, 1, 2]
    assert sort_order((np.zeros(0),), descending=True).tolist() == []


def test_mask_shows_matching_rows_in_sorted_order(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    model = _model(synthetic_data)
    model.sort(model.column_index("packets"), DESC)
    mask = synthetic_data.protocol == "udp"
    model.set_mask(mask)
    ids = model.ids
    assert set(ids.tolist()) == set(np.flatnonzero(mask).tolist())
    packets = synthetic_data.packets[ids]
    assert np.all(packets[:-1] >= packets[1:])
    assert model.shown_packets() == int(synthetic_data.packets[mask].sum())
    model.set_mask(None)
    assert model.rowCount() == len(synthetic_data)
    with pytest.raises(ValueError, match="one entry per conversation"):
        model.set_mask(np.ones(3, dtype=bool))


def test_persistent_indexes_follow_their_conversation(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    model = _model(synthetic_data)
    tcp_id = int(np.flatnonzero(synthetic_data.protocol == "tcp")[5])
    udp_id = int(np.flatnonzero(synthetic_data.protocol == "udp")[5])
    tcp = QPersistentModelIndex(model.index(tcp_id, 3))
    udp = QPersistentModelIndex(model.index(udp_id, 0))
    model.sort(model.column_index("bytes"), DESC)
    assert tcp.data(ID_ROLE) == tcp_id and tcp.column() == 3
    assert model.conversation_id(tcp.row()) == tcp_id
    model.set_mask(synthetic_data.protocol == "tcp")
    assert tcp.isValid() and model.conversation_id(tcp.row()) == tcp_id
    assert not udp.isValid()  # filtered out


def test_cells_are_formatted_and_exact_values_kept(wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    model = _model(wikipedia_data)
    conv = wikipedia_data.result.conversations[4]  # TCP 141.142.220.118:48649 ↔ …:80
    row = model.row_of(4)

    def cell(key: str, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return model.data(model.index(row, model.column_index(key)), role)

    assert cell("protocol") == "TCP"
    assert cell("a_address") == conv.a[0] == "141.142.220.118"
    assert cell("a_port") == "48649" and cell("b_port") == "80"
    assert cell("packets") == "7" and cell("bytes") == "1.24 kB"
    assert cell("bytes", EXACT_ROLE) == conv.bytes == 1235
    assert cell("bytes", Qt.ItemDataRole.ToolTipRole) == "1,235 bytes"
    assert cell("start") == f"{(conv.start_ns - wikipedia_data.first_ns) / 1e9:.6f}"
    assert cell("duration") == f"{conv.duration_ns / 1e9:.4f}"
    assert cell("bps_ab").endswith("bit/s")
    assert cell("packets", Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert cell("a_address", Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignLeft
    # an ICMP-less UDP multicast conversation with one packet: no rate
    assert model.data(model.index(model.row_of(0), model.column_index("bps_ab"))) == ""


def test_absolute_start_toggle_changes_text_not_order(wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    model = _model(wikipedia_data)
    k = model.column_index("start")
    model.sort(k, DESC)
    before = model.ids.copy()
    relative = model.data(model.index(0, k))
    model.set_display_options(DisplayOptions(absolute_time=True))
    assert model.headerData(k, Qt.Orientation.Horizontal) == "Abs Start"
    absolute = model.data(model.index(0, k))
    assert absolute != relative and absolute.startswith("2011-03-")
    assert np.array_equal(model.ids, before)


def test_extra_columns_format_by_kind(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    model = _model(synthetic_data)
    t = synthetic_data.table
    tcp = int(np.flatnonzero((synthetic_data.protocol == "tcp")
                             & (t.extra["test_state"] != ""))[0])
    zwave = int(np.flatnonzero(t.family == FAMILY_ZWAVE)[0])

    def cell(i: int, key: str) -> object:
        return model.data(model.index(model.row_of(i), model.column_index(key)))

    assert cell(tcp, "extra:test_state") == t.extra["test_state"][tcp]
    assert cell(tcp, "extra:test_retransmissions") == f"{t.extra['test_retransmissions'][tcp]:,}"
    assert cell(tcp, "extra:test_score") == f"{t.extra['test_score'][tcp]:.4g}"
    assert cell(tcp, "extra:test_home_id") == ""  # -1: not applicable
    assert cell(zwave, "extra:test_home_id") == "C4A815CD"
    assert cell(zwave, "extra:test_state") == ""
    assert cell(zwave, "extra:test_retransmissions") == ""
    assert cell(zwave, "extra:test_score") == ""  # NaN
    assert cell(zwave, "a_address").startswith("C4A815CD/")
    assert cell(zwave, "a_port") == ""


def test_only_registered_extra_columns_become_columns(wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    wikipedia_data.table.extra["internal_helper"] = np.zeros(len(wikipedia_data))
    model = _model(ConversationData(wikipedia_data.result))
    keys = [c.key for c in model.columns]
    assert "extra:internal_helper" not in keys
    registered = [f"extra:{name}" for name in EXTRA_COLUMNS if name in wikipedia_data.table.extra]
    assert keys[len(keys) - len(registered):] == registered


def test_extra_columns_appear_for_the_protocols_they_describe(wikipedia_data) -> None:  # type: ignore[no-untyped-def]
    """An analysis column shows only where its protocol occurs (no TCP columns for Z-Wave)."""
    from engine import WIRESHARK, extract_flows_from_file
    from gui.resource_files import resource

    with extract_flows_from_file(resource("zwave-sample.pcapng"), WIRESHARK) as result:
        zwave = ConversationData(result)
        for data in (wikipedia_data, zwave):
            present = {p.name for p in data.protocols}
            keys = {c.key for c in _model(data).columns}
            for spec in EXTRA_COLUMNS.values():
                # protocols () = every conversation (the capture DNS's endpoint names)
                applies = spec.name in data.table.extra and (
                    not spec.protocols or bool(present & set(spec.protocols)))
                assert (f"extra:{spec.name}" in keys) == applies, (spec.name, present)
        assert any(spec.protocols == ("zwave",) for spec in zwave.extra_columns)
        assert not any("tcp" in spec.protocols for spec in zwave.extra_columns)


class _Item:
    """A stand-in for QModelRoleData (a span's item): its role, and the value set for it."""

    def __init__(self, role: int) -> None:
        self._role = role
        self.value: object = None
        self.calls = 0

    def role(self) -> int:
        self.calls += 1
        return self._role

    def setData(self, value: object) -> None:
        self.value = value


#: the roles QStyledItemDelegate asks of every painted cell, in its order
_DELEGATE_ROLES = [int(r) for r in (
    Qt.ItemDataRole.FontRole, Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.CheckStateRole,
    Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.BackgroundRole)]


def _answers(model: ConversationModel, row: int, column: int, roles: list[int]
             ) -> list[_Item]:
    items = [_Item(role) for role in roles]
    model.multiData(model.index(row, column), items)
    return items


def test_multi_data_by_position_answers_as_data_does(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    """Spans laid out like the delegate's are answered by position after the first (two role
    lookups a cell, not seven), with exactly what data() gives; a span of the same length with
    the roles moved, or asking a tooltip, is still answered role by role."""
    model = _model(synthetic_data)
    protocol = model.column_index("protocol")
    assert protocol >= 0
    for row in range(min(model.rowCount(), 20)):
        for column in range(model.columnCount()):
            items = _answers(model, row, column, _DELEGATE_ROLES)
            for item in items:
                assert item.value == model.data(model.index(row, column), item._role), (
                    row, column, item._role)
    later = _answers(model, 0, protocol, _DELEGATE_ROLES)
    assert sum(item.calls for item in later) == 3  # display, alignment, foreground (protocol)
    assert later[2].value is not None
    later = _answers(model, 0, 0 if protocol else 1, _DELEGATE_ROLES)
    assert sum(item.calls for item in later) == 2
    moved = list(reversed(_DELEGATE_ROLES))
    with_others = [*_DELEGATE_ROLES, int(Qt.ItemDataRole.ToolTipRole), int(EXACT_ROLE)]
    for roles in (moved, with_others, _DELEGATE_ROLES, with_others):
        for column in range(model.columnCount()):
            index = model.index(3, column)
            for item in _answers(model, 3, column, roles):
                assert item.value == model.data(index, item._role), (roles, column, item._role)


def test_painted_cells_show_what_data_gives(qtbot, synthetic_data) -> None:  # type: ignore[no-untyped-def]
    """Through a real view and Qt's own delegate (whose span multiData answers by position):
    every painted cell's text, alignment and colour are data()'s."""
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTableView

    seen: dict[tuple[int, int], tuple[str, object, object]] = {}

    class Spy(QStyledItemDelegate):
        def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:  # type: ignore[no-untyped-def]
            super().initStyleOption(option, index)
            seen[(index.row(), index.column())] = (
                option.text, option.displayAlignment, option.palette.text().color().name())

    model = _model(synthetic_data)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegate(Spy(view))
    view.resize(1200, 600)
    view.grab()
    assert len(seen) > 2 * model.columnCount()
    protocol = model.column_index("protocol")
    for (row, column), (text, alignment, color) in seen.items():
        index = model.index(row, column)
        assert text == model.data(index, Qt.ItemDataRole.DisplayRole)
        assert alignment == model.data(index, Qt.ItemDataRole.TextAlignmentRole)
        if column == protocol:
            assert color == model.data(index, Qt.ItemDataRole.ForegroundRole).name()


def test_multi_data_answers_every_role_as_data_does(synthetic_data) -> None:  # type: ignore[no-untyped-def]
    """Qt 6's delegates ask all of a cell's roles in one multiData call (one Python call per
    cell instead of seven); each answer is what data() gives for that role."""
    from PySide6.QtCore import QModelRoleData, QModelRoleDataSpan

    model = _model(synthetic_data)
    roles = [int(r) for r in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole,
                              Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole,
                              Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.DecorationRole,
                              EXACT_ROLE, ID_ROLE)]
    answered = 0
    for row in (0, 1, model.rowCount() // 2, model.rowCount() - 1):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            for role in roles:
                item = QModelRoleData(role)
                model.multiData(index, QModelRoleDataSpan(item))
                expected = model.data(index, role)
                got = item.data()
                if expected is None:
                    assert got is None, (row, column, role)
                else:
                    answered += 1
                    assert got == expected or (isinstance(got, float) and math.isnan(got)
                                               and math.isnan(expected)), (row, column, role)
    assert answered > 4 * model.columnCount()
