"""File ▸ Open Index…: the model (qtmodeltester, pages, DuckDB sorting and filtering), the
filter translated to SQL against the capture table's own filter, and opening a row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine import FlowConfig, analyse_file
from engine.filter import FilterColumns, FilterError, compile_filter
from engine.index.filter_sql import FilterSyntaxError, FilterTranslator
from engine.index.query import connect
from engine.index.runner import build_index
from gui import app as app_module
from gui.index import model as model_module
from gui.index.panel import IndexPanel
from gui.jobs import JobRunner
from gui.window import MainWindow
from tests.conftest import CAPTURES

CAPTURE_NAMES = ["zeek-wikipedia-many-conns.pcap", "zeek-nmap-vsn-many-conns.pcap",
                 "zeek-http-get.pcap", "zeek-ftp-ipv6.pcap", "zeek-icmp-5-pings.pcap",
                 "zeek-tcp-single-rst.pcap"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("index")
    outcomes = build_index([CAPTURES / name for name in CAPTURE_NAMES], folder)
    assert all(o.status == "indexed" for o in outcomes)
    return folder


def _all(dataset: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = connect(dataset)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture
def panel(qtbot, dataset: Path):  # type: ignore[no-untyped-def]
    runner = JobRunner()
    widget = IndexPanel(runner)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.model.arranged, timeout=30_000):
        widget.open_index(dataset)
    yield widget
    runner.shutdown()
    widget.close_index()


def _column(model: Any, name: str) -> list[Any]:
    k = model.columns.index(name)
    return [model.value(row, k) for row in range(model.rowCount())]


def test_model_passes_qtmodeltester(qtmodeltester, panel) -> None:  # type: ignore[no-untyped-def]
    model = panel.model
    (total,) = _all(panel.model.browser.dataset, "SELECT count(*) FROM conversations")[0]
    assert model.rowCount() == total > 50
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Capture"
    assert model.index(0, 0).data() in CAPTURE_NAMES
    qtmodeltester.check(model)


def test_rows_come_a_page_at_a_time(qtbot, panel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(model_module, "PAGE", 7)
    monkeypatch.setattr(model_module, "KEEP_PAGES", 3)
    model = panel.model
    with qtbot.waitSignal(model.arranged, timeout=30_000):
        model.sort(model.columns.index("bytes"), Qt.SortOrder.DescendingOrder)
    expected = _all(model.browser.dataset, "SELECT capture_path, id, bytes FROM conversations "
                                           "ORDER BY bytes DESC NULLS LAST, capture_path, id")
    got = [(r.capture_path, r.id) for r in map(model.row_of_index, range(model.rowCount()))]
    assert got == [(p, i) for p, i, _ in expected]
    assert _column(model, "bytes") == [b for _, _, b in expected]
    assert len(model._pages) == 3  # only the last pages read are kept
    # reading backwards fetches the evicted pages again, with the same rows
    assert [model.row_of_index(r).id for r in reversed(range(model.rowCount()))] == [
        i for _, i, _ in reversed(expected)]


def test_sorting_runs_in_duckdb(qtbot, panel) -> None:  # type: ignore[no-untyped-def]
    model = panel.model
    for name, order in (("a_address", Qt.SortOrder.AscendingOrder),
                        ("duration", Qt.SortOrder.DescendingOrder),
                        ("capture_path", Qt.SortOrder.AscendingOrder)):
        with qtbot.waitSignal(model.arranged, timeout=30_000):
            panel.view.sortByColumn(model.columns.index(name), order)
        values = _column(model, name)
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=order == Qt.SortOrder.DescendingOrder)
        assert values[len(present):] == [None] * (len(values) - len(present))  # nulls last
    assert panel.view.horizontalHeader().isSortIndicatorShown()


def test_filter_box_filters_in_duckdb(qtbot, panel) -> None:  # type: ignore[no-untyped-def]
    model = panel.model
    panel.filter.setText("tcp port 80 !RSTO")
    panel.capture_filter.setText("wikipedia")
    with qtbot.waitSignal(model.arranged, timeout=30_000):
        panel.filter.returnPressed.emit()
    expected = _all(model.browser.dataset,
                    "SELECT count(*) FROM conversations WHERE protocol = 'tcp' AND "
                    "(a_port = 80 OR b_port = 80) AND conn_state IS DISTINCT FROM 'RSTO' "
                    "AND contains(capture_path, 'wikipedia')")
    assert model.rowCount() == expected[0][0] > 0
    assert panel.counts.text() == f"{model.rowCount()} conversations"
    assert set(_column(model, "protocol")) == {"tcp"}
    panel.filter.setText("port >")
    panel.apply_filter()
    assert panel.error.isVisibleTo(panel) and panel.error.text()
    assert model.rowCount() == expected[0][0]  # the last good filter stays


def test_column_chooser_arranges_the_new_column(qtbot, panel) -> None:  # type: ignore[no-untyped-def]
    model = panel.model
    menu = panel.column_menu()
    names = [a.toolTip() for a in menu.actions()]
    assert names == model.browser.columns  # every column of the index is offered
    assert model.columns[:3] == ["capture_path", "protocol", "a_address"]
    assert "history" in model.columns and "missing_bytes" not in model.columns  # hidden=True
    action = next(a for a in menu.actions() if a.toolTip() == "missing_bytes")
    with qtbot.waitSignal(model.arranged, timeout=30_000):
        action.setChecked(True)
    assert model.columns[-1] == "missing_bytes"
    assert model.headerData(len(model.columns) - 1, Qt.Orientation.Horizontal) == (
        "Missing bytes")
    (expected,) = _all(model.browser.dataset, "SELECT sum(missing_bytes) FROM conversations")[0]
    assert sum(v or 0 for v in _column(model, "missing_bytes")) == expected
    with qtbot.waitSignal(model.arranged, timeout=30_000):
        panel.set_column_visible("history", False)
    assert "history" not in model.columns


#: filter texts whose SQL translation must select exactly what the capture table's filter does
FILTERS = ["tcp", "udp", "not tcp", "!tcp", "icmp or icmpv6", "ipv6", "ipv4 and udp", "port 80",
           "not port 53", "stream 3", "208.80.152.0/22", "10.0.0.0/8", "141.142.228.5",
           "2001:470:1f11:81f::/64", "fe80::/10", "packets>10", "bytes<=200", "bytes > 1k",
           "conn_state == SF", "conn_state sf", "RSTO", "SF tcp", "retransmissions>0",
           "retransmissions", "retransmissions < 5", "not retransmissions >= 5",
           "duration>1", "duration < 200ms", "tcp.port == 443", "udp.stream == 2",
           "port in {53 80 443}", "port != 80", "history contains \"Sh\"",
           "status matches \"^clo\"", "conn_state ~ \"^rst\"", "start > 0.5s",
           "ip.addr == 141.142.0.0/16", "ip.src == 141.142.228.5",
           "ipv6.src == fe80::/10", "ff02::/16", "ipv6.dst == ff02::fb",
           "(tcp or udp) and not port 53", "status half-open", "history", "partial == 1",
           "bps_ab > 1M", "packets_ab >= 3", "a_port < 1024 or b_port < 1024", "status",
           "stream >= 2 && stream <= 4", "missing_bytes > 0", "out_of_order == 0"]
ZWAVE_FILTERS = ["zwave", "0xB9263059", "B9263059/1", "home_id == b9263059", "ack_count > 2",
                 "cast == broadcast", "rssi_mean < -50", "node_b == 255", "not zwave"]
SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "zwave-sample.pcapng"


def _translator_and_connection(dataset: Path) -> tuple[FilterTranslator, Any]:
    from engine.index.filter_sql import register_functions

    con = connect(dataset)
    register_functions(con)
    types = {r[0]: str(r[1]) for r in con.execute("DESCRIBE conversations").fetchall()}
    return FilterTranslator(types), con


def _compare_filters(dataset: Path, path: Path, texts: list[str]) -> int:
    translator, con = _translator_and_connection(dataset)
    compared = 0
    try:
        with analyse_file(path, FlowConfig()) as result:  # the index's options
            columns = FilterColumns(result.conversations, result.capture.first_ns)
            for text in texts:
                try:
                    mask = compile_filter(text, columns).mask(columns)
                except FilterError:  # a word this capture lacks: the index finds no row of it
                    mask = np.zeros(len(result.conversations), dtype=bool)
                expected = None if mask is None else np.flatnonzero(mask).tolist()
                where = translator.where(text)
                got = [r[0] for r in con.execute(
                    f"SELECT id FROM conversations WHERE capture_path = ? AND ({where}) "
                    "ORDER BY id", [str(path.absolute())]).fetchall()]
                assert got == expected, (path.name, text, where)
                compared += len(got)
    finally:
        con.close()
    return compared


@pytest.mark.parametrize("name", CAPTURE_NAMES)
def test_sql_filter_selects_what_the_table_filter_does(dataset: Path, name: str) -> None:
    assert _compare_filters(dataset, CAPTURES / name, FILTERS) > 0


def test_sql_filter_on_zwave_columns(tmp_path: Path) -> None:
    build_index([SAMPLE], tmp_path)
    assert _compare_filters(tmp_path, SAMPLE, ZWAVE_FILTERS + FILTERS[:8]) > 0


def test_filters_the_index_cannot_apply_say_so(dataset: Path) -> None:
    translator, con = _translator_and_connection(dataset)
    con.close()
    for text, hint in (("port", "port"), ("packets >", "expected a value"),
                       ("nosuch > 3", "nosuch"), ("(tcp", "\\)")):
        with pytest.raises(FilterSyntaxError, match=hint):
            translator.where(text)
    assert translator.where("") == ""
    assert translator.where("nosuchword")  # a value no capture has: matches nothing


# -- the window ------------------------------------------------------------------------------
def _open_index(qtbot, window: MainWindow, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.index_mode.panel.model.arranged, timeout=30_000):
        assert window.index_mode.open_index(dataset)


def _select(qtbot, window: MainWindow, row: int, load: bool):  # type: ignore[no-untyped-def]
    panel = window.index_mode.panel
    if load:
        with qtbot.waitSignal(window.index_mode.opener.opened, timeout=30_000) as opened:
            panel.view.selectRow(row)
    else:
        with qtbot.assertNotEmitted(window.captureLoaded), \
                qtbot.waitSignal(window.index_mode.opener.opened, timeout=5_000) as opened:
            panel.view.selectRow(row)
    return opened.args


def test_selecting_a_row_loads_its_capture_and_selects_it(qtbot, window: MainWindow,
                                                         dataset: Path) -> None:
    _open_index(qtbot, window, dataset)
    mode = window.index_mode
    assert mode.showing_index and not window.filter_bar.isVisibleTo(window)
    model = mode.panel.model
    rows = [model.row_of_index(r) for r in range(model.rowCount())]
    first = rows[0]
    path, conversation = _select(qtbot, window, 0, load=True)
    assert path == Path(first.capture_path) and window.current_path == path
    assert window.view.selected_id == conversation == first.id
    assert window.details.conversation == first.id  # the panes show it
    result = window.conversations.result
    assert result.config.udp_timeout == 120.0  # loaded with the index's options
    assert int(result.conversations.start_ns[first.id]) == first.start_ns
    # another conversation of the same capture: selected without reading the capture again
    same = next(k for k, r in enumerate(rows) if r.capture_path == first.capture_path
                and r.id != first.id)
    _, conversation = _select(qtbot, window, same, load=False)
    assert conversation == rows[same].id == window.details.conversation
    # a conversation of another capture loads that one
    other = next(k for k, r in enumerate(rows) if r.capture_path != first.capture_path)
    path, conversation = _select(qtbot, window, other, load=True)
    assert str(path) == rows[other].capture_path and conversation == rows[other].id
    assert mode.showing_index  # still browsing the index


def test_double_click_opens_the_stream_and_file_open_brings_the_table_back(
        qtbot, window: MainWindow, dataset: Path) -> None:
    _open_index(qtbot, window, dataset)
    mode = window.index_mode
    model = mode.panel.model
    row = next(r for r in range(model.rowCount()) if model.row_of_index(r).protocol == "tcp")
    with qtbot.waitSignal(mode.opener.opened, timeout=30_000):
        mode.panel.conversationActivated.emit(model.row_of_index(row))
    assert window.details.currentWidget() is window.details.stream
    assert window.index_mode.show_action.isChecked()
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000):
        window.open_file(CAPTURES / "zeek-dns53.pcap")
    assert not mode.showing_index and window.filter_bar.isVisibleTo(window)
    mode.show_action.setChecked(True)  # View ▸ Index Table goes back to it
    assert mode.showing_index


def test_a_folder_that_is_no_index_is_refused(window: MainWindow, tmp_path: Path,
                                              message_boxes: list[tuple[str, str]]) -> None:
    assert not window.index_mode.open_index(tmp_path)
    assert message_boxes == [("Open Index", f"{tmp_path} holds no index files; "
                                            f"flowscope-cli index CAPTURES -o {tmp_path} builds "
                                            "them.")]
    assert not window.index_mode.show_action.isEnabled()


# app.start shows the window; the offscreen platform logs this harmless notice when it does
@pytest.mark.qt_log_ignore("does not support propagateSizeHints")
@pytest.mark.parametrize(("argv", "protocol"), [(["--stream", "3"], "tcp"),
                                                (["--stream", "2", "--protocol", "udp"], "udp")])
def test_app_opens_a_stream_from_the_command_line(qtbot, argv: list[str],  # type: ignore[no-untyped-def]
                                                  protocol: str) -> None:
    path = CAPTURES / "zeek-wikipedia-many-conns.pcap"
    window, relay = app_module.start([str(path), *argv])
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.index_mode.opener.opened, timeout=30_000) as opened:
            pass
        conversation = opened.args[1]
        t = window.conversations.result.conversations
        assert t.protocol_names()[conversation] == protocol
        assert int(t.stream[conversation]) == int(argv[1])
        assert window.view.selected_id == conversation
        assert window.details.currentWidget() is window.details.stream
    finally:
        from PySide6.QtCore import QCoreApplication

        QCoreApplication.instance().removeEventFilter(relay)
        relay.deleteLater()


def test_app_stream_needs_a_file(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        app_module.start(["--stream", "3"])
    assert "--stream needs the capture FILE" in capsys.readouterr().err


@pytest.mark.qt_log_ignore("does not support propagateSizeHints")
def test_app_opens_an_index_from_the_command_line(qtbot, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    window, relay = app_module.start(["--index", str(dataset)])
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.index_mode.panel.model.rowCount() > 0, timeout=30_000)
        assert window.index_mode.showing_index and not window.loading  # no sample capture
        assert window.index_mode.dataset == dataset
    finally:
        from PySide6.QtCore import QCoreApplication

        QCoreApplication.instance().removeEventFilter(relay)
        relay.deleteLater()


def test_the_window_does_not_load_the_index_packages_until_an_index_opens() -> None:
    import subprocess
    import sys

    code = ("import sys; import gui.window; print(sorted(m for m in ('pyarrow', 'duckdb', "
            "'dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.splitlines()[-1] == "[]"


def test_files_changed_under_the_view_show_blanks_and_say_so(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build_index([CAPTURES / "zeek-http-get.pcap", CAPTURES / "zeek-dns53.pcap"], tmp_path)
    runner = JobRunner()
    panel = IndexPanel(runner)
    qtbot.addWidget(panel)
    try:
        with qtbot.waitSignal(panel.model.arranged, timeout=30_000):
            panel.open_index(tmp_path)
        rows = panel.model.rowCount()
        for path in tmp_path.glob("*.parquet"):
            path.unlink()  # an index run removed the files (their captures now fail)
        with qtbot.waitSignal(panel.model.arrangeFailed, timeout=5_000) as failed:
            assert panel.model.index(0, 0).data() == ""
        assert "changed while it was open" in failed.args[0]
        assert panel.model.rowCount() == rows
        assert panel.model.row_of_index(0) is None
        panel.view.selectRow(0)  # nothing to open, nothing raised
    finally:
        runner.shutdown()
        panel.close_index()
