"""The engine's ``np.unique`` / ``np.isin`` stand-ins (:mod:`engine.sets`) answer as numpy does,
and a small capture's run no longer imports ``numpy.ma`` (their reason to exist)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.sets import byte_table, distinct, is_in
from tests.conftest import CAPTURES

ints = arrays(np.int64, st.integers(0, 60), elements=st.integers(-(1 << 62), 1 << 62))
small = arrays(np.int16, st.tuples(st.integers(0, 5), st.integers(0, 5)),
               elements=st.integers(-4, 4))


@given(ints)
def test_distinct_is_numpy_unique(values: np.ndarray) -> None:
    assert np.array_equal(distinct(values), np.unique(values))
    assert distinct(values).dtype == values.dtype


@given(small)
def test_distinct_flattens_like_numpy_unique(values: np.ndarray) -> None:
    assert np.array_equal(distinct(values), np.unique(values))


@given(ints, ints)
def test_is_in_is_numpy_isin(values: np.ndarray, members: np.ndarray) -> None:
    members = np.unique(members)
    assert np.array_equal(is_in(values, members), np.isin(values, members))


@given(arrays(np.uint8, st.integers(0, 80)),
       st.lists(st.integers(0, 255), max_size=12))
def test_byte_table_is_numpy_isin(values: np.ndarray, members: list[int]) -> None:
    assert np.array_equal(byte_table(members)[values], np.isin(values, members))


def test_small_capture_run_imports_no_masked_arrays() -> None:
    capture = str(CAPTURES / "zeek-http-get.pcap")
    code = ("import sys, io, contextlib\n"
            "from engine.cli import main\n"
            f"sys.argv = ['flowscope-cli', 'conversations', {capture!r},"
            " '--format', 'json', '--quiet']\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main() == 0\n"
            "print('numpy.ma' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "False", proc.stderr
