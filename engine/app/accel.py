"""The optional compiled parsers (``engine/app/csrc/``), and the switch that turns them off.

``FAST`` is the compiled module, or None when it is not built or ``FLOWSCOPE_PURE_PYTHON=1`` was
set when Flowscope started; the parsers in :mod:`engine.app.tls` and :mod:`engine.app.dns` use it
when it is there and their own Python walk otherwise (the same results: tests set ``FAST`` to
None and compare).
"""

from __future__ import annotations

from types import ModuleType

from ..compiled import compiled_module

FAST: ModuleType | None = compiled_module("engine.app._parsers")
