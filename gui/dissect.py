"""One packet dissected into a tree of layers and fields, each with the bytes it came from.

IP link types go through scapy (chosen by link type: Ethernet, Linux cooked v1/v2, raw IP,
BSD loopback, …). Z-Wave link types have no scapy layer: their tree is the engine's own decode
(:mod:`engine.zwave`). Runs for the one packet a user clicks, never for a capture.

Byte ranges: scapy does not record where a field was found, but every dissected layer keeps the
bytes it was built from (``original``), so a layer starts at ``len(packet) - len(original)``;
inside a layer the fields are read again one by one with their own ``getfield`` to learn how
much each consumed (bit fields share bytes). Where that fails the range is the whole layer.
Qt-free.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.capture import linktypes as lt
from engine.result import FlowResult
from engine.zwave import command_class_name, command_name, frames_of, header_type_name
from engine.zwave.frames import DAMAGE_TEXT, PROFILE_R3, Damage, FrameFlag

MAX_VALUE_TEXT = 160
ZWAVE_LINKTYPES = (lt.ZWAVE_R1_R2, lt.ZWAVE_R3, lt.ZWAVE_TAP)
#: scapy's import and its global configuration are not thread-safe: one dissection at a time
_SCAPY = threading.Lock()


@dataclass
class Node:
    """A tree row: its text and the bytes it covers (``length`` 0: no known range)."""

    label: str
    start: int = 0
    length: int = 0
    children: list[Node] = field(default_factory=list)


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


def zwave_nodes(result: FlowResult, packet: int) -> list[Node]:
    """The engine's decode of one Z-Wave frame, laid out like a dissection."""
    frames = frames_of(result)
    rows = frames.rows_of(np.array([packet]))
    caplen = int(result.packets.caplen[packet])
    if rows[0] < 0:
        return [Node("Z-Wave: this packet was not decoded", 0, caplen)]
    r = int(rows[0])
    mac = int(frames.mac_offset[r])
    nodes = []
    if mac:
        tap = Node("Z-Wave TAP header", 0, mac)
        if frames.rssi[r] == frames.rssi[r]:  # not NaN
            tap.children.append(Node(f"RSSI: {float(frames.rssi[r]):.1f} dBm"))
        if frames.frequency_khz[r] >= 0:
            tap.children.append(Node(f"Frequency: {int(frames.frequency_khz[r])} kHz"))
        nodes.append(tap)
    damage = Damage(int(frames.damage[r]))
    length = int(frames.length[r])
    profile = "R3" if frames.profile[r] == PROFILE_R3 else "R1/R2"
    mac_node = Node(f"Z-Wave MAC ({profile}): {frames.describe(r)}", mac,
                    max(min(length, caplen - mac), 0))
    if damage != Damage.NONE:
        mac_node.children.append(Node(f"Damaged: {DAMAGE_TEXT[damage]}"))
    r3 = frames.profile[r] == PROFILE_R3
    dst = int(frames.dst[r])
    flags = FrameFlag(int(frames.flags[r]))
    names = [f.name.lower().replace("_", " ") for f in FrameFlag if f in flags and f.name]
    fields = [
        (f"Home ID: {int(frames.home_id[r]):08X}", mac, 4),
        (f"Source node: {int(frames.src[r])}", mac + 4, 1),
        (f"Frame control: header type {int(frames.header_type[r])} "
         f"({header_type_name(int(frames.header_type[r]))}); {', '.join(names) or 'no flags'}",
         mac + 5, 2),
        (f"Length: {length}", mac + 7, 1),
        (f"Sequence number: {int(frames.sequence[r])}", mac + (8 if r3 else 6), 1),
        (f"Destination: {'broadcast' if dst == 0xFF else 'multicast' if dst == 0x100 else dst}",
         mac + (9 if r3 else 8), 1),
    ]
    cc, cmd = int(frames.command_class[r]), int(frames.command[r])
    at = int(frames.payload_offset[r])
    if cc >= 0:
        fields.append((f"Command class: {command_class_name(cc)} (0x{cc:02X})", at, 1))
    if cmd >= 0:
        fields.append((f"Command: {command_name(cc, cmd)} (0x{cmd:02X})", at + 1, 1))
        params = int(frames.payload_length[r]) - 2
        if params > 0:
            fields.append((f"Parameters: {params} bytes", at + 2, params))
    checksum = {1: "good", 0: "bad", -1: "not captured"}[int(frames.checksum[r])]
    width = 2 if r3 else 1
    fields.append((f"Checksum ({'CRC-16' if r3 else 'XOR'}): {checksum}",
                   mac + length - width, width))
    mac_node.children = [Node(text, a, n) for text, a, n in sorted(fields, key=lambda f: f[1])]
    nodes.append(mac_node)
    return nodes


def warm_up() -> None:
    """Import scapy's layers ahead of the first click (it takes about half a second)."""
    with _SCAPY:
        _scapy_class(lt.ETHERNET)


def packet_tree(result: FlowResult, packet: int) -> tuple[bytes, list[Node]]:
    """The captured bytes of ``packet`` and its tree (what the packets pane shows)."""
    data = result.packet_bytes(packet)
    linktype = int(result.packets.linktype[packet])
    if linktype in ZWAVE_LINKTYPES:
        return data, zwave_nodes(result, packet)
    with _SCAPY:
        return data, dissect(data, linktype)
