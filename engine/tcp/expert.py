"""Wireshark's TCP analysis (``tcp.analysis.*``) for every TCP packet, computed at load.

The analysis runs over batches of whole conversations (conversations are independent). When
the compiled analysis is built (:mod:`.expert_compiled`), it states the rules packet by packet
for the whole batch; otherwise the
sequence rules (:mod:`.expert_seq`) and the unacknowledged-segment list (:mod:`.expert_acks`)
are whole-column numpy; the few conversations they mark (numbers that do not compare like TCP's
over the span, more than 10,000 unacknowledged segments, a SYN Wireshark would treat as a new
conversation, …) go through the packet-by-packet statement of the rules
(:mod:`.expert_exact`). The result is stored compactly (:mod:`.expert_store`).
"""

from __future__ import annotations

import numpy as np

from ..packet_store import release_pages
from ..packets import ACK, Kind
from ..result import FlowResult
from . import rtt_stats
from .expert_acks import analyse_acks
from .expert_compiled import COMPILED, analyse_batch
from .expert_exact import analyse_conversation
from .expert_flags import HAS_RECORD, REUSED_PORTS
from .expert_input import EarlierOnTuple, ExpertInput, gather_input
from .expert_rows import Lanes, mark
from .expert_seq import analyse_sequence
from .expert_store import NO_IRTT, TcpExpert, duplicate_ack_rows
from .segments import TcpPackets

#: packets analysed at once when the analysis gathers them itself
BATCH_PACKETS = 1 << 18


class ExpertBuilder:
    """Collects the analysis batch by batch into one :class:`TcpExpert`."""

    def __init__(self, result: FlowResult) -> None:
        self.result = result
        store = result.packet_store
        spill = store.column if store is not None and store.spilled else None
        # (on a big capture the per-packet arrays live in the spill folder; made before the
        # TCP summary forks, the forked process writes its half into the same files)
        self.store = TcpExpert.empty(len(result.packets), len(result.conversations),
                                     None if spill is None else
                                     lambda name, dtype: spill(name, dtype, 0))
        #: the per-packet arrays are shared file mappings: what a forked process writes there
        #: is seen here, and need not travel back (at 20M packets its half was 180 MB through
        #: a pipe, copied and unpickled here under the interpreter lock)
        self.shared = spill is not None
        #: each conversation's ACK RTT statistics (:mod:`.rtt_stats`), filled batch by batch
        self.rtt = rtt_stats.empty(len(result.conversations))
        self.earlier = EarlierOnTuple(result)
        self.dup: list[np.ndarray] = []
        self.batches = 0
        self._dup_mark = 0  # (what export() has already reported)
        self._change_mark = 0

    def add_batch(self, convs: np.ndarray, t: TcpPackets | None = None, exact: bool = False
                  ) -> None:
        """Analyse the TCP conversations ``convs`` (``t``: their packets, if gathered)."""
        self.batches += 1
        inp = gather_input(self.result, convs, t, self.earlier)
        if not exact and COMPILED is not None:
            analyse_batch(COMPILED, inp, self.store, self.dup)
        else:
            todo = np.ones(convs.size, dtype=bool) if exact else _vectorised(inp, self.store,
                                                                              self.dup)
            for k in np.flatnonzero(todo).tolist():
                _exact_one(inp, k, self.store, self.dup)
        p = self.result.inner_view()
        rtt_stats.add_batch(self.rtt, self.store, p.ts_ns, p.conv, inp.t.index)
        self._let_go()

    def export(self, convs: np.ndarray, t: TcpPackets) -> dict[str, np.ndarray]:
        """What the last :meth:`add_batch` (of ``convs``, packets ``t``) wrote: its packets'
        values, its conversations', the duplicate ACKs and base changes it added (made in a
        forked process, for :meth:`absorb` in the parent)."""
        store, index = self.store, t.index
        dup = self.dup[self._dup_mark:]
        self._dup_mark = len(self.dup)
        changes = store.base_changes[self._change_mark:]
        self._change_mark = len(store.base_changes)
        found = {"irtt_ns": store.irtt_ns[convs], "irtt_at": store.irtt_at[convs],
                 "base": store.base[convs], "rtt": self.rtt[:, convs],
                 "dup": np.concatenate(dup) if dup else np.zeros((0, 3), dtype=np.int64),
                 "base_changes": changes}
        if not self.shared:
            found.update(index=index, flags=store.flags[index],
                         bytes_in_flight=store.bytes_in_flight[index],
                         acked_back=store.acked_back[index])
        return found

    def absorb(self, convs: np.ndarray, found: dict[str, np.ndarray]) -> None:
        """Add a batch :meth:`export` described, as if :meth:`add_batch` had run here."""
        self.batches += 1
        store = self.store
        if not self.shared:  # (else the forked process wrote them into the shared files)
            index = found["index"]
            store.flags[index] = found["flags"]
            store.bytes_in_flight[index] = found["bytes_in_flight"]
            store.acked_back[index] = found["acked_back"]
        store.irtt_ns[convs] = found["irtt_ns"]
        store.irtt_at[convs] = found["irtt_at"]
        self.rtt[:, convs] = found["rtt"]
        store.base[convs] = found["base"]
        if found["dup"].size:
            self.dup.append(found["dup"])
        if found["base_changes"].size:
            store.base_changes = np.concatenate([store.base_changes, found["base_changes"]])
        self._let_go()

    def _let_go(self) -> None:
        """Spilled per-packet arrays: drop the pages a batch wrote (they stay in the file)."""
        release_pages(self.store.flags, self.store.bytes_in_flight, self.store.acked_back)

    def finish(self) -> TcpExpert:
        store = self.store
        if store.base_changes.size:
            order = np.argsort(store.base_changes[:, 0], kind="stable")
            store.base_changes = store.base_changes[order]
        if self.dup:
            d = np.concatenate(self.dup)
            d = d[np.argsort(d[:, 0], kind="stable")]
            store.dup_index, store.dup_num, store.dup_of = (d[:, 0].copy(), d[:, 1].copy(),
                                                            d[:, 2].copy())
        return store


def tcp_batches(result: FlowResult) -> list[np.ndarray]:
    """The TCP conversations of ``result`` in batches of about ``BATCH_PACKETS`` packets."""
    table = result.conversations
    convs = np.flatnonzero(table.kind == Kind.TCP)
    if not convs.size:
        return []
    batch = np.cumsum(table.packets[convs]) // BATCH_PACKETS
    return np.split(convs, np.flatnonzero(np.diff(batch)) + 1)


def analyse(result: FlowResult, exact: bool = False) -> TcpExpert:
    """The analysis of every TCP conversation of ``result`` (``exact``: packet by packet, the
    reference the vectorised path equals)."""
    builder = ExpertBuilder(result)
    for part in tcp_batches(result):
        builder.add_batch(part, exact=exact)
    return builder.finish()


def analyse_exact(result: FlowResult) -> TcpExpert:
    return analyse(result, exact=True)


def _vectorised(inp: ExpertInput, store: TcpExpert, dup: list[np.ndarray]) -> np.ndarray:
    """Fill ``store`` for the batch; returns the conversations left to the exact pass."""
    t = inp.t
    lanes = Lanes(t)
    seq = analyse_sequence(t, lanes, inp.seglen, inp.wscale)
    exact = seq.exact
    acks = analyse_acks(t, lanes, inp.seglen, seq.end, seq.base, seq.lost_row, inp.sack_count,
                        inp.sack_bytes, exact)
    flags = seq.flags
    first = t.bounds[:-1][inp.reused & (t.bounds[:-1] < t.bounds[1:])]
    flags[first] |= REUSED_PORTS | HAS_RECORD
    mark(flags, acks.record, HAS_RECORD)
    if exact.any():
        keep = ~exact[t.local]
        rows = t.index[keep]
        store.flags[rows] = flags[keep]
        store.bytes_in_flight[rows] = acks.bytes_in_flight[keep]
        has = keep & (acks.acked >= 0)
    else:  # the usual case: every row is this pass's
        keep = np.ones(len(t), dtype=bool)
        store.flags[t.index] = flags
        store.bytes_in_flight[t.index] = acks.bytes_in_flight
        has = acks.acked >= 0
    h = np.flatnonzero(has)
    rows = t.index[h]
    store.acked_back[rows] = rows - t.index[acks.acked[h]]
    mine = keep[seq.dup_rows]
    if mine.any():
        dup.append(duplicate_ack_rows(t.index, seq.dup_rows[mine], seq.dup_num[mine],
                                      seq.dup_of[mine]))
    ok = ~exact
    # a lane's base exists once it sent or was ACKed (rows are grouped by conversation)
    seen = np.zeros((t.nconv, 2), dtype=bool)
    acking = (t.flags & ACK) != 0
    starts = t.bounds[:-1]
    filled = starts < t.bounds[1:]
    for d in (0, 1):
        mine = t.lane == d
        if len(t):
            seen[filled, d] = np.logical_or.reduceat(mine | acking, starts[filled])
    store.base[t.convs[ok]] = np.where(seen[ok], seq.base[ok], -1)
    known = (seq.irtt_row >= 0) & ~exact
    convs = t.convs[known]
    store.irtt_ns[convs] = seq.irtt_ns[known]
    store.irtt_at[convs] = t.index[seq.irtt_row[known]]
    return exact


def _exact_one(inp: ExpertInput, k: int, store: TcpExpert, dup: list[np.ndarray]) -> None:
    t = inp.t
    res = analyse_conversation(inp.conversation(k))
    rows = t.index[t.bounds[k] : t.bounds[k + 1]]
    store.flags[rows] = res.flags
    store.bytes_in_flight[rows] = res.bytes_in_flight
    has = res.acked >= 0
    store.acked_back[rows] = 0
    store.acked_back[rows[has]] = rows[has] - rows[res.acked[has]]
    d = np.flatnonzero(res.dupack_num)
    if d.size:
        dup.append(duplicate_ack_rows(rows, d, res.dupack_num[d], res.dupack_of[d]))
    conv = int(t.convs[k])
    store.base[conv] = -1
    changes: list[tuple[int, int, int, int]] = []
    for row, lane, base in res.base_events:
        if store.base[conv, lane] == -1 and not any(c[2] == lane for c in changes):
            store.base[conv, lane] = base
        else:
            changes.append((int(rows[row]), conv, lane, base))
    if changes:
        store.base_changes = np.concatenate([store.base_changes,
                                             np.array(changes, dtype=np.int64)])
    if res.irtt_ns is not None:
        store.irtt_ns[conv] = res.irtt_ns
        store.irtt_at[conv] = rows[res.irtt_row]
    else:
        store.irtt_ns[conv] = NO_IRTT
        store.irtt_at[conv] = -1
