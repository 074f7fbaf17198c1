"""The Toy plug-in's detail pane: the selected pair's highest reading, read from the engine's
column (the pane computes nothing itself)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtWidgets import QVBoxLayout, QWidget

from engine.result import FlowResult
from gui.jobs import JobRunner
from gui.panes import Pane, register_pane, unregister_pane


class ToyPane(Pane):
    name = "toy"
    title = "Toy"
    tooltip = "The Toy pair's readings"
    protocols = frozenset({"toy"})
    priority = 5
    only_when_present = True

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.label = self.empty_label("Select a Toy conversation.")
        QVBoxLayout(self).addWidget(self.label)
        self.conversation = -1

    def show_conversation(self, result: FlowResult | None, conversation: int) -> None:
        self.conversation = conversation
        if result is None or conversation < 0:
            self.label.setText("Select a Toy conversation.")
        elif not self.applies(result, conversation):
            self.label.setText(self.not_applicable(result, conversation))
        else:
            top = int(result.conversations.extra["toy_max"][conversation])
            self.label.setText(f"Highest reading: {top}")


@contextmanager
def pane_installed() -> Iterator[type[ToyPane]]:
    register_pane(ToyPane)
    try:
        yield ToyPane
    finally:
        unregister_pane(ToyPane)
