"""Routed and explore frames: where their payload starts, vectorised, and their details exactly.

The payload of these frames starts after a header whose length depends on bytes inside it
(repeater count, extension length). :func:`routed_payload` finds it for many frames at once with
a few fixed-width gathers; :func:`routed_layout` reads one frame in plain Python (the reference
the vectorised path is tested against, and the source of repeater lists for views), and
:func:`multicast_nodes` lists a multicast frame's destinations.

Layouts (offsets in the MAC frame; ``d`` = first byte after the destination):
- R1/R2 routed singlecast (routed bit in frame control): ``d`` route status (0x01 inbound,
  0x02 routed ACK, 0x04 routed error, 0x08 header extension present), ``d+1`` repeaters (high
  nibble) and hop (low nibble), the repeater list, then, with the extension bit, one byte whose
  high nibble is the extension's length followed by the extension.
- R3 routed (header type 8): route status, repeaters/hop, the repeater list, then (not in
  routed ACK/error frames) a destination wake-up byte; with the header-extended bit of the
  second frame control byte, one byte whose low 3 bits are the extension's length, then it.
- Explore frames (header type 5): eight header bytes (command/version, options, session,
  repeater count and TTL, four repeater slots) before the payload.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..capture.chunk import gather

ROUTE_ACK, ROUTE_ERROR, ROUTE_EXTENDED = 0x02, 0x04, 0x08
EXPLORE_HEADER = 8


@dataclass(frozen=True)
class RouteInfo:
    """Where the payload of a routed/explore frame starts, and what kind of routed frame it is."""

    payload_offset: int  # in the MAC frame; -1 = no payload or not captured
    route_ack: bool
    route_error: bool
    repeaters: tuple[int, ...]


NO_ROUTE = RouteInfo(-1, False, False, ())


def routed_layout(mac: bytes, r3: bool, after_dst: int, header_type: int,
                  frame_control_2: int) -> RouteInfo:
    """Read the routing (or explore) header of one frame; ``mac`` holds only captured bytes."""
    if header_type == 5:
        return RouteInfo(after_dst + EXPLORE_HEADER, False, False, ())
    if len(mac) < after_dst + 2:
        return NO_ROUTE
    status, hops = mac[after_dst], mac[after_dst + 1]
    count = hops >> 4
    cursor = after_dst + 2
    repeaters = tuple(mac[cursor : cursor + count])
    cursor += count
    ack, error = bool(status & ROUTE_ACK), bool(status & ROUTE_ERROR)
    if ack or error:
        return RouteInfo(-1, ack, error, repeaters)
    if r3:
        cursor += 1  # destination wake-up byte
        extended = bool(frame_control_2 & 0x80)
    else:
        extended = bool(status & ROUTE_EXTENDED)
    if extended:
        if cursor >= len(mac):
            return RouteInfo(-1, False, False, repeaters)
        size = mac[cursor] & 0x07 if r3 else mac[cursor] >> 4
        cursor += 1 + size
    return RouteInfo(cursor, False, False, repeaters)


def multicast_nodes(mac: bytes, r3: bool) -> list[int] | None:
    """Node ids a multicast frame is addressed to (bit j of mask byte i = node 8·i + j + 1).

    ``None`` when the mask is not captured or uses an address offset (its scale is not
    something Flowscope guesses).
    """
    control_at = 9 if r3 else 8
    if len(mac) <= control_at:
        return None
    control = mac[control_at]
    offset, size = control >> 5, control & 0x1F
    mask = mac[control_at + 1 : control_at + 1 + size]
    if offset or len(mask) < size:
        return None
    return [8 * i + bit + 1 for i, byte in enumerate(mask) for bit in range(8) if byte >> bit & 1]


def routed_payload(buf: np.ndarray, mac: np.ndarray, r3: np.ndarray, after_dst: np.ndarray,
                   header_type: np.ndarray, frame_control_2: np.ndarray, end: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Payload offsets (-1 = none/not captured), routed-ACK and routed-error flags of the
    routed/explore frames at ``mac``; ``end`` = captured bytes before the checksum."""
    explore = header_type == 5
    head = gather(buf, mac + after_dst, 2).astype(np.int64)
    status, count = head[:, 0], head[:, 1] >> 4
    readable = after_dst + 2 <= end
    ack = readable & ~explore & ((status & ROUTE_ACK) != 0)
    error = readable & ~explore & ((status & ROUTE_ERROR) != 0)
    cursor = after_dst + 2 + count + (r3 & ~ack & ~error)  # R3: destination wake-up byte
    extended = np.where(r3, (frame_control_2 & 0x80) != 0, (status & ROUTE_EXTENDED) != 0)
    ext = gather(buf, mac + np.where(extended, np.minimum(cursor, end), 0), 1)[:, 0]
    ext = ext.astype(np.int64)
    size = np.where(r3, ext & 0x07, ext >> 4)
    cursor = np.where(extended, cursor + 1 + size, cursor)
    known = readable & ~ack & ~error & (~extended | (cursor - 1 - size < end))
    payload = np.where(known, cursor, -1)
    payload = np.where(explore, after_dst + EXPLORE_HEADER, payload)
    return payload, ack, error
