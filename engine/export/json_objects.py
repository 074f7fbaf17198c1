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
FILL_ROWS = 256
#: a run of coded cells is made one cell while the rows hold at most this many combinations
#: of their values for each row
FEW_COMBINATIONS = 0.25
#: runs are made one cell for this many rows or more (each run costs tens of µs)
JOIN_ROWS = 512


@dataclass(frozen=True)
class Shape:
    """Objects' text for some rows: the template (``%`` escaped) and, for each ``%s`` in it,
    its column of cells (one per row: an int, or JSON text)."""

    template: str
    cells: list[np.ndarray]


class ColumnCells:
    """Number columns written as cells once for all their rows (records of several protocols
    share them; floats cost the most)."""

    def __init__(self) -> None:
        self._cells: dict[tuple[int, str], np.ndarray] = {}

    def at(self, column: Column, rows: np.ndarray) -> np.ndarray:
        key = (id(column.values), column.kind)
        if key not in self._cells:
            self._cells[key] = CELLS[column.kind](column.values)
        return self._cells[key][rows]


def shape_of(fields: list[Field], rows: np.ndarray, columns: ColumnCells) -> Shape:
    """The shape of the objects of ``fields`` (their values written as JSON text) at ``rows``
    (positions in the fields' columns, at least one)."""
    texts: list[str] = ["{"]  # the template's text around the cells
    cells: list[np.ndarray | _CodedCells] = []
    _lay_out(fields, rows, columns, texts, cells)
    texts[-1] += "}"
    return _joined(texts, cells, rows.size)


@dataclass(frozen=True)
class _CodedCells:
    """A coded field's cells: its written values and each row's position among them."""

    codes: np.ndarray
    texts: np.ndarray


def _lay_out(fields: list[Field], rows: np.ndarray, columns: ColumnCells, texts: list[str],
             cells: list[np.ndarray | _CodedCells]) -> None:
    """Add the fields' text to the template (``texts[-1]`` is the text after the last cell)
    and their cells."""
    for k, (key, field) in enumerate(fields):
        texts[-1] += (", " if k else "") + TEXT(key).replace("%", "%%") + ": "
        if isinstance(field, Obj):
            null = null_rows(field, rows)
            if not null.any():
                texts[-1] += "{"
                _lay_out(field.fields, rows, columns, texts, cells)
                texts[-1] += "}"
            elif null.all():
                texts[-1] += "null"
            else:
                cells.append(_object_cells(field, rows, null, columns))
                texts.append("")
            continue
        same = _same(field, rows)
        if same is not None:
            texts[-1] += same.replace("%", "%%")
            continue
        if isinstance(field, Coded):
            cells.append(_CodedCells(field.codes[rows], field.distinct))
        else:
            cells.append(columns.at(field, rows))
        texts.append("")


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
    return values.size == 1 or bool(values[-1] == first and (values == first).all())


def _object_cells(obj: Obj, rows: np.ndarray, null: np.ndarray, columns: ColumnCells
                  ) -> np.ndarray:
    """The texts of an object at ``rows``, null where ``null`` says (on some rows)."""
    out = np.empty(rows.size, dtype=object)
    out.fill("null")
    have = np.flatnonzero(~null)
    out[have] = object_array(_texts(shape_of(obj.fields, rows[have], columns), have.size))
    return out


def _texts(shape: Shape, n: int) -> list[str]:
    """The text of each of the shape's ``n`` objects (inner objects, runs), by one ``%``: they
    are its lines, as JSON text holds no line break."""
    if not shape.cells:
        return [shape.template % ()] * n
    table = np.empty((n, len(shape.cells)), dtype=object)
    for j, column in enumerate(shape.cells):
        table[:, j] = column
    return ("\n".join([shape.template] * n) % tuple(table.ravel().tolist())).split("\n")


def _joined(texts: list[str], cells: list[np.ndarray | _CodedCells], n: int) -> Shape:
    """The shape of a template's texts and cells, a run of coded cells made one cell (the
    run's text for each combination of its values that the rows hold, written once) while
    the rows hold few combinations (:data:`FEW_COMBINATIONS`), if they are many
    (:data:`JOIN_ROWS`)."""
    template = [texts[0]]
    joined: list[np.ndarray] = []
    k = 0
    while k < len(cells):
        cell = cells[k]
        if not isinstance(cell, _CodedCells) or n < JOIN_ROWS:
            joined.append(cell if isinstance(cell, np.ndarray) else cell.texts[cell.codes])
            template.append("%s" + texts[k + 1])
            k += 1
            continue
        combination, count = cell.codes, cell.texts.size
        end = k + 1
        while end < len(cells):
            following = cells[end]
            if not isinstance(following, _CodedCells):
                break
            more = _combined(combination, count, following, n)
            if more[1] > FEW_COMBINATIONS * n:
                break
            combination, count = more
            end += 1
        if end == k + 1:
            joined.append(cell.texts[cell.codes])
        else:
            joined.append(_run_texts(texts[k + 1 : end], cells[k:end], combination))
        template.append("%s" + texts[end])
        k = end
    return Shape("".join(template), joined)


def _combined(combination: np.ndarray, count: int, cell: _CodedCells, n: int
              ) -> tuple[np.ndarray, int]:
    """Each row's combination of ``combination`` (of ``count``) and the cell's value,
    numbered from 0, and how many there are."""
    key = combination.astype(np.int64) * cell.texts.size + cell.codes
    if count * cell.texts.size <= 4 * n:  # (few possible: a table of them)
        seen = np.zeros(count * cell.texts.size, dtype=bool)
        seen[key] = True
        return (np.cumsum(seen) - 1)[key], int(np.count_nonzero(seen))
    distinct, numbers = np.unique(key, return_inverse=True)
    return numbers.reshape(-1), distinct.size


def _run_texts(between: list[str], run: list[np.ndarray | _CodedCells],
               combination: np.ndarray) -> np.ndarray:
    """Each row's text of a run of coded cells with the template's texts ``between`` them:
    each combination's written once, from a row that holds it."""
    rows_of = np.empty(int(combination.max()) + 1, dtype=np.intp)
    rows_of[combination[::-1]] = np.arange(combination.size)[::-1]  # (its first row)
    values = [cell.texts[cell.codes[rows_of]] for cell in run if isinstance(cell, _CodedCells)]
    shape = Shape("%s" + "".join(text + "%s" for text in between), values)
    return object_array(_texts(shape, rows_of.size))[combination]


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
        first = ends[rows] - widths[rows]  # the rows' first cells
        for j, column in enumerate(shape.cells):
            cells[first + j] = column
    templates = object_array([shape.template for shape, _ in shapes])[which].tolist()
    glue = separator.replace("%", "%%")
    for a in range(0, n, FILL_ROWS):
        b = min(n, a + FILL_ROWS)
        if a:
            yield separator
        yield glue.join(templates[a:b]) % tuple(cells[ends[a] - widths[a] : ends[b - 1]].tolist())
