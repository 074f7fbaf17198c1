"""The architecture's rules, checked by the tools that state them (pyproject.toml): the
import-linter contracts (the engine never imports Qt or the GUI; each layer imports only the
layers below it) and mypy on the engine. Plus the one rule a static graph cannot see: running
the engine loads no Qt (it runs headless, in the CLI and in worker processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "gui")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, check=False)


def test_import_contracts_hold() -> None:
    proc = _run("-c", "import sys; from importlinter.cli import lint_imports_command as c; "
                      "sys.exit(c())")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout and "KEPT" in proc.stdout


def test_mypy_is_clean_on_the_engine() -> None:
    proc = _run("-m", "mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_running_the_engine_loads_no_qt() -> None:
    code = (
        "import sys, engine, engine.cli\n"
        "from engine.export import conversations\n"
        "from tests.conftest import CAPTURES\n"
        "r = engine.extract_flows_from_file(CAPTURES / 'zeek-http-get.pcap')\n"
        "conversations.conversation_records(r)\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})))\n"
    )
    proc = _run("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
