"""Flowscope's desktop front end (PySide6): opens captures, runs the engine off the GUI thread
and shows its columns. It never recomputes what the engine knows."""
