"""The engine must never load Qt: it runs headless, in the CLI and in worker processes."""

from __future__ import annotations

import subprocess
import sys

QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")


def test_importing_engine_and_running_it_loads_no_qt() -> None:
    code = (
        "import sys, engine, engine.cli\n"
        "from engine.export import conversations\n"
        "from tests.conftest import CAPTURES\n"
        "r = engine.extract_flows_from_file(CAPTURES / 'zeek-http-get.pcap')\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert proc.stdout.strip() == ""
