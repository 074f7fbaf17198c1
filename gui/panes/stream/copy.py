"""The clipboard text for a selection in a stream view, in the view's mode. Qt-free.

Text mode copies the characters shown (UTF-8 with replacement characters, control characters
as dots, line breaks kept); hex dump mode copies ``flowscope-cli follow --format hex`` lines of
the selected bytes; raw mode copies hex digits. Each turn starts on a line of its own and a gap
inside the selection is copied as its marker line.
"""

from __future__ import annotations

import numpy as np

from engine.export.follow import hexdump
from gui.panes.stream.layout import StreamLayout
from gui.panes.stream.text import gap_text

#: selections larger than this are not copied (Export writes streams of any size)
COPY_LIMIT = 32 << 20

_TEXT_VIEW = bytes(c if (32 <= c < 127 or c in (9, 10, 13) or c >= 128) else 46
                   for c in range(256))


def _portions(layout: StreamLayout, first: int, stop: int
              ) -> list[tuple[int, int, int, int, bool]]:
    """(piece, direction, start offset, end offset, starts a turn) for every piece the display
    range [first, stop) touches, in display order; gaps strictly inside it count too."""
    out: list[tuple[int, int, int, int, bool]] = []
    if stop <= first:
        return out
    k0 = max(int(np.searchsorted(layout.first_position, first, side="right")) - 1, 0)
    for k in range(k0, len(layout.gap)):
        p0 = int(layout.first_position[k])
        if p0 >= stop:
            break
        d = int(layout.dirs[k])
        if layout.gap[k] >= 0:
            if p0 > first:
                out.append((k, d, -1, -1, True))
            continue
        lo = max(first, p0) - p0
        hi = min(stop, p0 + int(layout.length[k])) - p0
        if hi > lo:
            s = int(layout.start[k])
            out.append((k, d, s + lo, s + hi, bool(layout.turn_first[k]) and lo == 0))
    return out


def copy_text(layout: StreamLayout, first: int, stop: int) -> str:
    """The text for display positions [first, stop)."""
    parts: list[str] = []
    for k, d, lo, hi, new_turn in _portions(layout, first, stop):
        if layout.gap[k] >= 0:
            gap = layout.document.stream.gaps[int(layout.gap[k])]
            parts.append(("\n" if parts and not parts[-1].endswith("\n") else "")
                         + gap_text(gap) + "\n")
            continue
        data = layout.document.read(d, lo, hi - lo)
        if new_turn and parts and not parts[-1].endswith("\n"):
            parts.append("\n")
        if layout.mode == "text":
            parts.append(data.translate(_TEXT_VIEW).decode("utf-8", errors="replace"))
        elif layout.mode == "hex":
            parts.append(hexdump(data, lo).decode("ascii"))
        else:
            parts.append(data.hex())
    return "".join(parts)
