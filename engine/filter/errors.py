"""The one error the filter language raises: what is wrong, and where in the text."""

from __future__ import annotations

from ..errors import FlowError

#: longer user text is shortened in messages (a pasted megabyte is not worth repeating)
_SHOWN = 40


def quote(text: str) -> str:
    """``text`` in quotation marks for a message, shortened when long."""
    if len(text) > _SHOWN:
        text = text[:_SHOWN - 1] + "…"
    return f"“{text}”"


class FilterError(FlowError, ValueError):
    """The filter text cannot be read or applied.

    ``message`` says what is wrong and what was expected; ``start``/``end`` are the offending
    span as character offsets into ``text`` (so a view can underline it), ``column`` the
    1-based position a person counts. ``str()`` is the message with that position.
    """

    def __init__(self, message: str, text: str, start: int, end: int | None = None) -> None:
        self.message = message
        self.text = text
        self.start = max(0, min(start, len(text)))
        self.end = max(self.start + 1, end if end is not None else self.start + 1)
        super().__init__(f"{message} (at character {self.column})")

    @property
    def column(self) -> int:
        return self.start + 1

    def caret(self) -> str:
        """The filter text and, below it, ``^`` marks under the offending span."""
        width = max(1, min(self.end, len(self.text) + 1) - self.start)
        return f"{self.text}\n{' ' * self.start}{'^' * width}"
