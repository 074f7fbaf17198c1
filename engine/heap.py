"""Give memory back to the operating system: freed array memory once an analysis is done, and
the pages of a file map once a stretch of it has been read (:func:`release_mapped`).

Each phase (decoding, grouping, the TCP analysis) allocates and frees many column-sized
temporaries. glibc keeps freed memory in its heaps, which the next phase reuses without page
faults, but which a GUI process would otherwise hold (~200 MB after a million packets) long after
the load. ``malloc_trim`` at the end hands it back. Trimming between phases lowered the peak by
only 8 MB and cost 0.08 s of page faults; forcing every large array onto its own mapping cost
0.4 s. Only on glibc; elsewhere this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import mmap
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


#: the largest page-cache folio a read through a map is seen to map around it (2 MB)
FOLIO_SPAN = 2 << 20


def release_mapped(mapping: mmap.mmap, start: int, stop: int) -> None:
    """Drop the resident pages of ``mapping[start:stop]`` (a map of a file from its start) and
    of the folios around it; the data stays in the page cache and a later read maps it again.

    A read maps the whole folio it falls in, which reaches past the stretch read: letting go
    of the stretch alone left those pages mapped, and a pass over a 20M-packet capture's TCP
    options kept 334 MB of it resident. The stretch is widened to :data:`FOLIO_SPAN`
    boundaries. A closed map is left alone."""
    first, stop = folio_window(start, stop, len(mapping)) if not mapping.closed else (0, 0)
    if stop > first:
        with contextlib.suppress(ValueError, OSError):
            mapping.madvise(mmap.MADV_DONTNEED, first, stop - first)


def folio_window(start: int, stop: int, size: int) -> tuple[int, int]:
    """``[start, stop)`` widened to :data:`FOLIO_SPAN` boundaries, within a map of ``size``."""
    return (start // FOLIO_SPAN) * FOLIO_SPAN, min(-(-stop // FOLIO_SPAN) * FOLIO_SPAN, size)
