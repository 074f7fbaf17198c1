"""Give freed array memory back to the operating system once an analysis is done.

Each phase (decoding, grouping, the TCP analysis) allocates and frees many column-sized
temporaries. glibc keeps freed memory in its heaps, which the next phase reuses without page
faults, but which a GUI process would otherwise hold (~200 MB after a million packets) long after
the load. ``malloc_trim`` at the end hands it back. Trimming between phases lowered the peak by
only 8 MB and cost 0.08 s of page faults; forcing every large array onto its own mapping cost
0.4 s. Only on glibc; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    names = (lambda: "libc.so.6", _find_libc)  # the first is free
    for name_of in names:
        name = name_of()
        try:
            trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
        except (OSError, AttributeError, TypeError):
            continue  # not glibc (musl has no malloc_trim)
        return trim
    return None


def _find_libc() -> str | None:
    import ctypes.util  # (it imports subprocess: only when libc.so.6 is not there)

    return ctypes.util.find_library("c")


def release_freed_memory() -> None:
    """Return the heaps' free pages to the system (cheap)."""
    trim = _trim()
    if trim is not None:
        trim(0)


def freeze_startup_objects() -> None:
    """Put every object alive now out of the cyclic garbage collector's reach (``gc.freeze``).

    The modules, classes and functions of start-up (and a GUI's widgets) live as long as the
    program, yet each full collection walked all of them again, several times in a load: in a
    1M-packet CLI run the collector was 5% of the loading thread, and freezing took the median
    run from 0.97 to 0.86 s. It also keeps forked helpers from copying pages only to update
    those objects' collector fields. For programs, at the end of start-up (the GUI does it
    with its own collector, gui/collector.py); not for a library call (what is alive then is
    the caller's, and would never be collected)."""
    import gc

    gc.freeze()
