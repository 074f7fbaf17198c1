"""A long text output written by two processes: this one writes the beginning while a forked
copy of it makes the end.

The end's text is made in the child from the same columns (it shares every page with this
process until one is written). When the output is a file or a pipe the child writes that text to
the same descriptor itself, once this process has written (and flushed) the beginning: 30 MB of
JSON sent back through a pipe cost about a third of what the child saved. Any other output gets
the text back. A child that fails before writing leaves the end to this process (the same
text); a write the child could not finish is this process's error, as its own write would be.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import TextIO

from ..parallel.halves import ForkedCall


def write_shared(out: TextIO, beginning: Iterable[str], end: Callable[[], str]) -> None:
    """Write the pieces of ``beginning``, then ``end()``, to ``out``; ``end()`` runs in a forked
    copy of this process meanwhile (callers check :func:`engine.parallel.halves.may_fork`)."""
    fd = _descriptor(out)
    if fd is None:
        _text_back(out, beginning, end)
    else:
        _written_there(out, fd, beginning, end)


def _descriptor(out: TextIO) -> int | None:
    try:
        return out.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _text_back(out: TextIO, beginning: Iterable[str], end: Callable[[], str]) -> None:
    child = ForkedCall(end)
    try:
        for piece in beginning:
            out.write(piece)
        text = child.result()
    finally:
        child.close()
    out.write(text if text is not None else end())


def _written_there(out: TextIO, fd: int, beginning: Iterable[str], end: Callable[[], str]) -> None:
    go_read, go_write = os.pipe()
    try:
        child = ForkedCall(partial(_write_when_asked, end, fd, go_read,
                                   out.encoding or "utf-8", out.errors or "strict"))
    finally:
        os.close(go_read)
    try:
        try:
            for piece in beginning:
                out.write(piece)
            out.flush()
            with contextlib.suppress(BrokenPipeError):  # the child is gone: result() says so
                os.write(go_write, b"w")
        finally:
            os.close(go_write)
        outcome = child.result()
    finally:
        child.close()
    if outcome is None:  # failed before writing a byte: the same text, written here
        out.write(end())
        return
    error = outcome[1]
    if error is not None:
        raise OSError(error[0], error[1])


def _write_when_asked(end: Callable[[], str], fd: int, go: int, encoding: str,
                      errors: str) -> tuple[int, tuple[int, str] | None]:
    """(bytes written, (errno, message) of a failed write or None). An exception before the
    first byte (making the text) reaches the parent as a failed child."""
    data = memoryview(end().encode(encoding, errors))
    if os.read(go, 1) != b"w":  # the parent stopped before its part was out
        raise RuntimeError("not asked to write")
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError as exc:
        if not written:
            raise
        return written, (exc.errno or 0, exc.strerror or str(exc))
    return written, None
