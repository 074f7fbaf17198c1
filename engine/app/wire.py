"""Bounds-checked reading of protocol fields from bytes.

Every application parser reads through a :class:`Cursor`, which raises :class:`Short` when a
field would run past the end of its data. Parsers catch it at their top level and report "not
(yet) this protocol", so a truncated or hostile message can never raise anything else and never
allocates more than the bytes it was given.
"""

from __future__ import annotations


class Short(Exception):
    """The bytes end before the structure does (caught inside engine.app, never shown)."""


class Cursor:
    """A read position in ``data[pos:end]``."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else min(end, len(data))

    @property
    def left(self) -> int:
        return self.end - self.pos

    def need(self, n: int) -> int:
        """Advance by ``n`` bytes; the old position."""
        p = self.pos
        if n < 0 or p + n > self.end:
            raise Short
        self.pos = p + n
        return p

    def u8(self) -> int:
        return self.data[self.need(1)]

    def u16(self) -> int:
        p = self.need(2)
        return self.data[p] << 8 | self.data[p + 1]

    def u24(self) -> int:
        p = self.need(3)
        d = self.data
        return d[p] << 16 | d[p + 1] << 8 | d[p + 2]

    def u32(self) -> int:
        p = self.need(4)
        return int.from_bytes(self.data[p : p + 4], "big")

    def take(self, n: int) -> bytes:
        p = self.need(n)
        return self.data[p : p + n]

    def sub(self, n: int) -> Cursor:
        """A cursor over the next ``n`` bytes (this one moves past them)."""
        p = self.need(n)
        return Cursor(self.data, p, p + n)

    def skip(self, n: int) -> None:
        self.need(n)

    def varint(self) -> int:
        """A QUIC variable-length integer (RFC 9000 section 16)."""
        first = self.u8()
        size = 1 << (first >> 6)
        value = first & 0x3F
        for _ in range(size - 1):
            value = value << 8 | self.u8()
        return value

    def rest(self) -> bytes:
        p = self.pos
        self.pos = self.end
        return self.data[p : self.end]


GREASE = frozenset(0x0A0A + 0x1010 * k for k in range(16))


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values (0x0a0a, 0x1a1a, …, 0xfafa), which fingerprints leave out."""
    return value in GREASE


def text(raw: bytes) -> str:
    """Bytes from the wire as text the way Wireshark shows them: UTF-8, each damaged sequence
    as one U+FFFD (Wireshark takes a lead byte and the continuation bytes that follow it as one
    sequence and judges it whole; Python's decoder would split some of them)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _lenient(raw)


#: (end of the lead byte range, continuation bytes, value bits of the lead, smallest value):
#: the old 5- and 6-byte forms are taken as sequences too (and then rejected whole)
_LEADS = ((0xE0, 1, 0x1F, 0x80), (0xF0, 2, 0x0F, 0x800), (0xF8, 3, 0x07, 0x10000),
          (0xFC, 4, 0x03, 0x200000), (0xFE, 5, 0x01, 0x4000000))


def _lenient(raw: bytes) -> str:
    out = []
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b < 0x80:
            out.append(chr(b))
            i += 1
            continue
        lead = next(((need, bits, low) for top, need, bits, low in _LEADS
                     if 0xC0 <= b < top), None)
        if lead is None:
            out.append("\ufffd")  # a stray continuation byte or an impossible lead
            i += 1
            continue
        need, bits, low = lead
        value, j = b & bits, i + 1
        while j < n and j - i - 1 < need and 0x80 <= raw[j] < 0xC0:
            value = value << 6 | (raw[j] & 0x3F)
            j += 1
        whole = j - i - 1 == need
        valid = whole and value >= low and not 0xD800 <= value <= 0xDFFF and value <= 0x10FFFF
        out.append(chr(value) if valid else "\ufffd")
        i = j
    return "".join(out)
