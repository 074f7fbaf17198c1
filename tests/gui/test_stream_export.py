"""Export Stream: files equal ``flowscope-cli follow`` / ``export-pcap`` output for every format
and direction; progress, cancel and errors; the window's Ctrl+E."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.cli import main
from engine.export.follow import DIRECTION_CHOICES, FOLLOW_FORMATS
from engine.follow import find_tcp_stream
from gui.panes.stream import export as stream_export
from gui.panes.stream.export import StreamExportDialog, suggested_name, write_stream
from tests.conftest import CAPTURES
from tests.gui.conftest import load_window
from tests.gui.stream_helpers import udp_result

FORMATS = tuple(FOLLOW_FORMATS)
HTTP = CAPTURES / "zeek-http-get.pcap"
GAPS = CAPTURES / "zeek-tcp-reassembly.pcap"


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], bytes]:
    """What ``flowscope-cli follow`` writes for each capture, format and direction."""
    out = tmp_path_factory.mktemp("cli")
    files = {}
    for path in (HTTP, GAPS):
        for fmt in FORMATS:
            for direction in DIRECTION_CHOICES:
                target = out / f"{path.stem}-{fmt}-{direction}"
                assert main(["follow", str(path), "--stream", "0", "--format", fmt,
                             "--direction", direction, "-o", str(target)]) == 0
                files[(path.name, fmt, direction)] = target.read_bytes()
    return files


def _export(qtbot, dialog: StreamExportDialog, path: Path) -> Path:  # type: ignore[no-untyped-def]
    dialog.path.setText(str(path))
    with qtbot.waitSignal(dialog.exported, timeout=30_000) as blocker:
        dialog.start_export()
    return blocker.args[0]


@pytest.mark.parametrize("capture", [HTTP, GAPS], ids=lambda p: p.name)
def test_every_format_and_direction_equals_the_cli(qtbot, tmp_path, cli_files,  # type: ignore[no-untyped-def]
                                                   capture: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with extract_flows_from_file(capture, WIRESHARK) as result:
        row = find_tcp_stream(result, 0)
        for fmt in FORMATS:
            for direction in DIRECTION_CHOICES:
                dialog = StreamExportDialog(result, row)
                qtbot.addWidget(dialog)
                dialog.format.setCurrentIndex(dialog.format.findData(fmt))
                dialog.direction.setCurrentIndex(dialog.direction.findData(direction))
                written = _export(qtbot, dialog, out / f"{fmt}-{direction}")
                assert written.read_bytes() == cli_files[(capture.name, fmt, direction)], (
                    fmt, direction)
                assert dialog.result() == StreamExportDialog.DialogCode.Accepted
        assert sorted(p.name for p in out.iterdir()) == sorted(
            f"{f}-{d}" for f in FORMATS for d in DIRECTION_CHOICES)  # no temporary files left


def test_pcap_equals_the_cli(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli = tmp_path / "cli.pcap"
    assert main(["export-pcap", str(HTTP), "--stream", "0", "-o", str(cli)]) == 0
    with extract_flows_from_file(HTTP, WIRESHARK) as result:
        dialog = StreamExportDialog(result, find_tcp_stream(result, 0))
        qtbot.addWidget(dialog)
        dialog.pcap_choice.setChecked(True)
        assert not dialog.format.isEnabled() and not dialog.direction.isEnabled()
        assert dialog.path.text().endswith("zeek-http-get-tcp0.pcap")
        progress: list[object] = []
        dialog.path.setText(str(tmp_path / "gui.pcap"))
        with qtbot.waitSignal(dialog.exported, timeout=30_000):
            job = dialog.start_export()
            assert job is not None
            job.progress.connect(lambda _job, payload: progress.append(payload))
        assert (tmp_path / "gui.pcap").read_bytes() == cli.read_bytes()
        assert progress and progress[-1] == ("Writing packets", 1.0)


def test_udp_streams_export_their_datagrams(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = udp_result([(0, b"ask"), (1, b"answer"), (0, b"again")])
    write_stream(result, 0, tmp_path / "raw", "raw", "both")
    assert (tmp_path / "raw").read_bytes() == b"askansweragain"
    write_stream(result, 0, tmp_path / "a", "raw", "a-to-b")
    assert (tmp_path / "a").read_bytes() == b"askagain"
    assert suggested_name(result, 0, "stream", "yaml", "b-to-a") == "capture-udp0-b-to-a.yaml"


def test_suggested_names_follow_the_choices(qtbot) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(HTTP, WIRESHARK) as result:
        dialog = StreamExportDialog(result, find_tcp_stream(result, 0), direction="b-to-a")
        qtbot.addWidget(dialog)
        assert dialog.path.text().endswith("zeek-http-get-tcp0-b-to-a.bin")
        assert Path(dialog.path.text()).parent == HTTP.parent
        dialog.format.setCurrentIndex(dialog.format.findData("c-array"))
        assert dialog.path.text().endswith("zeek-http-get-tcp0-b-to-a.c")
        dialog.path.setText("/tmp/mine.txt")
        dialog._path_typed("/tmp/mine.txt")
        dialog.format.setCurrentIndex(dialog.format.findData("yaml"))
        assert dialog.path.text() == "/tmp/mine.txt"


def test_cancel_leaves_nothing(qtbot, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    real = stream_export.write_stream
    started = threading.Event()

    def slow(result, conv, path, fmt, direction, cancel, phase):  # type: ignore[no-untyped-def]
        phase("Reading the stream", 0.5)
        started.set()
        cancel.__self__.wait(30)  # the job's cancel flag (a threading.Event)
        return real(result, conv, path, fmt, direction, cancel, phase)

    monkeypatch.setattr(stream_export, "write_stream", slow)
    with extract_flows_from_file(HTTP, WIRESHARK) as result:
        dialog = StreamExportDialog(result, find_tcp_stream(result, 0))
        qtbot.addWidget(dialog)
        dialog.path.setText(str(out / "out.bin"))
        job = dialog.start_export()
        assert job is not None and dialog.running
        assert started.wait(30)
        qtbot.waitUntil(lambda: dialog.progress.value() == 500)
        assert not dialog.path.isEnabled() and not dialog.progress.isHidden()
        with qtbot.waitSignal(job.cancelled, timeout=30_000):
            dialog.reject()  # Cancel while running stops the export, the dialog stays
        assert not dialog.running
        assert dialog.status.text() == "Cancelled; nothing was written."
        assert list(out.iterdir()) == []
        dialog.reject()


def test_errors_show_the_engines_sentence(qtbot, tmp_path, message_boxes) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(HTTP, WIRESHARK) as result:
        dialog = StreamExportDialog(result, find_tcp_stream(result, 0))
        qtbot.addWidget(dialog)
        dialog.path.setText(str(tmp_path / "missing-folder" / "out.bin"))
        job = dialog.start_export()
        assert job is not None
        # (the job may fail before a signal blocker made here could connect: a missing folder is
        # found at once, on the job's thread; the dialog connected before starting it, so its
        # handling of the error is what is waited for)
        qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
        [(title, text)] = message_boxes
        assert title == "Export failed"
        assert text.startswith(f"Cannot write {tmp_path / 'missing-folder' / 'out.bin'}:")
        assert dialog.isEnabled() and dialog.path.isEnabled()


@pytest.fixture
def opened(monkeypatch) -> Iterator[list[StreamExportDialog]]:  # type: ignore[no-untyped-def]
    shown: list[StreamExportDialog] = []
    monkeypatch.setattr(StreamExportDialog, "open", lambda self: shown.append(self))
    yield shown
    for dialog in shown:
        dialog.deleteLater()


def test_ctrl_e_in_the_window(qtbot, window, opened, message_boxes) -> None:  # type: ignore[no-untyped-def]
    action = window.export_stream_action
    assert action.shortcut().toString() == "Ctrl+E"
    assert not action.isEnabled()
    data = load_window(qtbot, window, HTTP)
    assert action.isEnabled()
    action.trigger()
    assert message_boxes == [("Export Stream",
                              "Select a TCP or UDP conversation to export its stream.")]
    row = find_tcp_stream(data.result, 0)
    assert window.view.select_conversation(row)
    action.trigger()
    [dialog] = opened
    assert dialog.flow_result is data.result and dialog.conversation == row


def test_pane_button_opens_the_dialog(qtbot, opened) -> None:  # type: ignore[no-untyped-def]
    from gui.panes.stream.pane import StreamPane

    with extract_flows_from_file(HTTP, WIRESHARK) as result:
        pane = StreamPane()
        qtbot.addWidget(pane)
        with qtbot.waitSignal(pane.streamShown, timeout=30_000):
            pane.show_conversation(result, find_tcp_stream(result, 0))
        pane.direction.setCurrentIndex(pane.direction.findData("a-to-b"))
        pane.export_button.click()
        [dialog] = opened
        assert dialog.direction.currentData() == "a-to-b"
        pane.shutdown()
