"""The optional compiled modules, and the one switch that turns them all off.

``pip install`` builds them when a C compiler is present (``setup.py``); without one, or with
``FLOWSCOPE_PURE_PYTHON=1`` in the environment, each caller uses its Python equivalent: the same
results, slower (the tests run both and compare).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import numpy as np


def compiled_module(name: str) -> ModuleType | None:
    """The compiled module ``name`` (``engine.tcp._expert``), or None when it is not built or
    is switched off."""
    if os.environ.get("FLOWSCOPE_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def contiguous(values: np.ndarray, dtype: type) -> np.ndarray:
    """``values`` as the compiled modules read an argument: C-contiguous, of ``dtype`` (copied
    only when it is not so already)."""
    return np.ascontiguousarray(values, dtype=dtype)
