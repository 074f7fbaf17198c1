"""Flowscope's desktop front end (PySide6): opens captures, runs the engine off the GUI thread
and shows its columns. It never recomputes what the engine knows."""

import engine.blas_threads  # noqa: F401  (before pyqtgraph imports numpy: see there)
