"""File ▸ Open Recent: the last captures opened, newest first.

A capture is one file, a folder, or a set of files read as one; a single path is stored as it
always was, a set as a JSON list (an absolute path never starts with "[").

The list lives in ``recent.ini`` beside the settings file and is written by one thread of
its own (:class:`_Writer`). QSettings writes a file atomically, with an fsync, and at the end
of a big capture's load (gigabytes of spilled columns still on their way to the disk) that
fsync held the GUI thread for 250-320 ms. QSettings objects of one file share a lock held
through the write, so the list has a file of its own (any settings read meanwhile would wait
on it), and the list last made is kept here for readers: nothing on the GUI thread waits for
a write. A list from before it had its own file is read from the settings file until the
first write.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings

from gui.settings import read_list, settings

KEY = "recent/files"
LIMIT = 10
#: the list's own file, beside the settings file
FILE_NAME = "recent.ini"

RecentCapture = tuple[Path, ...]
log = logging.getLogger(__name__)

#: (the list's file, its entries) as last made here
_latest: tuple[str, list[str]] | None = None


class _Writer:
    """One thread that writes the lists it is given, in order; the window starts it
    (:func:`start_writer`) before any load can end.

    Not a thread per write: starting one waits for it to run, and at the end of a big load,
    while the load's memory is let go, that wait took 320 ms of the GUI thread (measured)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, list[str]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="flowscope-recent", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def write(self, path: str, entries: list[str]) -> None:
        self._queue.put((path, list(entries)))

    def wait(self) -> None:
        """Until every list given so far is on disk."""
        self._queue.join()

    def close(self) -> None:
        """(At exit: the lists given so far are written first.)"""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                _write(*job)
            except Exception:  # a list that cannot be written is not worth a crash
                log.exception("could not write the recent captures")
            finally:
                self._queue.task_done()
        self._queue.task_done()


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


def list_file() -> str:
    """Where the list is kept: ``recent.ini`` in the settings file's folder."""
    return str(Path(settings().fileName()).with_name(FILE_NAME))


def _entries(path: str) -> list[str]:
    if _latest is not None and _latest[0] == path:
        return list(_latest[1])
    own = QSettings(path, QSettings.Format.IniFormat)
    if own.contains(KEY):
        return read_list(KEY, own)
    return read_list(KEY)  # (kept in the settings file before it had a file of its own)


def _write(path: str, entries: list[str]) -> None:
    """(On the writing thread, with a QSettings of its own.)"""
    store = QSettings(path, QSettings.Format.IniFormat)
    store.setValue(KEY, entries)
    store.sync()


_writer: _Writer | None = None


def start_writer() -> None:
    """Start the writing thread now (it starts at the first write otherwise)."""
    global _writer
    if _writer is None:
        _writer = _Writer()


def _keep(path: str, entries: list[str]) -> None:
    global _latest
    _latest = (path, entries)
    start_writer()
    assert _writer is not None
    _writer.write(path, entries)


def wait_for_writes() -> None:
    """Until the list is on disk (tests; at exit the writer finishes what it was given)."""
    if _writer is not None:
        _writer.wait()


def recent_captures() -> list[RecentCapture]:
    """The captures opened last, newest first: each the file(s) or folder opened together."""
    return [_decode(entry) for entry in _entries(list_file())]


def add_recent(paths: str | Path | Sequence[str | Path]) -> list[RecentCapture]:
    """Put the capture first (once), keep the newest :data:`LIMIT`; returns the new list."""
    entry = _encode([paths] if isinstance(paths, str | Path) else paths)
    path = list_file()
    entries = ([entry] + [e for e in _entries(path) if e != entry])[:LIMIT]
    _keep(path, entries)
    return [_decode(e) for e in entries]


def clear_recent() -> None:
    _keep(list_file(), [])

