"""File ▸ Open Recent: the last captures opened, newest first, kept in QSettings.

A capture is one file, a folder, or a set of files read as one; a single path is stored as it
always was, a set as a JSON list (an absolute path never starts with "[").

The list is written on a thread of its own: QSettings writes its file atomically, with an
fsync, and at the end of a big capture's load (gigabytes of spilled columns waiting to reach
the disk) that fsync held the GUI thread for 250-320 ms. Readers wait for a write in flight,
so the list read back is always the one last written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings

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


_writing: threading.Thread | None = None


def _wait_for_write() -> None:
    if _writing is not None:
        _writing.join()


def _write(path: str, entries: list[str]) -> None:
    """(On the writing thread, with a QSettings of its own for the file named on the caller's.)"""
    store = QSettings(path, QSettings.Format.IniFormat)
    store.setValue(KEY, entries)
    store.sync()


def recent_captures() -> list[RecentCapture]:
    """The captures opened last, newest first: each the file(s) or folder opened together."""
    _wait_for_write()
    return [_decode(entry) for entry in read_list(KEY)]


def add_recent(paths: str | Path | Sequence[str | Path]) -> list[RecentCapture]:
    """Put the capture first (once), keep the newest :data:`LIMIT`; returns the new list (the
    file is written in the background; the interpreter waits for it at exit)."""
    global _writing
    entry = _encode([paths] if isinstance(paths, str | Path) else paths)
    _wait_for_write()
    entries = ([entry] + [e for e in read_list(KEY) if e != entry])[:LIMIT]
    _writing = threading.Thread(target=_write, args=(settings().fileName(), entries),
                                name="flowscope-recent")
    _writing.start()
    return [_decode(e) for e in entries]


def clear_recent() -> None:
    _wait_for_write()
    settings().remove(KEY)
