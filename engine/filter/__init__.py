"""The conversation filter language, shared by the GUI's filter box and ``--filter``.

One grammar (:mod:`.parser`), parsed once into a syntax tree (:mod:`.nodes`), evaluated with
numpy on whole columns to a boolean mask (:mod:`.evaluate`). Every column of the registry
(engine.columns) is a field by its name and aliases; its ``format`` decides how values read
(:mod:`.literals`), so columns added later are filterable with no code here::

    from engine.filter import FilterColumns, compile_filter
    columns = FilterColumns(result.conversations, result.capture.first_ns)
    mask = compile_filter("port 80 or port 443", columns).mask(columns)

Errors are :class:`FilterError` (a FlowError and a ValueError) with the offending span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..table import ConversationTable
from .errors import FilterError
from .evaluate import evaluate, text_value
from .help import HELP, syntax
from .nodes import Node, TextValue
from .parser import parse
from .source import FilterColumns

__all__ = ["HELP", "Filter", "FilterColumns", "FilterError", "compile_filter", "filter_mask",
           "parse", "syntax"]

@dataclass(frozen=True)
class Filter:
    """A parsed filter: apply it to any number of tables."""

    text: str
    root: Node | None  # None: the filter is blank and keeps every row

    def mask(self, columns: FilterColumns | ConversationTable) -> np.ndarray | None:
        """The rows the filter keeps (None when it is blank: every row)."""
        if self.root is None:
            return None
        if isinstance(columns, ConversationTable):
            columns = FilterColumns(columns)
        return evaluate(self.root, columns, self.text)


def compile_filter(text: str, columns: FilterColumns | None = None) -> Filter:
    """Parse ``text``. With the table it will filter, words that must be a text column's value
    are checked while parsing, so the first problem in the text is the one reported."""
    check = None
    if columns is not None:
        def check(node: TextValue, source: str) -> None:
            text_value(node, columns, source)
    return Filter(text, parse(text, check))


def filter_mask(text: str, columns: FilterColumns | ConversationTable) -> np.ndarray | None:
    """The rows of a table that ``text`` keeps; None for a blank filter."""
    if isinstance(columns, ConversationTable):
        columns = FilterColumns(columns)
    return compile_filter(text, columns).mask(columns)
