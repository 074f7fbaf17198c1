"""How Z-Wave conversations appear in exports (JSON/CSV fields) and views (extra columns)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..export.conversations import ABSENT, FieldFn, register_field
from ..packets import Kind
from ..result import FlowResult
from ..table import ExtraColumn, register_column
from .conversations import parse_class_counts


def _zwave_field(column: str, convert: Callable[[Any], Any]) -> FieldFn:
    """A field that reads one extra column for Z-Wave rows and is absent for the others."""
    def values(result: FlowResult, rows: np.ndarray) -> list[Any]:
        t = result.conversations
        if column not in t.extra:
            return [ABSENT] * len(rows)
        is_zwave = (t.kind[rows] == Kind.ZWAVE).tolist()
        col = t.extra[column][rows].tolist()
        return [convert(v) if z else ABSENT for v, z in zip(col, is_zwave, strict=True)]
    return values


def _node(value: int) -> int | None:
    return None if value < 0 else value


def _text(value: str) -> str | None:
    return value or None


def _rssi(result: FlowResult, rows: np.ndarray) -> list[Any]:
    t = result.conversations
    if "rssi_mean" not in t.extra:
        return [ABSENT] * len(rows)
    is_zwave = (t.kind[rows] == Kind.ZWAVE).tolist()
    low, mean, high = (t.extra[n][rows].tolist() for n in ("rssi_min", "rssi_mean", "rssi_max"))
    out: list[Any] = []
    for z, lo, mu, hi in zip(is_zwave, low, mean, high, strict=True):
        if not z:
            out.append(ABSENT)
        elif math.isnan(mu):
            out.append(None)
        else:
            out.append({"min": round(lo, 3), "mean": round(mu, 3), "max": round(hi, 3)})
    return out


register_field("home_id", _zwave_field("home_id", lambda v: f"{v:08X}"))
register_field("node_a", _zwave_field("node_a", _node))
register_field("node_b", _zwave_field("node_b", _node))
register_field("cast", _zwave_field("cast", str))
register_field("ack_count", _zwave_field("ack_count", int))
register_field("command_count", _zwave_field("command_count", int))
register_field("command_classes", _zwave_field("command_classes", parse_class_counts))
register_field("bad_checksum", _zwave_field("bad_checksum", int))
register_field("rssi", _rssi)
register_field("data_rate", _zwave_field("data_rate", _text))
register_field("region", _zwave_field("region", _text))

_Z = ("zwave",)
for _column in (
    ExtraColumn("home_id", "Home ID", "hex", _Z, "Z-Wave network (home) id"),
    ExtraColumn("node_a", "Node A", "count", _Z, "smaller node id of the pair (the sender "
                "for broadcast/multicast)"),
    ExtraColumn("node_b", "Node B", "count", _Z, "larger node id (255 = broadcast)"),
    ExtraColumn("cast", "Cast", "text", _Z, "unicast, broadcast or multicast"),
    ExtraColumn("ack_count", "ACKs", "count", _Z, "acknowledgement frames"),
    ExtraColumn("command_count", "Commands", "count", _Z, "frames that are not ACKs"),
    ExtraColumn("bad_checksum", "Bad checksum", "count", _Z, "frames whose checksum fails"),
    ExtraColumn("rssi_min", "RSSI min", "float", _Z, "lowest received signal strength, dBm"),
    ExtraColumn("rssi_mean", "RSSI mean", "float", _Z, "mean received signal strength, dBm"),
    ExtraColumn("rssi_max", "RSSI max", "float", _Z, "highest received signal strength, dBm"),
    ExtraColumn("data_rate", "Data rate", "text", _Z, "from the Z-Wave TAP header"),
    ExtraColumn("region", "Region", "text", _Z, "from the Z-Wave TAP header"),
    ExtraColumn("command_classes", "Command classes", "text", _Z,
                "command classes of the command frames, with counts"),
):
    register_column(_column)
