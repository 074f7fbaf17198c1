"""Z-Wave radio frames (pcap link types 261, 262, 297) as conversations.

Modules: :mod:`.tap` (TAP header), :mod:`.checksum`, :mod:`.frames` (vectorised MAC decode),
:mod:`.routing` (exact path for routed/explore/multicast details), :mod:`.commands` (names),
:mod:`.conversations` (grouping), :mod:`.plugin` (pipeline registration), :mod:`.fields`
(exports and views), :mod:`.api` (``extract_zwave_flows``), :mod:`.synth` and :mod:`.capfile`
(test captures).
"""

from __future__ import annotations

from .api import ZWaveFlows, extract_zwave_flows
from .commands import command_class_name, command_name, header_type_name
from .frames import Damage, FrameFlag, ZWaveFrames
from .plugin import frames_of

__all__ = ["Damage", "FrameFlag", "ZWaveFlows", "ZWaveFrames", "command_class_name",
           "command_name", "extract_zwave_flows", "frames_of", "header_type_name"]
