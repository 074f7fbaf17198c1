"""Flowscope's desktop front end (PySide6): opens captures, runs the engine off the GUI thread
and shows its columns. It never recomputes what the engine knows."""

from . import none_refcount as _none_refcount  # noqa: F401  (PySide6 6.12 / Python 3.11 crash)
