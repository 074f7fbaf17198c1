"""Shared test set-up: offscreen Qt, the real captures and tshark's answers for them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# before anything can create a QApplication: no display is needed or used
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"
CAPTURES = DATA / "captures"
ORACLE = DATA / "oracle"

CAPTURE_FILES = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))


def oracle(capture: Path | str) -> dict[str, Any]:
    """tshark 4.0.17's answers for a capture in tests/data/captures (see oracle/README.md)."""
    name = Path(capture).name
    return json.loads((ORACLE / f"{name}.json").read_text())


def readable_captures() -> list[Path]:
    return [p for p in CAPTURE_FILES if oracle(p)["readable"]]


@pytest.fixture(params=readable_captures(), ids=lambda p: p.name)
def capture_path(request: pytest.FixtureRequest) -> Path:
    """Each readable real capture in turn."""
    return request.param


@pytest.fixture(params=["compiled", "numpy"])
def tcp_states_both_ways(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs a test with the compiled TCP state machines and history (where built), then with
    the numpy reference (what installs without a compiler use)."""
    if request.param == "numpy":
        from engine.tcp import history, summary

        monkeypatch.setattr(history, "COMPILED", None)
        monkeypatch.setattr(summary, "COMPILED", None)
