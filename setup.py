"""Builds the optional compiled modules; everything else is pyproject.toml.

``engine/capture/_walk.c`` walks capture records; ``engine/decode/_common.c`` decodes the
common packet shapes; ``engine/aggregate/_tuples.c`` is the running table's tuple index and
``_sums.c`` its per-chunk sums; ``engine/tcp/_expert.c`` is the TCP analysis (``tcp.analysis.*``);
``engine/tcp/_seqstats.c`` counts retransmissions, out-of-order segments and missing bytes;
``engine/tcp/_states.c`` runs the summary's state machines and builds Zeek's history;
``engine/app/csrc/`` (the module ``engine.app._parsers``) walks TLS, DNS and X.509 for the
application layer. All are ``optional=True``: without a C compiler the install still succeeds
and Flowscope uses the pure-Python equivalents (same results, slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("engine.capture._walk", ["engine/capture/_walk.c"], optional=True),
    Extension("engine.decode._common", ["engine/decode/_common.c"],
              depends=["engine/buffer_args.h", "engine/prefetch.h"], optional=True),
    Extension("engine.aggregate._tuples", ["engine/aggregate/_tuples.c"], optional=True),
    Extension("engine.aggregate._sums", ["engine/aggregate/_sums.c"],
              depends=["engine/buffer_args.h"], optional=True),
    Extension("engine.tcp._expert", ["engine/tcp/_expert.c"], optional=True),
    Extension("engine.tcp._seqstats", ["engine/tcp/_seqstats.c"],
              depends=["engine/buffer_args.h"], optional=True),
    Extension("engine.tcp._states", ["engine/tcp/_states.c"],
              depends=["engine/buffer_args.h"], optional=True),
    Extension("engine.app._parsers",
              [f"engine/app/csrc/{name}.c"
               for name in ("module", "tls", "dns", "x509", "lists", "digest")],
              depends=["engine/app/csrc/parsers.h"], optional=True),
])
