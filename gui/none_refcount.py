"""Workaround: PySide6 6.12.0 on CPython 3.11 drops a reference to ``None`` on every call of a
Qt method that returns nothing (``setText``, ``update``, ``processEvents``, every ``QPainter``
call pyqtgraph makes while painting…). ``None`` has a few tens of thousands of references at
start-up, so a session crashed with "Fatal Python error: none_dealloc" after that many calls —
a minute of panning a chart.

CPython 3.12 made ``None`` immortal (PEP 683: its count is never used); this gives it the same
standing on 3.11 by adding 2**40 references to its count once, which no session can spend.
Remove when PySide6 is fixed or Python 3.11 is no longer supported.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40


def protect_none() -> None:
    """Give ``None`` a reference count no bug can exhaust (CPython < 3.12 only)."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    count = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt: the first field of PyObject
    if count.value < RESERVE:
        count.value += RESERVE


protect_none()
