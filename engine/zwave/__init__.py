"""Z-Wave radio frames (pcap link types 261, 262, 297) as conversations.

Modules: :mod:`.tap` (TAP header), :mod:`.checksum`, :mod:`.frames` (vectorised MAC decode),
:mod:`.routing` (exact path for routed/explore/multicast details), :mod:`.commands` (names),
:mod:`.conversations` (grouping), :mod:`.protocol` (its protocol, address family and
unassigned reason in the registries), :mod:`.plugin` (the link plug-in), :mod:`.fields` (its
columns), :mod:`.dissect` (one frame as a tree), :mod:`.api` (``extract_zwave_flows``),
:mod:`.synth` (test captures).
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (the pipeline imports only ``plugin``).
_WHERE = {
    "ZWaveFlows": "api", "extract_zwave_flows": "api", "command_class_name": "commands",
    "command_name": "commands", "header_type_name": "commands", "Damage": "frames",
    "FrameFlag": "frames", "ZWaveFrames": "frames", "frames_of": "plugin",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'engine.zwave' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)

__all__ = ["Damage", "FrameFlag", "ZWaveFlows", "ZWaveFrames", "command_class_name",
           "command_name", "extract_zwave_flows", "frames_of", "header_type_name"]
