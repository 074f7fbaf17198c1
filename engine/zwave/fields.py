"""The Z-Wave conversation columns (table, JSON/CSV, filter): one declaration each."""

from __future__ import annotations

import math

from ..columns import ColumnSpec, declare_columns
from .conversations import parse_class_counts


def _node(value: int) -> int | None:
    return None if value < 0 else value


def _text(value: str) -> str | None:
    return value or None


def _dbm(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


_Z = ("zwave",)
declare_columns(
    ColumnSpec("home_id", "Home ID", "hex", "Z-Wave network (home) id", _Z,
               to_json=lambda v: f"{v:08X}"),
    ColumnSpec("node_a", "Node A", "count",
               "smaller node id of the pair (the sender for broadcast/multicast)", _Z,
               hidden=True, to_json=_node),
    ColumnSpec("node_b", "Node B", "count", "larger node id (255 = broadcast)", _Z, hidden=True,
               to_json=_node),
    ColumnSpec("cast", "Cast", "text", "unicast, broadcast or multicast", _Z),
    ColumnSpec("ack_count", "ACKs", "count", "acknowledgement frames", _Z, text_title="ACKs"),
    ColumnSpec("command_count", "Commands", "count", "frames that are not ACKs", _Z,
               text_title="Commands"),
    ColumnSpec("command_classes", "Command classes", "text",
               "command classes of the command frames, with counts", _Z,
               to_json=parse_class_counts),
    ColumnSpec("bad_checksum", "Bad checksum", "count", "frames whose checksum fails", _Z,
               hidden=True, text_title="Bad FCS"),
    ColumnSpec("rssi_min", "RSSI min", "float", "lowest received signal strength, dBm", _Z,
               hidden=True, json_key="rssi.min", to_json=_dbm),
    ColumnSpec("rssi_mean", "RSSI mean", "float", "mean received signal strength, dBm", _Z,
               json_key="rssi.mean", to_json=_dbm),
    ColumnSpec("rssi_max", "RSSI max", "float", "highest received signal strength, dBm", _Z,
               hidden=True, json_key="rssi.max", to_json=_dbm),
    ColumnSpec("data_rate", "Data rate", "text", "from the Z-Wave TAP header", _Z, hidden=True,
               to_json=_text),
    ColumnSpec("region", "Region", "text", "from the Z-Wave TAP header", _Z, hidden=True,
               to_json=_text),
)
