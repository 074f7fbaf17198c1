"""The Z-Wave dissection: one frame laid out as a tree from the engine's own decode (scapy has no
Z-Wave layer). Registered for link types 261, 262 and 297 by the Z-Wave plug-in."""

from __future__ import annotations

import numpy as np

from ..dissect import register_dissector
from ..dissect.tree import Node
from ..result import FlowResult
from .commands import command_class_name, command_name, header_type_name
from .frames import DAMAGE_TEXT, PROFILE_R3, Damage, FrameFlag, node_text
from .plugin import ZWavePlugin, frames_of


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
        (f"Destination: {node_text(dst)}", mac + (9 if r3 else 8), 1),
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


register_dissector(ZWavePlugin.linktypes, zwave_nodes)
