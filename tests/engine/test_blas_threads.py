"""numpy's BLAS gets one thread when Flowscope is imported first (it does no linear algebra),
unless the environment already says how many; a process that imported numpy first is left
alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPORT = ("import os; print(os.environ.get('OPENBLAS_NUM_THREADS'), "
          "len(os.listdir('/proc/self/task')))")


def _run(program: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=True, timeout=120, env={**environ, **env})
    return proc.stdout.strip()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
@pytest.mark.parametrize("first", ["import engine", "import engine.cli", "import gui.app; "
                                   "import gui.window"])
def test_flowscope_first_means_one_blas_thread(first: str) -> None:
    assert _run(f"{first}; {REPORT}") == "1 1"  # the variable, and no BLAS thread started


def test_the_environment_wins() -> None:
    assert _run(f"import engine; {REPORT}", OPENBLAS_NUM_THREADS="2").split()[0] == "2"


def test_numpy_imported_first_is_left_alone() -> None:
    assert _run(f"import numpy; import engine; {REPORT}").split()[0] == "None"
