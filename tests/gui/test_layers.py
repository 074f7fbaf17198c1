"""The layering rule: the engine never loads Qt; the GUI imports the engine, never the reverse."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "gui")


def test_import_engine_in_a_fresh_interpreter_loads_no_qt() -> None:
    code = ("import sys, engine, engine.plugins, engine.export.conversations\n"
            f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120, cwd=ROOT)
    assert proc.stdout.strip() == ""


def test_no_engine_module_imports_qt_or_the_gui() -> None:
    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0] in QT]
    assert offenders == []
