"""The optional compiled record walker, and the switch that turns it off.

``FLOWSCOPE_PURE_PYTHON=1`` in the environment makes the readers use their pure-Python loops
(tests run both and compare).
"""

from __future__ import annotations

from types import ModuleType

from ..compiled import compiled_module


def walker() -> ModuleType | None:
    """The compiled ``_walk`` module, or None when it is not built or switched off."""
    return compiled_module("engine.capture._walk")
