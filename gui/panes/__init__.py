"""The detail panes under the conversation table.

Each pane is a :class:`~gui.panes.base.Pane` (one module or package per pane) and says itself
which protocols it applies to. :func:`pane_classes` lists them in tab order; the details panel
(:mod:`.details`) loops over that list and knows no pane by name. A plug-in's pane joins with
:func:`register_pane`.
"""

from __future__ import annotations

from gui.panes.base import Pane

_EXTRA: list[type[Pane]] = []


def register_pane(pane: type[Pane]) -> None:
    """Add a pane class after the built-in ones (a plug-in's)."""
    if pane not in _EXTRA:
        _EXTRA.append(pane)


def unregister_pane(pane: type[Pane]) -> None:
    if pane in _EXTRA:
        _EXTRA.remove(pane)


def pane_classes() -> list[type[Pane]]:
    """Every pane, in tab order: the built-in ones, then the registered ones."""
    from gui.panes.application.pane import ApplicationPane
    from gui.panes.packets.pane import PacketsPane
    from gui.panes.stream.pane import StreamPane
    from gui.panes.timeline.pane import TimelinePane
    from gui.panes.zwave.pane import ZWavePane

    return [TimelinePane, StreamPane, ApplicationPane, PacketsPane, ZWavePane, *_EXTRA]


__all__ = ["Pane", "pane_classes", "register_pane", "unregister_pane"]
