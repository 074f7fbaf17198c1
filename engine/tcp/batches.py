"""TCP analyses that share the load's batches of gathered TCP packets.

The TCP summary gathers the packets of its conversations batch by batch
(:func:`engine.tcp.summary.summarize`); an analysis that needs the same columns registers a
consumer here and sees every batch once, instead of gathering the packets again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..result import FlowResult
from .segments import TcpPackets

#: consumer(result, table rows of the batch, their gathered packets)
BatchConsumer = Callable[[FlowResult, np.ndarray, TcpPackets], None]
#: export(result, rows, packets) -> what the consumer found in the batch (picklable)
BatchExport = Callable[[FlowResult, np.ndarray, TcpPackets], Any]
#: absorb(result, rows, found): add what export returned (in another process)
BatchAbsorb = Callable[[FlowResult, np.ndarray, Any], None]


@dataclass(frozen=True)
class Consumer:
    see: BatchConsumer
    export: BatchExport | None = None
    absorb: BatchAbsorb | None = None
    prepare: Callable[[FlowResult], object] | None = None


CONSUMERS: list[Consumer] = []


def register_batch_consumer(consumer: BatchConsumer, export: BatchExport | None = None,
                            absorb: BatchAbsorb | None = None,
                            prepare: Callable[[FlowResult], object] | None = None) -> None:
    """``consumer`` sees every batch; with ``export`` and ``absorb`` it can also see the
    batches the summary's forked process works on (what it found there comes back);
    ``prepare(result)`` runs before the first batch (before the process forks)."""
    CONSUMERS.append(Consumer(consumer, export, absorb, prepare))


def prepare_batch_consumers(result: FlowResult) -> None:
    for consumer in CONSUMERS:
        if consumer.prepare is not None:
            consumer.prepare(result)


def run_batch_consumers(result: FlowResult, rows: np.ndarray, t: TcpPackets) -> None:
    for consumer in CONSUMERS:
        consumer.see(result, rows, t)


class ForkedConsumers:
    """The consumers' exports and absorbs (:class:`engine.tcp.summary.ForkedBatches`)."""

    def __init__(self, result: FlowResult) -> None:
        self.result = result

    def export(self, rows: np.ndarray, t: TcpPackets) -> Any:
        return [c.export(self.result, rows, t) for c in CONSUMERS if c.export is not None]

    def absorb(self, rows: np.ndarray, found: Any) -> None:
        for consumer, part in zip((c for c in CONSUMERS if c.absorb is not None), found,
                                  strict=True):
            assert consumer.absorb is not None
            consumer.absorb(self.result, rows, part)


def forked_consumers(result: FlowResult) -> ForkedConsumers | None:
    """A way back for every consumer's findings, or None if one has none."""
    if all(c.export is not None and c.absorb is not None for c in CONSUMERS):
        return ForkedConsumers(result)
    return None
