"""Find in a stream view: the next or previous match in display order. Qt-free.

Each direction's bytes are searched where they are stored (in memory or spilled), a block at a
time with ``bytes.find``, never joined into one string. A match must lie inside one turn: the
end of a request followed by the start of its response is not text anyone typed. Matching
ignores ASCII case unless asked not to.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from engine.follow.store import StreamStore
from gui.panes.stream.layout import StreamLayout, wanted_directions

BLOCK = 8 << 20
_HEX_QUERY = re.compile(r"^\s*(?:[0-9a-fA-F]{2}[\s:]*)+$")


class Match(NamedTuple):
    position: int  # display position of the first byte
    length: int
    wrapped: bool  # the search went past the end (or start) and continued from the other side


def needle_for(query: str, mode: str) -> bytes:
    """What to search for: in the hex modes a query of hex byte pairs ("47 45 54", "474554")
    means those bytes; anything else is UTF-8 text."""
    if mode != "text" and _HEX_QUERY.match(query):
        return bytes.fromhex(re.sub(r"[\s:]", "", query))
    return query.encode("utf-8")


def _forward(store: StreamStore, needle: bytes, offset: int, fold: bool) -> int:
    """The first match at or after ``offset`` (-1 if none)."""
    size, m = len(store), len(needle)
    pos = max(offset, 0)
    while pos + m <= size:
        data = store.read(pos, BLOCK + m - 1)
        i = (data.lower() if fold else data).find(needle)
        if i >= 0:
            return pos + i
        pos += BLOCK
    return -1


def _backward(store: StreamStore, needle: bytes, before: int, fold: bool) -> int:
    """The last match starting before ``before`` (-1 if none)."""
    size, m = len(store), len(needle)
    hi = min(before + m - 1, size)
    while hi >= m:
        lo = max(0, hi - BLOCK - m + 1)
        data = store.read(lo, hi - lo)
        i = (data.lower() if fold else data).rfind(needle)
        if i >= 0:
            return lo + i
        if lo == 0:
            break
        hi = lo + m - 1
    return -1


def _next_in(layout: StreamLayout, d: int, needle: bytes, position: int, forward: bool,
             fold: bool) -> int | None:
    """The display position of direction ``d``'s nearest match from ``position`` on."""
    rows = np.flatnonzero((layout.gap < 0) & (layout.dirs == d))
    if not rows.size:
        return None
    first, length, start = layout.first_position[rows], layout.length[rows], layout.start[rows]
    store = layout.document.stream.stores[d]
    if forward:
        i = int(np.searchsorted(first + length, position, side="right"))
        if i >= rows.size:
            return None
        offset = int(start[i] + max(0, position - int(first[i])))
    else:
        i = int(np.searchsorted(first, position, side="left")) - 1
        if i < 0:
            return None
        offset = int(start[i] + min(int(length[i]), position - int(first[i])))
    while True:
        m = (_forward(store, needle, offset, fold) if forward
             else _backward(store, needle, offset, fold))
        if m < 0:
            return None
        if m + len(needle) <= layout.turn_end(d, m):
            return layout.position_of(d, m)
        offset = m + 1 if forward else m


def find(layout: StreamLayout, needle: bytes, position: int, forward: bool = True,
         match_case: bool = False, wrap: bool = True) -> Match | None:
    """The first match at or after display ``position`` (forward), or the last one starting
    before it (backward); past the end the search wraps around once."""
    if not needle or not layout.byte_count:
        return None
    fold = not match_case
    if fold:
        needle = needle.lower()
    for wrapped, start in ((False, position),
                           (True, 0 if forward else layout.byte_count)):
        if wrapped and not wrap:
            break
        found = [p for d in wanted_directions(layout.direction)
                 if (p := _next_in(layout, d, needle, start, forward, fold)) is not None]
        if found:
            return Match(min(found) if forward else max(found), len(needle), wrapped)
    return None
