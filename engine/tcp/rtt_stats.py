"""Each TCP conversation's ACK RTTs (``tcp.analysis.ack_rtt``): minimum, median and maximum.

Worked out batch by batch as the analysis runs (:class:`.expert.ExpertBuilder`), while the
batch's packets are at hand, in whichever process analyses that half of the conversations. A
pass of its own after the analysis had gathered every conversation's packets again, on one
core (0.1 s of a 5M-packet load).
"""

from __future__ import annotations

import numpy as np

from ..packet_store import release_pages, take
from .expert_store import TcpExpert

#: rows of :func:`empty`: the minimum, the median and the maximum
MIN, MEDIAN, MAX = 0, 1, 2


def empty(conversations: int) -> np.ndarray:
    """(3, conversations) ns, -1 where a conversation has no ACK RTT."""
    return np.full((3, conversations), -1, dtype=np.int64)


def add_batch(out: np.ndarray, store: TcpExpert, ts_ns: np.ndarray, conv: np.ndarray,
              index: np.ndarray) -> None:
    """The statistics of the conversations whose packets are ``index`` (all of each), into
    ``out``; ``store`` holds their analysis, ``ts_ns`` and ``conv`` are packet columns."""
    idx = index[take(store.acked_back, index) > 0]
    rtt = store.ack_rtt_ns(ts_ns, idx)
    keep = rtt != -1
    idx, rtt = idx[keep], rtt[keep]
    stats(take(conv, idx).astype(np.int64), rtt, out)
    release_pages(ts_ns, store.acked_back)


def stats(conv: np.ndarray, rtt: np.ndarray, out: np.ndarray) -> None:
    """Minimum, median and maximum of each conversation's RTTs into ``out`` (see :func:`empty`)."""
    if not conv.size:
        return
    low = int(rtt.min())  # may be negative: timestamps can go backwards
    span = int(rtt.max()) - low + 1
    if (int(conv.max()) + 1) * span < (1 << 62):  # one sort of a combined key
        key = np.sort(conv * span + (rtt - low))
        conv, rtt = key // span, key % span + low
    else:
        order = np.lexsort((rtt, conv))
        conv, rtt = conv[order], rtt[order]
    starts = np.flatnonzero(np.concatenate(([True], conv[1:] != conv[:-1])))
    ends = np.append(starts[1:], conv.size)
    c = conv[starts]
    out[MIN, c] = rtt[starts]
    out[MAX, c] = rtt[ends - 1]
    count = ends - starts
    below = rtt[starts + (count - 1) // 2]
    above = rtt[starts + count // 2]
    out[MEDIAN, c] = (below + above) // 2
