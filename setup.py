"""Builds the optional record walker (engine/capture/_walk.c); everything else is pyproject.toml.

``optional=True``: without a C compiler the install still succeeds and Flowscope uses its
pure-Python walker (same results, slower on very large files).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("engine.capture._walk", ["engine/capture/_walk.c"], optional=True)])
