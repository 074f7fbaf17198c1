"""The dissection of the one packet a user clicks: a tree of layers and fields with byte ranges.

The generic part reads IP-family link types with scapy (:mod:`.scapy_layers`); a plug-in whose
link types scapy does not know registers its own dissector for them (Z-Wave does, from its
package). Views only render the :class:`~engine.dissect.tree.Node` tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..result import FlowResult
from .tree import Node

#: dissector(result, packet index) -> top-level nodes, for the packets of its link types
Dissector = Callable[[FlowResult, int], list[Node]]

_DISSECTORS: dict[int, Dissector] = {}


def register_dissector(linktypes: Iterable[int], dissector: Dissector) -> None:
    """Dissect packets of ``linktypes`` with ``dissector`` instead of scapy."""
    for linktype in linktypes:
        _DISSECTORS[int(linktype)] = dissector


def unregister_dissector(linktypes: Iterable[int]) -> None:
    for linktype in linktypes:
        _DISSECTORS.pop(int(linktype), None)


def packet_tree(result: FlowResult, packet: int) -> tuple[bytes, list[Node]]:
    """The captured bytes of ``packet`` and its tree (what the packets pane shows)."""
    data = result.packet_bytes(packet)
    linktype = int(result.packets.linktype[packet])
    own = _DISSECTORS.get(linktype)
    if own is not None:
        return data, own(result, packet)
    from .scapy_layers import dissect  # scapy loads on the first click, not with the engine

    return data, dissect(data, linktype)


def warm_up() -> None:
    """Load scapy's layers ahead of the first click (it takes about half a second)."""
    from .scapy_layers import warm_up as load

    load()


__all__ = ["Dissector", "Node", "packet_tree", "register_dissector", "unregister_dissector",
           "warm_up"]
