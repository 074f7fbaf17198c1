"""Importing this module loads the built-in analyses and plug-ins.

Each import registers what its module adds: protocols (:mod:`engine.protocols`), columns
(:mod:`engine.columns`), analyses and link plug-ins (:mod:`engine.hooks`), dissectors
(:mod:`engine.dissect`). A plug-in of your own does the same from its own module.
"""

from __future__ import annotations

from .tcp import analysis as _tcp  # noqa: F401  (TCP states, Zeek conn_state/history, counts)
from .tcp import health as _tcp_health  # noqa: F401  (Wireshark's TCP analysis, health columns)
from .zwave import dissect as _zwave  # noqa: F401  (Z-Wave 261/262/297, plug-in + dissection)

# isort: split
# after the TCP analysis: it reads the TCP "client" column to know who opened a connection
from .app import analysis as _app  # noqa: F401  (service, server name, TLS/QUIC/HTTP/DNS/SSH)

# isort: split
# last: its columns follow the others in the JSON (as before it was imported here)
from . import tunnels as _tunnels  # noqa: F401  (the tunnel columns of inner conversations)
