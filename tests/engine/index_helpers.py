"""Helpers for the index tests: the shared captures, and index rows read back as records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.columns import COLUMNS
from engine.index.schema import IndexColumn
from tests.conftest import CAPTURES

#: ../shared beside the repository (the real nDPI captures live there, too big to copy)
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
APP_CAPTURES = SHARED / "captures-app"


def app_capture_files() -> list[Path]:
    if not APP_CAPTURES.is_dir():
        pytest.skip(f"{APP_CAPTURES} is absent")
    return sorted(p for p in APP_CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))


def copy_captures(names: list[str], folder: Path) -> list[Path]:
    """Copies of tests/data/captures files (tests change them)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(CAPTURES / name, folder / name)) for name in names]


def record_paths(record: dict[str, Any]) -> set[tuple[str, ...]]:
    """Every value's place in a JSON conversation record: ("id",), ("a", "address"), …"""
    out: set[tuple[str, ...]] = set()
    groups = _groups()
    for key, value in record.items():
        if isinstance(value, dict) and key in groups:
            out.update((key, sub) for sub in value)
        elif not (value is None and key in groups):  # a null group: its members' columns
            out.add((key,))
    return out


def _groups() -> set[str]:
    """Objects the flattening splits: the contract's endpoints and ICMP fields, and the
    registry's ``group.key`` columns (other objects are values, stored as JSON)."""
    return {"a", "b", "icmp"} | {spec.key.rpartition(".")[0] for spec in COLUMNS.values()
                                 if "." in spec.key}


def expected_value(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The JSON value at ``path`` (None where the record leaves the key out or the group is
    null: both are null in the index)."""
    value: Any = record
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def stored_value(value: Any, column: IndexColumn) -> Any:
    """A value read back from the index, as JSON would have it."""
    if column.kind == "json" and value is not None:
        return json.loads(value)
    return value
