"""Appends to the packet store's spill files on a thread of its own.

A spilled load writes about 100 bytes a packet (530 MB for 5M packets); written by the thread
that groups the conversations, those writes were a third to a half of its time (the kernel
finds and fills a page-cache page for every 4 KB), while the decoding process idled. The
writes release the interpreter lock, so this thread runs them on whichever core is free. What
is queued is bounded (:data:`QUEUED_BYTES`): a slow disk slows the load down instead of
filling memory. The first error is raised to the caller at its next call.
"""

from __future__ import annotations

import queue
import threading
from typing import BinaryIO

import numpy as np

#: bytes handed over and not yet written, at most (a few chunks' columns)
QUEUED_BYTES = 64 << 20


class SpillWriter:
    """Writes ``(file, array)`` pieces in the order given (see the module docstring)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[BinaryIO, np.ndarray] | None] = queue.SimpleQueue()
        self._room = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="flowscope-spill", daemon=True)
        self._thread.start()

    def write(self, out: BinaryIO, values: np.ndarray, copy: bool = True) -> None:
        """Append ``values`` to ``out``: a copy, unless ``copy`` is False (the caller then
        never changes them)."""
        data = np.array(values, copy=True, order="C") if copy else np.ascontiguousarray(values)
        with self._room:
            while self._pending and self._pending + data.nbytes > QUEUED_BYTES:
                self._room.wait()
            self._raise()
            self._pending += data.nbytes
        self._queue.put((out, data))

    def flush(self) -> None:
        """Wait until everything handed over is written; raise the first error."""
        with self._room:
            while self._pending:
                self._room.wait()
            self._raise()

    def stop(self) -> None:
        """Write nothing more (what is queued is dropped) and end the thread."""
        self._error = self._error or _Stopped()
        self._queue.put(None)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None and not isinstance(self._error, _Stopped):
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            out, data = item
            try:
                if self._error is None:
                    _append(out, data)
            except BaseException as exc:  # raised to the caller at its next call
                self._error = exc
            finally:
                with self._room:
                    self._pending -= data.nbytes
                    self._room.notify_all()


def _append(out: BinaryIO, data: np.ndarray) -> None:
    out.write(data.data.cast("B"))


class _Stopped(Exception):
    """The writer was stopped: later pieces are dropped, not written."""
