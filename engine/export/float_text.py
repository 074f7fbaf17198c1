"""Floats' JSON text (``float.__repr__``) for a whole array, most of it at numpy speed.

``float.__repr__`` costs ~0.5 µs a value, and the records hold many floats (times, rates,
RTTs). Most of them are short decimals: nanoseconds / 1e9, or rounded to 3 decimals. When a
float ``x`` is the double nearest to ``k / 10**d`` for an integer ``0 <= k < 10**15``, that
decimal has at most 15 significant digits, and no other decimal of at most 15 digits reads as
``x`` (a double tells 15 digits apart), so it is the shortest text that reads as ``x``: what
``repr`` writes. Its digits are ``k``'s, cut by numpy; ``repr`` writes it as ``123.0456``
from 1e-4 up (below, with an exponent: those floats, negative ones and any other are written
by ``repr`` itself).
"""

from __future__ import annotations

import math

import numpy as np

#: the decimal places tried, in turn (nanoseconds in seconds; rates rounded to 3 places)
_PLACES = (9, 3)
#: k below this has at most 15 digits (and is exact as a float)
_DIGITS_15 = 10.0**15
#: ``repr`` writes floats from here up without an exponent
_SMALLEST_PLAIN = 1e-4
#: fewer floats than this are written by ``repr`` (numpy's calls cost more)
_FEW = 200


def float_texts(values: np.ndarray) -> np.ndarray:
    """``json``'s text of each float (an object array): ``float.__repr__``, and ``NaN``,
    ``Infinity``, ``-Infinity``."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < _FEW:
        return np.array([_repr(v) for v in x.tolist()], dtype=object)
    out = np.empty(x.size, dtype=object)
    left = np.ones(x.size, dtype=bool)
    for places in _PLACES:
        at = np.flatnonzero(left)
        if at.size == 0:
            break
        k, exact = _decimal(x[at], places)
        at, k = at[exact], k[exact]
        out[at] = np.array(_decimal_texts(k, places), dtype=object)
        left[at] = False
    rest = np.flatnonzero(left)
    out[rest] = np.array([_repr(v) for v in x[rest].tolist()], dtype=object)
    return out


def _repr(value: float) -> str:
    """As ``json`` writes a float."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _decimal(x: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, whether x is the double nearest to k / 10**places with 0 <= k < 10**15 and is
    written without an exponent); k is meaningful where it is."""
    scale = 10.0**places
    with np.errstate(all="ignore"):
        k = np.rint(x * scale)
        exact = ((k < _DIGITS_15) & (k / scale == x) & ((x >= _SMALLEST_PLAIN) | (x == 0))
                 & ~np.signbit(x))
    return np.where(exact, k, 0).astype(np.int64), exact


def _decimal_texts(k: np.ndarray, places: int) -> list[str]:
    """The text of ``k / 10**places`` for integers ``0 <= k < 10**15``, as ``repr`` writes the
    float: the integer part, ".", the decimals without trailing zeros (at least one)."""
    if k.size == 0:
        return []
    whole, fraction = np.divmod(k, 10**places)
    width = len(str(int(whole.max())))
    # a column of characters per value: the integer part right-aligned, ".", the decimals,
    # "\n"; a mask drops the leading and trailing zeros; digits are cut from the right
    chars = np.empty((width + places + 2, k.size), dtype=np.uint8)
    keep = np.ones(chars.shape, dtype=bool)
    rest = fraction
    seen = np.zeros(k.size, dtype=bool)  # a non-zero decimal here or to the right
    for j in range(width + places, width, -1):
        rest = _cut_digit(rest, chars[j])
        if j > width + 1:
            seen |= chars[j] != 0
            keep[j] = seen
    rest = whole
    for j in range(width - 1, -1, -1):
        if j < width - 1:
            keep[j] = rest != 0
        rest = _cut_digit(rest, chars[j])
    chars += ord("0")
    chars[width] = ord(".")
    chars[-1] = ord("\n")
    return chars.T[keep.T].tobytes().decode("ascii").split("\n")[:-1]


def _cut_digit(values: np.ndarray, digit: np.ndarray) -> np.ndarray:
    """``values // 10``, the last digits into ``digit`` (faster than ``np.divmod``)."""
    tens = values // 10
    np.subtract(values, tens * 10, out=digit, casting="unsafe")
    return tens
