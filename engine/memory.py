"""Give freed array memory back to the operating system as soon as it is freed.

The engine allocates and frees many column-sized temporaries (8 MB each for a million packets).
glibc serves allocations below its adaptive mmap threshold (which grows up to 32 MB after the
first large free) from heaps that it rarely returns, so a process kept ~200 MB it no longer used
after grouping a million packets. Fixing the threshold at 1 MB makes every column-sized array a
private mapping that ``free`` unmaps; small objects are unaffected. Only on glibc; elsewhere this
does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 20


def return_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds; True when it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD,
                                                                       THRESHOLD))
