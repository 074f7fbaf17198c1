"""Z-Wave in the engine's registries: its protocol, its endpoint addresses, its unassigned reason.

An endpoint is a node of a home network: ``hi`` = home id, ``lo`` = node id (``frames``'
BROADCAST_NODE and MULTICAST_NODE for those frames), shown as ``C4A815CD/6`` as Z-Wave tools do.
"""

from __future__ import annotations

import re

from ..packets import register_reason
from ..protocols import AddressFamily, Protocol, new_kind, register_family, register_protocol
from .frames import BROADCAST_NODE, MULTICAST_NODE, node_text

_NODE = re.compile(r"^([0-9a-f]{1,8})/([0-9]{1,3}|broadcast|multicast)$", re.IGNORECASE)


def _format(home: int, node: int) -> str:
    return f"{home:08X}/{node_text(node)}"


def _parse(text: str) -> tuple[int, int] | None:
    m = _NODE.match(text)
    if not m:
        return None
    name = m.group(2).lower()
    node = {"broadcast": BROADCAST_NODE, "multicast": MULTICAST_NODE}.get(name)
    return int(m.group(1), 16), node if node is not None else int(name)


#: ``family`` of conversations whose endpoints are Z-Wave nodes
FAMILY_ZWAVE = register_family(AddressFamily(90, "Z-Wave", _format, _parse)).code

ZWAVE = register_protocol(Protocol(
    "zwave", "Z-Wave", new_kind(), "Z-Wave radio frames (link types 261, 262, 297)",
    aliases=("z-wave",)))

#: frames too damaged to key (no home id, source or destination)
DAMAGED = register_reason("damaged Z-Wave frame")
