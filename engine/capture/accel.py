"""The optional compiled record walker, and the switch that turns it off.

``FLOWSCOPE_PURE_PYTHON=1`` in the environment makes the readers use their pure-Python loops
(tests run both and compare).
"""

from __future__ import annotations

import os
from types import ModuleType


def walker() -> ModuleType | None:
    """The compiled ``_walk`` module, or None when it is not built or switched off."""
    if os.environ.get("FLOWSCOPE_PURE_PYTHON"):
        return None
    try:
        from . import _walk  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _walk
