"""GUI test set-up: private settings per test, no worker left running, shared windows/data."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from engine import WIRESHARK, FlowResult, extract_flows_from_file
from engine.columns import COLUMNS as EXTRA_COLUMNS
from gui import recent
from gui.collector import collect_on_gui_thread
from gui.jobs import Job
from gui.table.data import ConversationData
from gui.window import MainWindow
from tests.conftest import CAPTURES
from tests.gui.synthetic_table import SYNTHETIC_EXTRA, synthetic_result

WIKIPEDIA = CAPTURES / "zeek-wikipedia-many-conns.pcap"
NMAP = CAPTURES / "zeek-nmap-vsn-many-conns.pcap"
INVALID = CAPTURES / "libpcap-pcap-invalid-version-1.pcap"
CUT_SHORT = CAPTURES / "scapy-bad-rsn-cut-mid-record.pcap"


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path) -> Iterator[Path]:
    """Every test gets an empty settings directory (recent files, hidden columns, …)."""
    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder
    recent.wait_for_writes()  # (a test's writes land in its own folder, before the next one)


@pytest.fixture(autouse=True)
def collector_on_the_gui_thread(qapp) -> None:  # type: ignore[no-untyped-def]
    """As in the application: cyclic garbage (widgets earlier tests left in cycles among it)
    is collected on the GUI thread, never by a loading thread (see gui.collector)."""
    collect_on_gui_thread(qapp)


@pytest.fixture(autouse=True)
def no_job_left_running() -> Iterator[None]:
    """Fail a test that leaves a worker running (after its windows were closed)."""
    yield
    assert Job.running_count() == 0, "a background job was still running after the test"


@pytest.fixture(autouse=True)
def message_boxes(request: pytest.FixtureRequest,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Message boxes are recorded instead of shown (a modal box would hang the test).

    A test that expects boxes asks for this fixture and inspects the list; any other test fails
    if a box was shown (e.g. an engine error while loading).
    """
    shown: list[tuple[str, str]] = []

    def record(_parent: object, title: str, text: str, *args: object) -> int:
        shown.append((title, text))
        return 0

    for name in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, record)
    yield shown
    if "message_boxes" not in inspect.signature(request.function).parameters:
        assert shown == [], f"unexpected message box: {shown}"


@pytest.fixture
def window(qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    """An empty main window (no capture loaded); closed (and its jobs stopped) afterwards."""
    w = MainWindow()
    qtbot.addWidget(w)
    return w


def load_window(qtbot, window: MainWindow, path: Path) -> ConversationData:  # type: ignore[no-untyped-def]
    """Open ``path`` in ``window`` and wait until it is shown."""
    with qtbot.waitSignal(window.captureLoaded, timeout=30_000) as blocker:
        window.open_file(path)
    return blocker.args[0]


@pytest.fixture
def open_result() -> Iterator[Callable[[Path | str], FlowResult]]:
    """Open captures (a path, or the name of one in tests/data/captures) with Wireshark's
    semantics; every result is closed after the test."""
    opened: list[FlowResult] = []

    def open_(path: Path | str) -> FlowResult:
        result = extract_flows_from_file(CAPTURES / path if isinstance(path, str) else path,
                                         WIRESHARK)
        opened.append(result)
        return result
    yield open_
    for result in opened:
        result.close()


@pytest.fixture
def wikipedia_data() -> Iterator[ConversationData]:
    result = extract_flows_from_file(WIKIPEDIA, WIRESHARK)
    yield ConversationData(result)
    result.close()


@pytest.fixture
def synthetic_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the synthetic table's extra columns for the duration of a test."""
    for spec in SYNTHETIC_EXTRA:
        monkeypatch.setitem(EXTRA_COLUMNS, spec.name, spec)


@pytest.fixture
def synthetic_data(synthetic_columns: None) -> ConversationData:
    return ConversationData(synthetic_result(3000, seed=7))


@pytest.fixture(scope="session")
def generated_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30,000-packet capture (about 15 MB) of 300 UDP and TCP flows, built here byte by
    byte: many chunks at a small chunk size, so a load can be cancelled half way."""
    import struct

    from tests.engine.capwriter import pcap_bytes

    records = []
    t0 = 1_700_000_000_000_000_000
    for k in range(30_000):
        flow = k % 300
        proto = 17 if flow % 3 else 6
        src = bytes((10, 0, flow >> 8, flow & 0xFF))
        dst = bytes((192, 168, 1, 1 + flow % 7))
        payload = bytes(400)
        if proto == 17:
            l4 = struct.pack("!HHHH", 40000 + flow, 53, 8 + len(payload), 0)
        else:
            l4 = struct.pack("!HHIIBBHHH", 40000 + flow, 443, k, 0, 0x50, 0x18, 512, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4) + len(payload), k & 0xFFFF,
                         0, 64, proto, 0, src, dst)
        eth = bytes(6) + bytes((2, 0, 0, 0, 0, 1)) + b"\x08\x00"
        records.append((eth + ip + l4 + payload, t0 + k * 1_000_000))
    out = tmp_path_factory.mktemp("generated") / "generated.pcap"
    out.write_bytes(pcap_bytes(records))
    return out
