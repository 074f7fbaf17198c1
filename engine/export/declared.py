"""The declared fields of conversation records: one per column that analyses and plug-ins declared.

A declared column's JSON key is its name; ``group.key`` nests it in an object with its siblings
(null when all of them are null), and ``a.key`` / ``b.key`` extend an endpoint object. Rows of
protocols a column does not describe leave its field out. A column holds few distinct values
next to its rows (counts, states, "" or -1 for none), so each distinct value is converted and
written once (:class:`~engine.export.fields.Coded`); text columns are mostly empty, so only
their filled rows are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..columns import COLUMNS
from ..result import FlowResult
from .fields import Coded, Field, Obj, Write, coded

#: the fixed part's objects, which a declared ``a.key`` / ``b.key`` column extends
ENDPOINTS = ("a", "b")
#: a rows' span up to this many times their number is read as a slice (see :func:`_texts`)
_SLICE_SPAN = 8


def declared_fields(result: FlowResult, rows: np.ndarray, protocols: list[str],
                    protocol: np.ndarray, write: Write
                    ) -> tuple[list[Field], list[tuple[str, str, Coded]]]:
    """Every declared column the table has, in declaration order, as a field of the records of
    ``rows`` (of ``protocols[protocol]``) with ``write``'s values; a group's columns become one
    object, at the place of its first member; the endpoints' fields are returned apart, as
    (endpoint, key, field)."""
    t = result.conversations
    fields: list[tuple[str, Coded | None]] = []  # None: a group's place
    endpoint_fields: list[tuple[str, str, Coded]] = []
    groups: dict[str, list[Field]] = {}
    by_protocol = _RowsByProtocol(rows, protocols, protocol)
    for spec in COLUMNS.values():
        if spec.core or spec.name not in t.extra:
            continue
        field = _field(t.extra[spec.name], by_protocol.rows_of(spec.protocols), rows.size,
                       spec.converter(), write)
        group, _, key = spec.key.rpartition(".")
        if group in ENDPOINTS:
            endpoint_fields.append((group, key, field))
        elif not group:
            fields.append((key, field))
        else:
            if group not in groups:
                groups[group] = []
                fields.append((group, None))
            groups[group].append((key, field))
    out: list[Field] = [(key, Obj(groups[key], nullable=True) if field is None else field)
                        for key, field in fields]
    return out, endpoint_fields


@dataclass(frozen=True)
class _Rows:
    """The rows of some protocols among those written: which (None: all), their rows in the
    table, and the slice of the table around them when they lie close together (a block of
    the whole table; see :func:`_texts`) with their positions in it."""

    mask: np.ndarray | None
    table_rows: np.ndarray
    around: slice | None = None
    within: np.ndarray | None = None

    @classmethod
    def of(cls, mask: np.ndarray | None, table_rows: np.ndarray) -> _Rows:
        if table_rows.size == 0:
            return cls(mask, table_rows)
        first, last = int(table_rows.min()), int(table_rows.max())
        if last + 1 - first > _SLICE_SPAN * table_rows.size:
            return cls(mask, table_rows)
        return cls(mask, table_rows, slice(first, last + 1), table_rows - first)


class _RowsByProtocol:
    """Which rows are of given protocols (made once per set of protocols, shared by the
    columns)."""

    def __init__(self, rows: np.ndarray, protocols: list[str], protocol: np.ndarray) -> None:
        self._rows = rows
        self._masks = {name: protocol == k for k, name in enumerate(protocols)}
        self._made: dict[tuple[str, ...], _Rows] = {}

    def rows_of(self, protocols: tuple[str, ...]) -> _Rows:
        """The rows of ``protocols`` (() or all the rows': every row)."""
        if not protocols or set(self._masks) <= set(protocols):
            protocols = ()
        if protocols not in self._made:
            masks = [self._masks[p] for p in protocols if p in self._masks]
            mask = (None if not protocols else np.logical_or.reduce(masks) if masks
                    else np.zeros(self._rows.size, dtype=bool))
            self._made[protocols] = _Rows.of(mask, self._rows if mask is None
                                             else self._rows[mask])
        return self._made[protocols]


def _field(column: np.ndarray, rows: _Rows, n: int, to_json: Callable[[Any], Any],
           write: Write) -> Coded:
    """The column (of the whole table) at ``rows`` (of the ``n`` written) as a record field:
    ``to_json`` of its values, written by ``write``, left out of the other rows."""
    distinct, codes = _distinct(column, rows)
    if rows.mask is not None:
        mine, codes = codes, np.full(n, -1, dtype=np.intp)
        codes[rows.mask] = mine
    return coded(list(map(to_json, distinct)), codes, write)


def _distinct(column: np.ndarray, rows: _Rows) -> tuple[list[Any], np.ndarray]:
    """(the distinct values of the column at ``rows``, each row's position among them): text
    through a dict, numbers through ``np.unique`` (floats by their bits: -0.0 and 0.0 are
    distinct), anything else value by value."""
    kind = column.dtype.kind
    if kind in "TU":
        return _distinct_texts(column, rows)
    picked = column[rows.table_rows]
    if kind == "O" and all(type(v) is str for v in picked.tolist()):
        return _distinct_texts(picked, _Rows.of(None, np.arange(picked.size)))
    if picked.size and kind in "biu" and picked[0] == picked.min() == picked.max():
        return picked[:1].tolist(), np.zeros(picked.size, dtype=np.intp)  # (one value)
    if kind in "biuf":
        bits = picked.view(f"i{picked.itemsize}") if kind == "f" else picked
        uniq, inverse = np.unique(bits, return_inverse=True)
        distinct = uniq.view(picked.dtype) if kind == "f" else uniq
        return distinct.tolist(), inverse.reshape(-1)
    return picked.tolist(), np.arange(picked.size)


def _distinct_texts(column: np.ndarray, rows: _Rows) -> tuple[list[Any], np.ndarray]:
    """:func:`_distinct` of a text column: empty text, the usual value, is the first, and
    only the filled rows are read."""
    filled, texts = _texts(column, rows)
    distinct = ["", *dict.fromkeys(texts)]
    position = {text: k for k, text in enumerate(distinct)}
    codes = np.zeros(filled.size, dtype=np.intp)
    codes[filled] = np.fromiter(map(position.__getitem__, texts), dtype=np.intp,
                                count=len(texts))
    return distinct, codes


def _texts(column: np.ndarray, rows: _Rows) -> tuple[np.ndarray, list[str]]:
    """Which of ``rows`` hold text (not "") and their texts. Picking rows of a StringDType
    column costs ~0.1 µs a row, a slice's test for "" a fraction of that, so when the rows lie
    close together (a block of the whole table) only the filled ones are picked."""
    if rows.around is None or rows.within is None:
        picked = column[rows.table_rows]
        filled = _filled(picked)
        return filled, picked[filled].tolist()
    filled = _filled(column[rows.around])[rows.within]
    return filled, column[rows.table_rows[filled]].tolist()


def _filled(texts: np.ndarray) -> np.ndarray:
    """Which texts are not empty (a StringDType column's cast to bool is twice as fast as
    ``!= ""``; a fixed-width one's many times slower)."""
    return texts.astype(bool) if texts.dtype.kind == "T" else texts != ""
