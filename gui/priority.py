"""Background work yields the CPU to the GUI thread: pool threads run at a lower priority.

On a busy two-core machine a load keeps both cores working (its thread, the reader thread and
the decoding process), and a repaint of the table then shared a core with them: at 20M packets
with the capture coming from disk, repaints that take 45 ms on a quiet machine took 95-135 ms.
Linux gives each thread its own nice value and a new thread or forked process inherits its
creator's, so lowering it once in a pool thread puts everything a job starts in the background.
The GUI thread keeps its priority; other platforms are left as they are (there ``setpriority``
would change the whole process).
"""

from __future__ import annotations

import os
import sys
import threading

#: the nice value of pool threads (0 is the default; 19 the lowest priority)
BACKGROUND_NICE = 10


def run_in_background() -> None:
    """Lower the calling thread's priority to :data:`BACKGROUND_NICE` (Linux; never raised
    back, which would need privileges: pool threads only ever run background work)."""
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
    except OSError:  # (a sandbox may refuse: the work still runs, at normal priority)
        pass
