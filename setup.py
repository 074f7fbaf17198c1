"""Builds the optional compiled modules; everything else is pyproject.toml.

``engine/capture/_walk.c`` walks capture records; ``engine/app/_parsers.c`` walks TLS and DNS
messages for the application layer. Both are ``optional=True``: without a C compiler the install
still succeeds and Flowscope uses the pure-Python equivalents (same results, slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("engine.capture._walk", ["engine/capture/_walk.c"], optional=True),
    Extension("engine.app._parsers", ["engine/app/_parsers.c"], optional=True),
])
