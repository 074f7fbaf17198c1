"""TCP analyses that share the load's batches of gathered TCP packets.

The TCP summary gathers the packets of its conversations batch by batch
(:func:`engine.tcp.summary.summarize`); an analysis that needs the same columns registers a
consumer here and sees every batch once, instead of gathering the packets again.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..result import FlowResult
from .segments import TcpPackets

#: consumer(result, table rows of the batch, their gathered packets)
BatchConsumer = Callable[[FlowResult, np.ndarray, TcpPackets], None]

CONSUMERS: list[BatchConsumer] = []


def register_batch_consumer(consumer: BatchConsumer) -> None:
    CONSUMERS.append(consumer)


def run_batch_consumers(result: FlowResult, rows: np.ndarray, t: TcpPackets) -> None:
    for consumer in CONSUMERS:
        consumer(result, rows, t)
