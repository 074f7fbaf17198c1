"""A flag that asks every part of a load to step aside while the GUI thread paints.

A load works in several places at once: its own thread, the thread reading the file ahead, the
decoding process and the forked analyses. The GUI's turn (``gui.jobs.GuiTurn``) parks the first;
the others kept running, and a repaint of the conversation table then took twice its CPU time
(50-70 ms against 28 ms on a quiet machine, measured while a 20M-packet capture loaded). So the
GUI thread also raises this flag for its turn, and those loops wait at their next check
(:func:`step_aside`) until it is lowered, never longer than :data:`MAX_WAIT` seconds.

The flag is one byte of an anonymous shared mapping made at import: processes forked later (the
decoding worker, the analyses) read the same byte. The thread that raised it never waits on it.
"""

from __future__ import annotations

import mmap
import os
import threading
import time

#: the longest a loop waits for the flag to be lowered (a GUI turn is tens of milliseconds)
MAX_WAIT = 0.5
#: how often a waiting loop looks at the flag again (seconds)
POLL = 0.002

_flag = mmap.mmap(-1, 1)  # (MAP_SHARED: inherited by forked processes as the same page)
_raiser: tuple[int, int] = (0, 0)  # (process, thread) that raised it


def raise_flag() -> None:
    """Ask the loops of loads (in every thread but this one, and in forked processes) to wait."""
    global _raiser
    _raiser = (os.getpid(), threading.get_ident())
    _flag[0] = 1


def lower_flag() -> None:
    _flag[0] = 0


def is_raised() -> bool:
    return _flag[0] != 0


def step_aside() -> None:
    """Wait while the flag is raised (cheap when it is not: one byte read)."""
    if not _flag[0] or _raiser == (os.getpid(), threading.get_ident()):
        return
    deadline = time.monotonic() + MAX_WAIT
    while _flag[0] and time.monotonic() < deadline:
        time.sleep(POLL)
