"""File ▸ Open Recent: the last captures opened, newest first, kept in QSettings.

A capture is one file, a folder, or a set of files read as one; a single path is stored as it
always was, a set as a JSON list (an absolute path never starts with "[").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from gui.settings import read_list, settings

KEY = "recent/files"
LIMIT = 10

RecentCapture = tuple[Path, ...]


def _decode(entry: str) -> RecentCapture:
    if entry.startswith("["):
        try:
            items = json.loads(entry)
        except ValueError:
            items = None
        if isinstance(items, list) and items and all(isinstance(i, str) for i in items):
            return tuple(Path(i) for i in items)
    return (Path(entry),)


def _encode(paths: Sequence[str | Path]) -> str:
    resolved = [str(Path(p).resolve()) for p in paths]
    return resolved[0] if len(resolved) == 1 else json.dumps(resolved)


def recent_captures() -> list[RecentCapture]:
    """The captures opened last, newest first: each the file(s) or folder opened together."""
    return [_decode(entry) for entry in read_list(KEY)]


def add_recent(paths: str | Path | Sequence[str | Path]) -> list[RecentCapture]:
    """Put the capture first (once), keep the newest :data:`LIMIT`; returns the new list."""
    entry = _encode([paths] if isinstance(paths, str | Path) else paths)
    entries = [entry] + [e for e in read_list(KEY) if e != entry]
    settings().setValue(KEY, entries[:LIMIT])
    return [_decode(e) for e in entries[:LIMIT]]


def clear_recent() -> None:
    settings().remove(KEY)
