"""The generic dissection: a packet of an IP-family link type as scapy reads it.

The layer class is chosen by link type (Ethernet, Linux cooked v1/v2, raw IP, BSD loopback, …).
Runs for the one packet a user clicks, never for a capture.

Byte ranges: scapy does not record where a field was found, but every dissected layer keeps the
bytes it was built from (``original``), so a layer starts at ``len(packet) - len(original)``;
inside a layer the fields are read again one by one with their own ``getfield`` to learn how
much each consumed (bit fields share bytes). Where that fails the range is the whole layer.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..capture import linktypes as lt
from .tree import Node

MAX_VALUE_TEXT = 160
#: scapy's import and its global configuration are not thread-safe: one dissection at a time
_SCAPY = threading.Lock()


def _scapy_class(linktype: int) -> Any:
    """The scapy layer a packet of ``linktype`` starts with (None if scapy knows none)."""
    from scapy.config import conf
    from scapy.layers import all as _all  # noqa: F401  (registers every layer and link type)
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Ether, Loopback

    fixed = {lt.ETHERNET: Ether, lt.LINUX_SLL: CookedLinux, lt.LINUX_SLL2: CookedLinuxV2,
             lt.NULL: Loopback, lt.IPV4: IP, lt.IPV6: IPv6}
    return fixed.get(linktype) or conf.l2types.num2layer.get(linktype)


def dissect(data: bytes, linktype: int) -> list[Node]:
    """Top-level nodes (one per layer) of a packet of an IP-family link type."""
    with _SCAPY:
        return _dissect(data, linktype)


def _dissect(data: bytes, linktype: int) -> list[Node]:
    cls = _scapy_class(linktype)
    if cls is None:
        return [Node(f"Link type {lt.name(linktype)}: not dissected", 0, len(data))]
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # no dissection chatter
    try:
        packet = cls(data)
    except Exception as exc:  # scapy's own errors on malformed input: say so, show the bytes
        return [Node(f"{cls.__name__}: could not be dissected ({type(exc).__name__})",
                     0, len(data))]
    nodes = []
    layer = packet
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        nodes.append(_layer_node(layer, len(data)))
        layer = layer.payload
    return nodes


def _layer_node(layer: Any, total: int) -> Node:
    original = getattr(layer, "original", None) or b""
    start = total - len(original)
    payload = getattr(layer.payload, "original", None) or b""
    own = max(len(original) - len(payload), 0)
    summary = ""
    try:
        summary = layer.mysummary() if layer.__class__.__name__ not in ("Raw", "Padding") else ""
    except Exception:  # a summary is decoration: any layer's own bug must not hide the tree
        summary = ""
    label = layer.name + (f": {summary}" if isinstance(summary, str) and summary else "")
    if layer.__class__.__name__ in ("Raw", "Padding"):
        label = f"{layer.name}: {own} bytes"
    node = Node(label, start, own)
    node.children = _field_nodes(layer, original, start, own)
    return node


def _field_nodes(layer: Any, original: bytes, start: int, own: int) -> list[Node]:
    out = []
    ranges = _field_ranges(layer, original, own)
    for f in layer.fields_desc:
        if not _present(f, layer):
            continue
        value = layer.getfieldval(f.name)
        try:
            text = f.i2repr(layer, value)
        except Exception:  # same reason as above: show the raw value instead
            text = repr(value)
        text = str(text)
        if len(text) > MAX_VALUE_TEXT:
            text = text[:MAX_VALUE_TEXT] + "…"
        a, b = ranges.get(f.name, (0, own))
        node = Node(f"{f.name}: {text}", start + a, b - a)
        node.children = _sub_packets(value)
        out.append(node)
    return out


def _present(f: Any, layer: Any) -> bool:
    """False for a conditional field whose condition does not hold (ICMP's timestamp fields
    on an echo request, DNS's length outside TCP)."""
    cond = getattr(f, "cond", None)
    if cond is None or not hasattr(f, "fld"):
        return True
    try:
        return bool(cond(layer))
    except Exception:  # a condition that needs dissection context: show the field
        return True


def _sub_packets(value: Any) -> list[Node]:
    """Packets inside a field (DNS questions, options as packets): their fields, no ranges."""
    from scapy.packet import Packet

    items = value if isinstance(value, list) else [value]
    nodes = []
    for item in items:
        if isinstance(item, Packet):
            node = Node(str(item.name))
            for f in item.fields_desc:
                try:
                    text = str(f.i2repr(item, item.getfieldval(f.name)))
                except Exception:  # decoration only, as above
                    text = repr(item.getfieldval(f.name))
                node.children.append(Node(f"{f.name}: {text[:MAX_VALUE_TEXT]}"))
            nodes.append(node)
    return nodes


def _field_ranges(layer: Any, original: bytes, own: int) -> dict[str, tuple[int, int]]:
    """Byte range of each field inside the layer, by re-reading the fields in order."""
    ranges: dict[str, tuple[int, int]] = {}
    rest: Any = original
    bit = 0
    try:
        for f in layer.fields_desc:
            rest, _ = f.getfield(layer, rest)
            if isinstance(rest, tuple):  # inside bit fields: (bytes left, bits used of them)
                after = (len(original) - len(rest[0])) * 8 + rest[1]
            else:
                after = (len(original) - len(rest)) * 8
            a, b = bit // 8, -(-after // 8)
            if b > own:
                break  # read into the payload: this layer dissects in its own way
            ranges[f.name] = (a, max(b, a))
            bit = after
    except Exception:  # the layer's fields need more context than getfield alone: whole layer
        return ranges
    return ranges


def warm_up() -> None:
    """Import scapy's layers ahead of the first click (it takes about half a second)."""
    with _SCAPY:
        _scapy_class(lt.ETHERNET)
