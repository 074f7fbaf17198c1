"""The parts of conversation records, column-wise: a field is a column of values (one per row)
or an object of fields (an endpoint, ICMP's fields, a group of declared fields).

Both writers of the records (:func:`~engine.export.records.conversation_records`, the dicts,
and :mod:`.json_lines`, the JSON text) walk the same fields, which
:func:`~engine.export.records.record_fields` lays out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Column:
    """Numbers, one per row, of a kind: "int", "nullable" (an int, negative for none) or
    "float" (NaN for none)."""

    values: np.ndarray
    kind: str


@dataclass(frozen=True)
class Coded:
    """Values given as the distinct ones, written (as they are, or as JSON text), and each
    row's position among them (-1: the row's record leaves the field out). Most fields hold
    few distinct values (a protocol, a state, a count), so each is written once."""

    distinct: np.ndarray  # object array
    codes: np.ndarray
    written_null: Any  # null as written

    def values(self, rows: np.ndarray) -> np.ndarray:
        return self.distinct[self.codes[rows]]

    @functools.cached_property
    def null(self) -> np.ndarray:
        """Which distinct values are null."""
        return np.equal(self.distinct, self.written_null).astype(bool)


@dataclass(frozen=True)
class Obj:
    """An object inside a record: its fields; ``nullable`` (a group of declared fields): null
    on the rows where all of its fields are."""

    fields: list[Field]
    nullable: bool = False


#: a field of a record: its key, and its values or an object
Field = tuple[str, "Column | Coded | Obj"]


#: writes JSON-ready values (as they are, or as their JSON text), one per value given
Write = Callable[[list[Any]], list[Any]]


def coded(values: list[Any], codes: np.ndarray, write: Write) -> Coded:
    """A :class:`Coded` field of the distinct JSON-ready ``values``, written by ``write``."""
    return Coded(object_array(write(values)), codes, _null(write))


@functools.lru_cache(maxsize=8)
def _null(write: Write) -> Any:
    """Null as ``write`` writes it."""
    return write([None])[0]


def present(field: Column | Coded | Obj, row: int) -> bool:
    """Whether records have ``field``, as row ``row`` tells (a protocol's rows all agree)."""
    if isinstance(field, Coded):
        return bool(field.codes[row] >= 0)
    if isinstance(field, Obj):
        return all(present(inner, row) for _, inner in field.fields)
    return True


def null_rows(obj: Obj, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` have null for the object (a mask; never, unless it is nullable)."""
    empty = np.full(rows.size, obj.nullable)
    if obj.nullable:
        for _, field in obj.fields:
            if isinstance(field, Obj):
                empty &= null_rows(field, rows)
            elif isinstance(field, Coded):
                empty &= field.null[field.codes[rows]]
            else:
                empty[:] = False
    return empty


def object_array(values: Sequence[Any]) -> np.ndarray:
    """``values`` as a 1-d object array (lists and dicts among them stay elements, and text
    stays str objects, not a fixed-width array)."""
    return np.fromiter(values, dtype=object, count=len(values))
