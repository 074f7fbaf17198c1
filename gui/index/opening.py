"""Opening a conversation by where it is: a capture file and a way to find the row in it.

Used by the index view (a row's capture path and id) and by ``flowscope FILE --stream N``.
The capture loads on the window's loader worker as any other; when it is on show the chosen
conversation is selected in the capture table, which sends it to the detail panes. A capture
already on show (loaded with the same options) is not read again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine import FlowConfig, FlowResult
from engine.capture.files import describe_files
from engine.protocols import lookup
from gui.table.data import ConversationData

from .model import IndexRow

#: finds the conversation to select in a loaded capture (None: it is not there)
Chooser = Callable[[FlowResult], int | None]
#: the FlowConfig fields that change which conversations a capture has
OPTION_FIELDS = ("udp_timeout", "icmp_timeout", "tcp_timeout")


def stream_chooser(stream: int, protocol: str | None = None) -> Chooser:
    """The conversation with Wireshark's tcp.stream / udp.stream ``stream`` (TCP first when
    no protocol is named)."""
    def choose(result: FlowResult) -> int | None:
        for name in (protocol,) if protocol else ("tcp", "udp"):
            proto = lookup(name)
            if proto is None:
                continue
            ids = result.conversation_of_stream(proto.kind, stream)  # type: ignore[arg-type]
            if ids:
                return int(ids[0])
        return None
    return choose


def index_row_chooser(row: IndexRow) -> Chooser:
    """The conversation an index row describes: its id when that row still starts at the same
    time with the same protocol (the capture was read with the index's options), else the
    conversation of that protocol starting at that nanosecond."""
    def choose(result: FlowResult) -> int | None:
        t = result.conversations
        names = t.protocol_names()
        if 0 <= row.id < len(t) and int(t.start_ns[row.id]) == row.start_ns and (
                names[row.id] == row.protocol):
            return row.id
        hits = np.flatnonzero((t.start_ns == row.start_ns) & (names == row.protocol))
        return int(hits[0]) if hits.size else None
    return choose


class ConversationOpener(QObject):
    """Opens captures in a window and selects a conversation once they are on show."""

    #: the conversation was selected: (capture path, conversation id)
    opened = Signal(object, int)
    #: it could not be: a sentence for the user
    failed = Signal(str)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self._pending: tuple[list[Path], Chooser, bool, str] | None = None
        window.captureLoaded.connect(self._loaded)
        window.loadFailed.connect(self._dropped)
        window.loadCancelled.connect(self._dropped)

    def open(self, path: str | Path | Sequence[str | Path], choose: Chooser,
             options: dict[str, Any] | None = None, activate: bool = False,
             what: str = "the conversation") -> None:
        """Show ``path`` (a capture, or several files read as one; read with ``options``,
        FlowConfig fields, when given) and select ``choose(result)``; ``activate`` opens its
        stream as a double click does."""
        paths = [Path(p) for p in ([path] if isinstance(path, str | Path) else path)]
        data = self.window.conversations
        if (data is not None and not self.window.loading and self.window.current_paths == paths
                and (options is None or _options_of(data.result.config) == options)):
            self._pending = None
            self._select(data, paths, choose, activate, what)
            return
        self._pending = (paths, choose, activate, what)
        config = None if options is None else FlowConfig().replace(**options)
        self.window.open_file(paths, config=config)

    def _loaded(self, data: ConversationData) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        paths, choose, activate, what = pending
        if self.window.current_paths == paths:
            self._select(data, paths, choose, activate, what)

    def _dropped(self, *_args: object) -> None:
        self._pending = None

    def _select(self, data: ConversationData, paths: list[Path], choose: Chooser,
                activate: bool, what: str) -> None:
        conversation = choose(data.result)
        if conversation is None or not self.window.view.select_conversation(conversation):
            message = f"{describe_files(paths)} has no {what}."
            self.window.statusBar().showMessage(message, 15_000)
            self.failed.emit(message)
            return
        if activate:
            self.window.conversationActivated.emit(conversation)
        self.opened.emit(paths[0] if len(paths) == 1 else paths, conversation)


def _options_of(config: FlowConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in OPTION_FIELDS}
