"""The JSON text of conversation records, written from columns instead of one dict each.

:func:`record_lines` gives, for each conversation, exactly the text that ``json`` writes for
its :func:`~engine.export.records.conversation_records` dict (``separators=(", ", ": ")``):
every field's values are encoded once per column (once per distinct value where values
repeat), and each protocol's records are one template, filled by ``%`` with a row of encoded
values. Encoding a dict per conversation cost about four times as much (10,000 conversations
with the TCP and application columns: ~0.5 s).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from ..result import FlowResult
from .records import by_value, object_texts, records_of

#: the encoder whose output the lines equal (one record per line in the JSON document)
_ENCODER = json.JSONEncoder(separators=(", ", ": ")).encode
_TEXT = json.encoder.encode_basestring_ascii


def encode(value: Any) -> str:
    """The JSON text of ``value``, as the encoder writes it; scalars without its machinery."""
    kind = type(value)
    if kind is str:
        return _TEXT(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is float and value - value == 0:  # (finite)
        return float.__repr__(value)
    return _ENCODER(value)


def _ints(values: Sequence[int]) -> list[str]:
    return list(map(int.__repr__, values))


def _nullable(values: Sequence[int | None]) -> list[str]:
    return ["null" if v is None else int.__repr__(v) for v in values]


def _floats(values: Sequence[float | None]) -> list[str]:
    """As ``json`` writes floats: repr, and NaN/Infinity for the non-finite."""
    return ["null" if v is None else float.__repr__(v) if v - v == 0 else encode(v)
            for v in values]


#: how each kind of :class:`~engine.export.records.Column` is written
_WRITERS: dict[str, Callable[[Sequence[Any]], Sequence[str]]] = {
    # (text columns only: 1, 1.0 and True would share a key of the memo)
    "int": _ints, "nullable": _nullable, "float": _floats, "text": partial(by_value, encode),
    "json": lambda texts: texts,  # (declared fields: encoded by declared_fields already)
}


def record_lines(result: FlowResult, rows: np.ndarray | None = None) -> list[str]:
    """Each conversation's record as one line of JSON (all, or ``rows`` in the given order)."""
    return records_of(result, rows, encode,
                      lambda column, values: _WRITERS[column.kind](values),
                      partial(object_texts, encode))


__all__ = ["record_lines"]
