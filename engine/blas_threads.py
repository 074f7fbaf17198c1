"""One BLAS thread, unless the environment says otherwise: Flowscope does no linear algebra.

numpy's OpenBLAS starts a thread per core when numpy is imported, and those threads spin for a
while after numpy's import-time check. On this 2-core machine that cost 0.12 s of CPU a run,
taken from the processes doing the work: a small capture's command took 0.26 s instead of
0.29 s (medians) with one thread. This has to happen before numpy is imported, so the engine
package imports this module first. ``OPENBLAS_NUM_THREADS`` set in the environment wins, and
nothing changes when numpy is already imported.
"""

from __future__ import annotations

import os
import sys

if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
