"""Running one fuzz case: read a (damaged) capture and check what must hold whatever it contains.

Shared by ``tests/engine/test_fuzz.py`` and ``bench/bench_fuzz.py``. A :class:`FlowError` is an
answer (the outcome records its class and sentence); any other exception propagates to the caller,
and a broken invariant raises :class:`InvariantBroken`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import FlowConfig, FlowError, FlowResult, Kind, extract_flows_from_file
from engine.export.conversations import write_json, write_table
from engine.packets import PAYLOAD_REASSEMBLED
from engine.tunnels import outer_level

#: the smallest read chunk: small captures still cross chunk boundaries once grown
FUZZ_CONFIG = FlowConfig(chunk_bytes=1 << 16)


class InvariantBroken(AssertionError):
    """A result came back that contradicts itself."""


@dataclass(frozen=True)
class Outcome:
    """What reading one case gave: an error (class name and sentence) or a result's totals."""

    error: str | None
    message: str = ""
    packets: int = 0
    conversations: int = 0
    unassigned: int = 0
    warnings: tuple[str, ...] = ()


def run_case(data: bytes, path: Path, config: FlowConfig = FUZZ_CONFIG) -> Outcome:
    """Write ``data`` to ``path``, read it as a capture and check the result's invariants."""
    path.write_bytes(data)
    try:
        result = extract_flows_from_file(path, config)
    except FlowError as exc:
        return Outcome(type(exc).__name__, str(exc))
    with result:
        check_invariants(result)
        return Outcome(None, "", result.capture.packets, len(result.conversations),
                       result.unassigned.total, tuple(result.capture.warnings))


def check_invariants(result: FlowResult) -> None:
    packets, table = result.packets, result.conversations
    read = result.capture.packets
    # (conversations inside UDP tunnels count their frames again: their tunnels have them)
    counted = int(table.packets[outer_level(table)].sum()) + result.unassigned.total
    if counted != read:
        raise InvariantBroken(f"Σ conversation packets + unassigned = {counted}, read {read}")
    if len(packets) + result.capture.unlisted_empty != read:
        raise InvariantBroken(f"{len(packets)} packet rows (and "
                              f"{result.capture.unlisted_empty} empty records counted) for "
                              f"{read} packets read")
    assigned = packets.conv >= 0
    if not np.array_equal(assigned, packets.kind != Kind.UNASSIGNED):
        raise InvariantBroken("a packet is in a conversation exactly when it has a kind")
    if assigned.any() and int(packets.conv[assigned].max()) >= len(table):
        raise InvariantBroken("a packet points at a conversation that does not exist")
    listed = int(assigned.sum()) + int((result.inner.packets.conv >= 0).sum())
    if table.packet_start is not None and int(table.packet_start[-1]) != listed:
        raise InvariantBroken("the conversations' packet lists do not hold every assigned packet")
    for i in range(min(read, 2000)):  # payload reads stay inside the captured bytes
        # (a payload reassembled from IP fragments is read from them: at most its IP length)
        limit = packets.payload_len[i] if packets.payload_off[i] == PAYLOAD_REASSEMBLED else \
            packets.caplen[i]
        if len(result.payload_bytes(i)) > int(limit):
            raise InvariantBroken(f"packet {i}: payload longer than the captured bytes")
    check_exports(result)


def check_exports(result: FlowResult) -> None:
    """The JSON contract (what the CLI prints) parses back and agrees with the result."""
    out = io.StringIO()
    write_json(result, out)
    doc = json.loads(out.getvalue())
    if (len(doc["conversations"]) != len(result.conversations)
            or doc["capture"]["packets"] != result.capture.packets
            or doc["unassigned_packets"] != result.unassigned.total):
        raise InvariantBroken("the JSON document disagrees with the result")
    write_table(result, io.StringIO())
