"""Many JSON objects with the same fields, written by ``%`` a few hundred at a time.

The objects of a protocol's records share their keys, so their text is one template
(``{"id": %s, "protocol": "tcp", …}``) filled with each row's values: a :class:`Shape`. A value
that is the same on every row is written into the template, and so is an inner object (unless
some rows have null for it: then its texts are a column of their own). :func:`fill` writes the
objects of any number of shapes, in the rows' order, with a ``%`` over their templates joined
for a few hundred rows at a time: C-speed passes instead of one per object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .fields import Coded, Column, Field, Obj, null_rows, object_array
from .json_values import CELLS, TEXT

#: rows filled by one ``%`` (its text stays in the processor's cache)
FILL_ROWS = 512


@dataclass(frozen=True)
class Shape:
    """Objects' text for some rows: the template (``%`` escaped) and, for each ``%s`` in it,
    its column of cells (one per row: an int, or JSON text)."""

    template: str
    cells: list[np.ndarray]


def shape_of(fields: list[Field], rows: np.ndarray) -> Shape:
    """The shape of the objects of ``fields`` (their values written as JSON text) at ``rows``
    (positions in the fields' columns, at least one)."""
    pairs: list[str] = []
    cells: list[np.ndarray] = []
    for key, field in fields:
        name = TEXT(key).replace("%", "%%") + ": "
        if isinstance(field, Obj):
            null = null_rows(field, rows)
            if not null.any():
                inner = shape_of(field.fields, rows)
                pairs.append(name + inner.template)
                cells += inner.cells
                continue
            if null.all():
                pairs.append(name + "null")
                continue
            pairs.append(name + "%s")
            cells.append(_object_cells(field, rows, null))
            continue
        same = _same(field, rows)
        if same is not None:
            pairs.append(name + same.replace("%", "%%"))
        else:
            pairs.append(name + "%s")
            cells.append(_cells(field, rows))
    return Shape("{" + ", ".join(pairs) + "}", cells)


def _same(field: Column | Coded, rows: np.ndarray) -> str | None:
    """The text of the field's value when it is the same at every row of ``rows``, else None
    (told by the numbers, or the codes: equal values are written alike)."""
    if isinstance(field, Coded):
        codes = field.codes[rows]
        return str(field.distinct[codes[0]]) if _all_equal(codes) else None
    values = field.values[rows]
    bits = values.view(np.int64) if values.dtype == np.float64 else values
    return str(CELLS[field.kind](values[:1])[0]) if _all_equal(bits) else None


def _all_equal(values: np.ndarray) -> bool:
    first = values[0]
    return bool(values[-1] == first and (values == first).all())


def _cells(field: Column | Coded, rows: np.ndarray) -> np.ndarray:
    if isinstance(field, Column):
        return CELLS[field.kind](field.values[rows])
    return field.values(rows)


def _object_cells(obj: Obj, rows: np.ndarray, null: np.ndarray) -> np.ndarray:
    """The texts of an object at ``rows``, null where ``null`` says (on some rows)."""
    out = np.empty(rows.size, dtype=object)
    out.fill("null")
    have = np.flatnonzero(~null)
    shape = shape_of(obj.fields, rows[have])
    out[have] = object_array("".join(fill([(shape, np.arange(have.size))], "\n")).split("\n"))
    return out


def fill(shapes: list[tuple[Shape, np.ndarray]], separator: str) -> Iterator[str]:
    """The objects of each (shape, the positions of its rows among all rows) in the rows'
    order, joined by ``separator``, in pieces: each row's template and its cells are laid out
    in the rows' order, and a ``%`` writes :data:`FILL_ROWS` rows of them."""
    n = sum(rows.size for _, rows in shapes)
    which = np.empty(n, dtype=np.intp)  # each row's shape
    for k, (_, rows) in enumerate(shapes):
        which[rows] = k
    widths = np.array([len(shape.cells) for shape, _ in shapes], dtype=np.intp)[which]
    ends = np.cumsum(widths)
    cells = np.empty(int(ends[-1]) if n else 0, dtype=object)
    for shape, rows in shapes:
        for j, column in enumerate(shape.cells):
            cells[ends[rows] - widths[rows] + j] = column
    templates = object_array([shape.template for shape, _ in shapes])[which].tolist()
    glue = separator.replace("%", "%%")
    for a in range(0, n, FILL_ROWS):
        b = min(n, a + FILL_ROWS)
        if a:
            yield separator
        yield glue.join(templates[a:b]) % tuple(cells[ends[a] - widths[a] : ends[b - 1]].tolist())
