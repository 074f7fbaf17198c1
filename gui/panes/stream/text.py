"""The characters of one display line, and which byte each character shows. Qt-free.

Every mode renders a line to a string plus ``byte_at``: for each character, the byte (index in
the line) it shows, ``SPACE`` for spacing between bytes (selected when both neighbours are) or
``NONE`` for text that belongs to no byte (offsets, a gap marker). Selection, find highlights and
clicks all go through ``byte_at``, so they work the same in every mode.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from engine.follow.model import Gap
from gui.panes.stream.layout import HEX_BYTES

SPACE = -1
NONE = -2
TAB_STOP = 4

#: text mode for ASCII: printable characters as they are, the others as dots
_ASCII_VIEW = bytes(c if 32 <= c < 127 else 46 for c in range(256))
#: the hex dump's character column (as ``flowscope-cli follow --format hex``): dots outside ASCII
_HEX_VIEW = _ASCII_VIEW
_HEX_COLUMNS = np.array([10 + 3 * i + (i >= HEX_BYTES // 2) for i in range(HEX_BYTES)])
_ASCII_COLUMN = 10 + 3 * HEX_BYTES + 2
_CHAR_COLUMNS = np.array([_ASCII_COLUMN + i + (i >= HEX_BYTES // 2) for i in range(HEX_BYTES)])
HEX_LINE_WIDTH = _ASCII_COLUMN + HEX_BYTES + 1


@dataclass(frozen=True)
class Rendered:
    text: str
    byte_at: np.ndarray  # int64 per character: byte index in the line, SPACE or NONE
    size: int  # bytes in the line

    def byte_for_column(self, column: int) -> int:
        """The byte to select for a click on character ``column``: past the end of the line,
        its last byte (a text line's LF); -1 for a line without bytes."""
        if not self.size:
            return -1
        at = self.byte_at
        if column >= len(at):
            return self.size - 1
        column = max(column, 0)
        if at[column] >= 0:
            return int(at[column])
        right = np.flatnonzero(at[column:] >= 0)
        if right.size:
            return int(at[column + right[0]])
        left = np.flatnonzero(at[:column] >= 0)
        return int(at[left[-1]]) if left.size else 0

    def columns(self, first: int, stop: int) -> list[tuple[int, int]]:
        """Character ranges [c0, c1) showing bytes ``first`` to ``stop - 1`` (plus the spacing
        between two shown bytes), left to right."""
        at = self.byte_at
        if not len(at) or stop <= first:
            return []
        chosen = (at >= first) & (at < stop)
        space = at == SPACE
        if space.any() and chosen.any():
            idx = np.arange(len(at))
            mapped = at >= 0
            left = np.maximum.accumulate(np.where(mapped | (at == NONE), idx, -1))
            right = np.minimum.accumulate(np.where(mapped | (at == NONE), idx, len(at))[::-1]
                                          )[::-1]
            ok_left = (left >= 0) & chosen[np.maximum(left, 0)]
            ok_right = (right < len(at)) & chosen[np.minimum(right, len(at) - 1)]
            chosen |= space & ok_left & ok_right
        edges = np.flatnonzero(np.diff(np.concatenate(([0], chosen.astype(np.int8), [0]))))
        return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _printable(ch: str) -> bool:
    return ch.isprintable() and not unicodedata.category(ch).startswith("M")


def render_text(data: bytes) -> Rendered:
    """UTF-8 with replacement characters; control characters as dots; tabs to stops of
    ``TAB_STOP``; a line's closing LF (and a CR before it) take no character."""
    n = len(data)
    body = data[:-1] if data.endswith(b"\n") else data
    if body.endswith(b"\r") and len(body) < n:
        body = body[:-1]
    if body.isascii() and b"\t" not in body:
        return Rendered(body.translate(_ASCII_VIEW).decode("ascii"),
                        np.arange(len(body), dtype=np.int64), n)
    chars: list[str] = []
    at: list[int] = []
    i, size = 0, len(body)
    while i < size:
        b = body[i]
        if b < 0x80:
            if b == 9:
                pad = TAB_STOP - len(chars) % TAB_STOP
                chars.append(" " * pad)
                at.extend([i] * pad)
            else:
                chars.append(chr(b) if 32 <= b < 127 else ".")
                at.append(i)
            i += 1
            continue
        k = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
        ch = None
        if k and i + k <= size:
            try:
                ch = body[i : i + k].decode("utf-8")
            except UnicodeDecodeError:
                ch = None
        if ch is None:
            chars.append("\ufffd")
            at.append(i)
            i += 1
            continue
        chars.append(ch if _printable(ch) else ".")
        at.append(i)
        i += k
    return Rendered("".join(chars), np.array(at, dtype=np.int64), n)


def render_hex(data: bytes, offset: int) -> Rendered:
    """``OOOOOOOO  xx xx … xx  xx … xx  ........ ........``: the offset in the direction's
    bytes, 16 bytes in two groups of eight, and the bytes as ASCII (others as dots)."""
    n = len(data)
    cells = [" "] * HEX_LINE_WIDTH
    at = np.full(HEX_LINE_WIDTH, NONE, dtype=np.int64)
    cells[:8] = f"{offset:08X}"
    hexed = data.hex()
    shown = data.translate(_HEX_VIEW).decode("ascii")
    for i in range(n):
        c = int(_HEX_COLUMNS[i])
        cells[c], cells[c + 1] = hexed[2 * i], hexed[2 * i + 1]
        at[c : c + 2] = i
        cells[int(_CHAR_COLUMNS[i])] = shown[i]
        at[int(_CHAR_COLUMNS[i])] = i
    # spacing inside the hex and character groups joins a selection across it
    at[_HEX_COLUMNS[0] : _HEX_COLUMNS[-1] + 2][at[_HEX_COLUMNS[0] : _HEX_COLUMNS[-1] + 2] == NONE
                                               ] = SPACE
    at[_CHAR_COLUMNS[0] : _CHAR_COLUMNS[-1] + 1][
        at[_CHAR_COLUMNS[0] : _CHAR_COLUMNS[-1] + 1] == NONE] = SPACE
    text = "".join(cells[: int(_CHAR_COLUMNS[n - 1]) + 1] if n else cells[:8])
    return Rendered(text, at[: len(text)], n)


def render_raw(data: bytes) -> Rendered:
    """Hex digits, two per byte, nothing between them."""
    return Rendered(data.hex(), np.repeat(np.arange(len(data), dtype=np.int64), 2), len(data))


GAP_TEXT = {
    "missing": "[{n} bytes missing in capture]",
    "truncated": "[{n} bytes not captured: cut by the snap length]",
    "limit": "[{n} bytes skipped: too many segments out of order]",
    "fragmented": "[{n} bytes in IP fragments, not reassembled]",
}


def gap_text(gap: Gap) -> str:
    template = GAP_TEXT.get(gap.kind, "[{n} bytes missing in capture]")
    count = f"{gap.length:,}" if gap.length != 1 else "1"
    text = template.format(n=count)
    return text.replace("[1 bytes", "[1 byte")


def render_gap(gap: Gap) -> Rendered:
    text = gap_text(gap)
    return Rendered(text, np.full(len(text), NONE, dtype=np.int64), 0)


def render(mode: str, data: bytes, offset: int) -> Rendered:
    if mode == "text":
        return render_text(data)
    if mode == "hex":
        return render_hex(data, offset)
    return render_raw(data)
