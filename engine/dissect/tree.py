"""A dissected packet: a tree of labelled rows, each with the bytes it came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    """A tree row: its text and the bytes it covers (``length`` 0: no known range)."""

    label: str
    start: int = 0
    length: int = 0
    children: list[Node] = field(default_factory=list)
