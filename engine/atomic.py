"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one.

The new file is written as a hidden ``.NAME.flowscope-PID-XXXXXXXX.part`` beside the target and
renamed over it when complete. An exception (a cancel, an error, or SIGTERM/SIGINT/SIGHUP turned
into one by :func:`signals_unwind`) removes it; what a SIGKILL or a power cut leaves behind is
swept the next time a file is written into that folder, once no living process can own it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from .errors import ExportError

#: our temporary names: the target's name, the writing process's id, mkstemp's random part
_PART = re.compile(r"\..+\.flowscope-(?P<pid>\d+)-[a-z0-9_]{8}\.part")
#: a process that started this long after a file was last written cannot have written it
#: (process start times are known to the clock tick, boot time only to the second)
_START_SLACK_S = 2.0


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``path`` and rename it over ``path`` on success.

    On any exception (including cancellation) the temporary file is removed and ``path`` is left
    as it was. OS errors become :class:`ExportError` with a sentence naming the file.
    """
    path = Path(path)
    sweep_stale_parts(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.flowscope-{os.getpid()}-",
                                   suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sweep_stale_parts(folder: str | Path) -> list[Path]:
    """Remove the temporary files of ours in ``folder`` that no living process can own: the
    process named in the file is gone, or started after the file was last written (its id was
    reused). Only our own regular files; never another program's, never this process's.
    Best effort: returns what was removed, never raises."""
    removed: list[Path] = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = os.scandir(folder)
    except OSError:
        return removed
    with entries:
        for entry in entries:
            match = _PART.fullmatch(entry.name)
            if match is None:
                continue
            pid = int(match["pid"])
            try:
                info = entry.stat(follow_symlinks=False)
                if (pid == os.getpid() or not stat.S_ISREG(info.st_mode)
                        or (uid is not None and info.st_uid != uid)
                        or _may_own(pid, info.st_mtime)):
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


def _may_own(pid: int, mtime: float) -> bool:
    """Could process ``pid`` still be writing a file last written at ``mtime``?"""
    if pid <= 0:
        return True  # not a process id we would write: leave it alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    except (OSError, OverflowError):
        return True
    started = _start_time(pid)
    return started is None or started <= mtime + _START_SLACK_S


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), where /proc tells it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat(5), counted after the ")" of the name
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


class Interrupted(BaseException):
    """A termination signal arrived; raised so that cleanups (``.part`` files, spill and
    decompressed copies) run on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def signals_unwind() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP raise :class:`Interrupted`, SIGINT ``KeyboardInterrupt``,
    once; later signals wait until the block has cleaned up. Only signals whose handler is the
    default are taken (an ignored SIGHUP under nohup stays ignored), only on the main thread,
    and the previous handlers come back on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if fired:
            return
        fired.append(signum)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Interrupted(signum)

    previous = {}
    wanted = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP")
                                                  else [])
    for signum in wanted:
        current = signal.getsignal(signum)
        if current in (signal.SIG_DFL, signal.default_int_handler):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
