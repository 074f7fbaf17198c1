"""Importing this module registers the engine's analyses and link-layer plug-ins.

Each line imports a module whose import adds itself to ``pipeline.ANALYSES`` or
``pipeline.LINK_PLUGINS`` (and registers its extra columns and JSON fields).
"""

from __future__ import annotations

from .tcp import analysis as _tcp  # noqa: F401  (TCP states, Zeek conn_state/history, counts)
from .zwave import plugin as _zwave  # noqa: F401  (Z-Wave link types 261/262/297)
