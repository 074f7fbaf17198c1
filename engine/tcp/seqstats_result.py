"""What :func:`.seqstats.sequence_stats` finds, the same from the numpy and the compiled pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SeqStats:
    retransmissions: np.ndarray  # int64 per conversation
    out_of_order: np.ndarray  # int64 per conversation
    missing: np.ndarray  # int64 per conversation (both sides)
    missing_side: np.ndarray  # int64 (nconv, 2) per lane
    retransmitted: np.ndarray  # bool per packet
    reordered: np.ndarray  # bool per packet
