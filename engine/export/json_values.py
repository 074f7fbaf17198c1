"""Values as the JSON text ``json`` writes for them, a column at a time.

The text of a value is what ``json.JSONEncoder(separators=(", ", ": "))`` writes: ints by
``int.__repr__``, floats by ``float.__repr__`` (NaN and the infinities as ``NaN``,
``Infinity``, ``-Infinity``), text escaped to ASCII. A column of numbers is written as
*cells* for :mod:`.json_objects`: Python ints (``%s`` writes them as json does) or the JSON
text itself, so a column costs numpy's conversion to objects (floats: :mod:`.float_text`) and
no Python call per value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from .fields import object_array
from .float_text import float_texts

#: the encoder whose output the records' lines equal
ENCODER = json.JSONEncoder(separators=(", ", ": ")).encode
TEXT = json.encoder.encode_basestring_ascii


def encode(value: Any) -> str:
    """The JSON text of ``value``, as the encoder writes it; scalars and lists of text (a
    declared list field's) without its machinery."""
    kind = type(value)
    if kind is str:
        return TEXT(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is float and value - value == 0:  # (finite)
        return float.__repr__(value)
    if kind is list and all(type(item) is str for item in value):
        return "[" + ", ".join(map(TEXT, value)) + "]"
    return ENCODER(value)


def encode_all(values: list[Any]) -> list[str]:
    """The JSON text of each of ``values``; floats (or None), a duration's or a share's,
    together (:func:`float_texts`)."""
    kinds = set(map(type, values))
    if float not in kinds or not kinds <= {float, type(None)}:
        return list(map(encode, values))
    cells = object_array(values)
    null = np.array([v is None for v in values], dtype=bool)
    cells[null] = "null"
    cells[~null] = float_texts(cells[~null].astype(np.float64))
    return cells.tolist()


def int_cells(values: np.ndarray) -> np.ndarray:
    """Integers as cells (Python ints)."""
    return values.astype(object)


def nullable_cells(values: np.ndarray) -> np.ndarray:
    """Integers as cells, null for the negative ones ("none")."""
    cells = values.astype(object)
    cells[values < 0] = "null"
    return cells


def float_cells(values: np.ndarray) -> np.ndarray:
    """Floats as cells (their text), null for NaN ("none")."""
    cells = float_texts(values)
    cells[np.isnan(values)] = "null"
    return cells


#: how each kind of :class:`~engine.export.fields.Column` is written as cells
CELLS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "int": int_cells, "nullable": nullable_cells, "float": float_cells,
}
