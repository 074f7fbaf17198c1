"""File ▸ Open Recent: the last captures opened, newest first, kept in QSettings."""

from __future__ import annotations

from pathlib import Path

from gui.settings import read_list, settings

KEY = "recent/files"
LIMIT = 10


def recent_files() -> list[Path]:
    return [Path(p) for p in read_list(KEY)]


def add_recent(path: str | Path) -> list[Path]:
    """Put ``path`` first (once), keep the newest :data:`LIMIT` entries; returns the new list."""
    entry = str(Path(path).resolve())
    paths = [entry] + [p for p in read_list(KEY) if p != entry]
    settings().setValue(KEY, paths[:LIMIT])
    return [Path(p) for p in paths[:LIMIT]]


def clear_recent() -> None:
    settings().remove(KEY)
