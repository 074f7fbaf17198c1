"""The running conversation table: chunks in, conversations so far out, the final table at the end.

Each chunk's IP packets are grouped by tuple (:mod:`.tuples`), cut into conversations with the
state carried from earlier chunks (:mod:`.splits`) and reduced into per-conversation sums over
runs, so the work per chunk is proportional to the chunk. Conversations get *running ids* in order
of their first packet; stream numbers are handed out in order of first appearance as Wireshark
does (a TCP conversation at its first packet, a UDP tuple at its first packet, either earlier when
an ICMP error quotes the tuple first). :meth:`RunningTable.finish` renumbers by start time, as the
one-shot :func:`engine.conversations.build_conversations` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from ..cancel import checkpoint, every
from ..compiled import compiled_module, contiguous
from ..conversations import QuotedLinks
from ..decode.exact import Quoted
from ..key import Endpoints, icmp_echo
from ..packets import Kind, PacketTable, Reason
from ..protocols import ip_kinds, kinds_with_ports
from ..sets import byte_table
from ..table import ConversationTable
from .growing import Growing
from .splits import ChunkStarts, Sorted, new_tuple_state
from .tuples import ChunkGroups, TupleIndex, group_rows

_MASK64 = (1 << 64) - 1
_BIG = np.iinfo(np.int64).max

#: per conversation, in running-id order: (dtype, value of a new row)
CONVERSATION_COLUMNS = {
    "tuple": (np.int64, -1), "a_forward": (np.bool_, True),
    "kind": (np.uint8, 0), "ip_proto": (np.uint8, 0), "family": (np.uint8, 0),
    "stream": (np.int64, -1),
    "a_hi": (np.uint64, 0), "a_lo": (np.uint64, 0), "a_port": (np.int32, -1),
    "b_hi": (np.uint64, 0), "b_lo": (np.uint64, 0), "b_port": (np.int32, -1),
    "packets_ab": (np.int64, 0), "packets_ba": (np.int64, 0),
    "bytes_ab": (np.int64, 0), "bytes_ba": (np.int64, 0),
    "payload_ab": (np.int64, 0), "payload_ba": (np.int64, 0),
    "start_ns": (np.int64, _BIG), "end_ns": (np.int64, -_BIG - 1),
    "first_packet": (np.int64, -1), "last_packet": (np.int64, -1),
    "first_pos": (np.int64, -1),  # position of the first counted packet (the tie-break)
    "inner": (np.bool_, False),  # its packets are inside a tunnel
    "flags_ab": (np.uint16, 0), "flags_ba": (np.uint16, 0),
    "icmp_type": (np.uint8, 0), "icmp_code": (np.uint8, 0), "icmp_id": (np.int32, -1),
    #: the conversation the first ICMP error of this one quotes: a running id, -1 = none, or
    #: -2 - tuple while that tuple has no conversation yet (resolved at the end)
    "quotes": (np.int64, -1),
    "quoted": (np.bool_, False),  # its first ICMP error was seen (whatever that quotes)
}
TABLE_COLUMNS = [name for name in CONVERSATION_COLUMNS
                 if name not in ("tuple", "a_forward", "quoted", "first_pos", "inner")]


class RunningTable:
    """Conversations of the chunks added so far (see the module docstring).

    Chunks come as rows in *positions*: every packet of the capture, and after a tunnelled
    frame the packet inside it, numbered in that order (without tunnels a position is a packet
    index). Each row also names its frame (``frames``), the packet index the table reports.
    """

    def __init__(self, udp_gap_ns: int | None, icmp_gap_ns: int | None) -> None:
        self.udp_gap_ns = udp_gap_ns
        self.icmp_gap_ns = icmp_gap_ns
        self.tuples = TupleIndex()
        self.state = new_tuple_state()
        self.convs = Growing(CONVERSATION_COLUMNS)
        self._next_stream = {int(Kind.TCP): 0, int(Kind.UDP): 0}
        self._kinds = ip_kind_table()
        self._ported = byte_table(sorted(kinds_with_ports()))
        # every ICMP error seen: its frame and what it quotes (running id or -2 - tuple)
        self._quote_packets: list[int] = []
        self._quote_targets: list[int] = []

    def __len__(self) -> int:
        return len(self.convs)

    # -- one chunk ---------------------------------------------------------------------------
    def add(self, t: PacketTable, first_pos: int, quoted: list[tuple[int, Quoted]],
            rank: np.ndarray | None = None, frames: np.ndarray | int | None = None,
            inner: np.ndarray | None = None, groups: ChunkGroups | None = None) -> None:
        """Group chunk ``t`` (positions ``first_pos`` on); writes ``t.conv`` (running ids) and
        ``t.direction`` of its counted packets. ``quoted`` lists the chunk's ICMP errors (by
        position). ``rank``, if given, receives each packet's place within its conversation
        (for the packet lists: no sort of all packets at the end). ``frames`` is the packet
        index of each row (or of the first row, the others following; default ``first_pos``),
        ``inner`` marks rows that are packets inside a tunnel. ``groups``, if given, are the
        rows :func:`taken_rows` picks, already grouped by tuple (by the decoding process).

        TCP headers Wireshark numbers but does not count (``Reason.TCP_HEADER``) are grouped
        with the rest: they may start a stream and use up its number, but count nowhere, and a
        conversation of such packets only is not listed (see
        :func:`engine.conversations.build_conversations`).
        """
        rows, numbered = taken_rows(t, self._kinds)
        where = _Where(first_pos, frames if frames is not None else first_pos, inner)
        q_tids, q_where, q_kinds = self._quoted_tuples(quoted)
        s = self._sorted(t, rows, numbered, groups)
        checkpoint()  # (a viewer's thread may take its turn at each: engine.cancel)
        starts = ChunkStarts(s, self.state, self.udp_gap_ns, self.icmp_gap_ns)
        checkpoint()
        conv, old_conv = self._assign(t, s, starts, where, rank)
        checkpoint()
        self._streams(s, starts, conv, first_pos, q_tids, q_where, q_kinds)
        self._quote_links(t, s, starts, conv, old_conv, where, quoted, q_tids, q_where)
        starts.carry(self.state)

    def _quoted_tuples(self, quoted: list[tuple[int, Quoted]]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The tuples the chunk's TCP/UDP quotes name (created if not seen yet)."""
        picked = [(i, q) for i, q in quoted if q.kind in (Kind.TCP, Kind.UDP)]
        z = np.zeros(0, dtype=np.int64)
        if not picked:
            return z, z, z
        m = len(picked)
        qt = PacketTable.empty(m)
        for row in every(m, 1 << 14):
            q = picked[row][1]
            qt.kind[row], qt.family[row] = q.kind, q.family
            qt.src_hi[row], qt.src_lo[row] = q.src >> 64, q.src & _MASK64
            qt.dst_hi[row], qt.dst_lo[row] = q.dst >> 64, q.dst & _MASK64
            qt.sport[row], qt.dport[row] = q.sport, q.dport
        found = self.tuples.lookup(Endpoints.of(qt, np.arange(m)))
        if found.created:
            self.state.extend(found.created)
        where = np.array([i for i, _ in picked], dtype=np.int64)
        kinds = np.array([int(q.kind) for _, q in picked], dtype=np.int64)
        return found.tid, where, kinds

    def _sorted(self, t: PacketTable, rows: np.ndarray, numbered: np.ndarray,
                groups: ChunkGroups | None) -> Sorted:
        uncounted = numbered[rows]
        some = bool(uncounted.any())
        kinds = grouped_kinds(t, rows, uncounted) if some else None
        if groups is not None and groups.order.size == rows.size:
            found = self.tuples.lookup_groups(t, rows, kinds, groups)
        else:
            found = self.tuples.lookup(Endpoints.of(t, rows, kinds))
        if found.created:
            self.state.extend(found.created)
        g = found.group
        order = found.order
        m = order.size
        gs = g[order]
        first = np.ones(m, dtype=bool)
        first[1:] = gs[1:] != gs[:-1]
        run_start = np.flatnonzero(first)
        run_end = np.append(run_start[1:], m) if m else run_start
        prow = rows[order]
        # (groups are numbered 0, 1, … in the order they first appear: the sorted groups are
        # the run numbers)
        return Sorted(prow=prow, run=gs, run_start=run_start,
                      run_end=run_end, tid=found.tid[order][run_start],
                      forward=found.forward[order],
                      kind=kinds[order] if kinds is not None else t.kind[prow],
                      ts=t.ts_ns[prow], flags=t.tcp_flags[prow],
                      seq=t.seq[prow].astype(np.int64),
                      counted=~uncounted[order] if some else None)

    def _assign(self, t: PacketTable, s: Sorted, starts: ChunkStarts, where: _Where,
                rank: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Running ids for the new conversations; conversation and direction of every position.
        Returns (conversation per position, each run's conversation before the chunk)."""
        st = self.state.cols
        new = starts.new
        m = s.size
        new_pos = np.flatnonzero(new)
        new_pos = new_pos[np.argsort(s.prow[new_pos], kind="stable")]  # by first packet
        sl = self.convs.extend(new_pos.size)
        ids = np.arange(sl.start, sl.stop, dtype=np.int64)
        id_at = np.full(m, -1, dtype=np.int64)
        id_at[new_pos] = ids
        old_conv = st["conv"][s.tid].copy()
        idx = np.where(new, np.arange(m), -1)
        latest = np.maximum.accumulate(idx) if m else idx
        run_start_of = s.run_start[s.run]
        inside = latest >= run_start_of
        conv = np.where(inside, id_at[np.maximum(latest, 0)], old_conv[s.run])
        c = self.convs.cols
        c["tuple"][ids] = s.tid[s.run[new_pos]]
        boundary = new.copy()
        boundary[s.run_start] = True
        seg = np.flatnonzero(boundary)  # one segment per conversation (its packets here)
        self._describe(t, s, seg, conv, where)
        direction = s.forward != c["a_forward"][conv]
        if s.counted is None:
            t.conv[s.prow] = conv
            t.direction[s.prow] = direction
        else:
            t.conv[s.prow] = np.where(s.counted, conv, -1)
            t.direction[s.prow] = direction & s.counted
        self._sum(t, s, seg, conv, direction, where, rank)
        # the tuples' current and first conversations
        st["conv"][s.tid] = conv[s.run_end - 1]
        heads = (st["head"][s.tid] < 0)
        st["head"][s.tid[heads]] = conv[s.run_start[heads]]
        return conv, old_conv

    def _describe(self, t: PacketTable, s: Sorted, seg: np.ndarray, conv: np.ndarray,
                  where: _Where) -> None:
        """Endpoints and ICMP details of conversations counting their first packet here, from
        that packet (A is its sender)."""
        c = self.convs.cols
        if s.counted is None:
            firsts = seg
        else:  # each segment's first counted position
            counted = np.flatnonzero(s.counted)
            if not counted.size:
                return
            seg_of = np.searchsorted(seg, counted, side="right") - 1
            lead = np.ones(counted.size, dtype=bool)
            lead[1:] = seg_of[1:] != seg_of[:-1]
            firsts = counted[lead]
        ids = conv[firsts]
        fresh = c["packets_ab"][ids] + c["packets_ba"][ids] == 0
        firsts, ids = firsts[fresh], ids[fresh]
        if not ids.size:
            return
        r = s.prow[firsts]
        kind = t.kind[r]
        c["a_forward"][ids] = s.forward[firsts]
        c["kind"][ids] = kind
        c["ip_proto"][ids] = t.ip_proto[r]
        c["family"][ids] = t.family[r]
        c["first_pos"][ids] = where.first_pos + r
        c["first_packet"][ids] = where.frame(r)
        c["inner"][ids] = where.is_inner(r)
        has_ports = self._ported[kind]
        c["a_hi"][ids], c["a_lo"][ids] = t.src_hi[r], t.src_lo[r]
        c["b_hi"][ids], c["b_lo"][ids] = t.dst_hi[r], t.dst_lo[r]
        c["a_port"][ids] = np.where(has_ports, t.sport[r].astype(np.int32), -1)
        c["b_port"][ids] = np.where(has_ports, t.dport[r].astype(np.int32), -1)
        itype = t.icmp_type[r]
        c["icmp_type"][ids] = itype
        c["icmp_code"][ids] = t.icmp_code[r]
        c["icmp_id"][ids] = np.where(icmp_echo(kind, itype), t.icmp_id[r].astype(np.int32), -1)

    def _sum(self, t: PacketTable, s: Sorted, seg: np.ndarray, conv: np.ndarray,
             direction: np.ndarray, where: _Where, rank: np.ndarray | None) -> None:
        """Add the chunk's counted packets to their conversations' sums (one segment per
        conversation: a conversation's packets are consecutive in the grouped order); in one
        compiled pass when ``engine.aggregate._sums`` is built, else with numpy."""
        if not s.size:
            return
        compiled = compiled_module("engine.aggregate._sums")
        if compiled is not None:
            _compiled_sum(compiled, self.convs.cols, t, s, seg, conv, direction, where, rank)
        else:
            self._numpy_sum(t, s, seg, conv, direction, where, rank)

    def _numpy_sum(self, t: PacketTable, s: Sorted, seg: np.ndarray, conv: np.ndarray,
                   direction: np.ndarray, where: _Where, rank: np.ndarray | None) -> None:
        """:meth:`_sum` with numpy: the reference."""
        c = self.convs.cols
        ids = conv[seg]
        prow = s.prow
        w = s.counted
        b = direction if w is None else direction & w
        frame = t.origlen[prow].astype(np.int64)
        payload = np.maximum(t.payload_len[prow], 0).astype(np.int64)
        ts = s.ts
        flags = s.flags
        at = np.arange(s.size)
        if w is not None:
            frame = np.where(w, frame, 0)
            payload = np.where(w, payload, 0)
            flags = np.where(w, flags, 0)
        add = np.add.reduceat
        lengths = np.diff(np.append(seg, s.size))
        counts = lengths if w is None else add(w.astype(np.int64), seg)
        if rank is not None:
            before = c["packets_ab"][ids] + c["packets_ba"][ids]
            seg_of = np.repeat(np.arange(seg.size), lengths)
            if w is None:
                rank[prow] = before[seg_of] + at - seg[seg_of]
            else:
                within = np.cumsum(w) - w  # counted positions before each, over the chunk
                rank[prow] = np.where(w, before[seg_of] + within - within[seg[seg_of]], 0)
        packets_ba = add(b.astype(np.int64), seg)
        bytes_ba = add(np.where(b, frame, 0), seg)
        payload_ba = add(np.where(b, payload, 0), seg)
        c["packets_ba"][ids] += packets_ba
        c["packets_ab"][ids] += counts - packets_ba
        c["bytes_ba"][ids] += bytes_ba
        c["bytes_ab"][ids] += add(frame, seg) - bytes_ba
        c["payload_ba"][ids] += payload_ba
        c["payload_ab"][ids] += add(payload, seg) - payload_ba
        if w is None:
            first_ts, last_ts = np.minimum.reduceat(ts, seg), np.maximum.reduceat(ts, seg)
            last = prow[np.append(seg[1:], s.size) - 1]
            has = slice(None)
        else:
            first_ts = np.minimum.reduceat(np.where(w, ts, _BIG), seg)
            last_ts = np.maximum.reduceat(np.where(w, ts, -_BIG - 1), seg)
            last_at = np.maximum.reduceat(np.where(w, at, -1), seg)
            has = last_at >= 0  # type: ignore[assignment]
            last = prow[last_at[has]]
        c["start_ns"][ids] = np.minimum(c["start_ns"][ids], first_ts)
        c["end_ns"][ids] = np.maximum(c["end_ns"][ids], last_ts)
        c["last_packet"][ids[has]] = where.frame(last)
        c["flags_ab"][ids] |= np.bitwise_or.reduceat(np.where(b, 0, flags), seg).astype(
            np.uint16)
        c["flags_ba"][ids] |= np.bitwise_or.reduceat(np.where(b, flags, 0), seg).astype(
            np.uint16)

    # -- stream numbers ------------------------------------------------------------------------
    def _streams(self, s: Sorted, starts: ChunkStarts, conv: np.ndarray, first_pos: int,
                 q_tids: np.ndarray, q_where: np.ndarray, q_kinds: np.ndarray) -> None:
        """Hand out tcp.stream / udp.stream numbers in order of first appearance.

        A tuple's number is handed out at its first packet or at the first ICMP error quoting
        it, whichever comes first (Wireshark creates the conversation then); a TCP conversation
        after the tuple's first has a number of its own, UDP pieces cut by an idle gap share
        their tuple's.
        """
        st, c = self.state.cols, self.convs.cols
        new_pos = np.flatnonzero(starts.new)
        new_conv = conv[new_pos]
        new_kind = s.kind[new_pos]
        new_tid = s.tid[s.run[new_pos]]
        ported = (new_kind == Kind.TCP) | (new_kind == Kind.UDP)
        # tuples whose number is still to be handed out: at their first packet or quote here
        is_head = st["head"][new_tid] == new_conv
        cand_tid = [new_tid[ported & is_head], q_tids]
        cand_pos = [first_pos + s.prow[new_pos[ported & is_head]], q_where]
        cand_kind = [new_kind[ported & is_head].astype(np.int64), q_kinds]
        tids = np.concatenate(cand_tid)
        pos = np.concatenate(cand_pos)
        kinds = np.concatenate(cand_kind)
        open_ = st["alloc"][tids] < 0
        tids, pos, kinds = tids[open_], pos[open_], kinds[open_]
        if tids.size:  # the earliest appearance of each tuple
            order = np.lexsort((pos, tids))
            keep = np.ones(order.size, dtype=bool)
            keep[1:] = tids[order][1:] != tids[order][:-1]
            order = order[keep]
            tids, pos, kinds = tids[order], pos[order], kinds[order]
        # TCP conversations after their tuple's first get numbers of their own
        later = (new_kind == Kind.TCP) & ~is_head
        ev_pos = np.concatenate((pos, first_pos + s.prow[new_pos[later]]))
        ev_kind = np.concatenate((kinds, np.full(int(later.sum()), int(Kind.TCP))))
        ev_target = np.concatenate((tids, -2 - new_conv[later]))  # >= 0 tuple, <= -2 conv
        order = np.argsort(ev_pos, kind="stable")
        for k in (int(Kind.TCP), int(Kind.UDP)):
            mine = order[ev_kind[order] == k]
            if not mine.size:
                continue
            numbers = self._next_stream[k] + np.arange(mine.size, dtype=np.int64)
            self._next_stream[k] += mine.size
            target = ev_target[mine]
            st["alloc"][target[target >= 0]] = numbers[target >= 0]
            c["stream"][-2 - target[target < 0]] = numbers[target < 0]
        # heads take their tuple's number; UDP pieces too
        takes = ported & (is_head | (new_kind == Kind.UDP))
        c["stream"][new_conv[takes]] = st["alloc"][new_tid[takes]]

    # -- ICMP errors -----------------------------------------------------------------------
    def _quote_links(self, t: PacketTable, s: Sorted, starts: ChunkStarts, conv: np.ndarray,
                     old_conv: np.ndarray, at: _Where, quoted: list[tuple[int, Quoted]],
                     q_tids: np.ndarray, q_where: np.ndarray) -> None:
        """What each ICMP error quotes: the latest conversation of the quoted tuple that began
        before the error, or the tuple's first conversation when the error came first."""
        if not quoted:
            return
        target_of: dict[int, int] = {}
        if q_tids.size:
            run_of_tid = {int(tid): r for r, tid in enumerate(s.tid.tolist())}
            tids, wheres = q_tids.tolist(), q_where.tolist()
            for k in every(len(tids), 1 << 10):
                tid, where = tids[k], wheres[k]
                r = run_of_tid.get(tid)
                target = -2 - tid  # no conversation yet: the tuple's first, once it has one
                before = int(old_conv[r]) if r is not None else int(self.state.cols["conv"][tid])
                if before >= 0:
                    target = before
                if r is not None:
                    a, b = int(s.run_start[r]), int(s.run_end[r])
                    began = np.flatnonzero(starts.new[a:b]) + a
                    began = began[at.first_pos + s.prow[began] < where]
                    if began.size:
                        target = int(conv[began[-1]])
                target_of[k] = target
        picked = [k for k, (_, q) in enumerate(quoted) if q.kind in (Kind.TCP, Kind.UDP)]
        slot = {k: j for j, k in enumerate(picked)}
        c = self.convs.cols
        for k in every(len(quoted), 1 << 14):
            where = quoted[k][0]
            target = target_of.get(slot.get(k, -1), -1)
            row = where - at.first_pos
            self._quote_packets.append(int(at.frame(np.array([row]))[0]))
            self._quote_targets.append(target)
            mine = int(t.conv[row])
            if mine >= 0 and not c["quoted"][mine]:  # the first error of a conversation wins
                c["quoted"][mine] = True
                c["quotes"][mine] = target

    # -- results -----------------------------------------------------------------------------
    def _resolve(self, targets: np.ndarray) -> np.ndarray:
        """Running ids for targets that named a tuple (its first conversation, or -1)."""
        pending = targets <= -2
        out = targets.copy()
        out[pending] = self.state.cols["head"][-2 - targets[pending]]
        return out

    def _listed(self) -> np.ndarray:
        """Running ids of the conversations with a counted packet (the others are made of TCP
        headers Wireshark numbers but does not count), in running-id order."""
        c = self.convs.cols
        return np.flatnonzero(c["packets_ab"] + c["packets_ba"] > 0)

    def snapshot(self) -> tuple[ConversationTable, np.ndarray]:
        """The conversations so far, in running-id order (copies: the table keeps growing), and
        which of them are inside a tunnel."""
        c = self.convs.cols
        ids = self._listed()
        cols: dict[str, Any] = {name: c[name][ids] for name in TABLE_COLUMNS}
        quotes = self._resolve(cols["quotes"])
        alive = np.full(len(self.convs) + 1, -1, dtype=np.int64)
        alive[ids] = np.arange(ids.size)
        cols["quotes"] = np.where(quotes >= 0, alive[quotes], -1)
        return ConversationTable(**cols), c["inner"][ids]

    def finish(self) -> tuple[ConversationTable, QuotedLinks, np.ndarray]:
        """The final table (ids by start time, then first position), the ICMP links, and the
        final id of every running id (-1 for one not listed), to renumber the packets."""
        c = self.convs.cols
        n = len(self.convs)
        ids = self._listed()
        by_start = ids[np.lexsort((c["first_pos"][ids], c["start_ns"][ids]))]
        new_id = np.full(n, -1, dtype=np.int64)
        new_id[by_start] = np.arange(by_start.size)
        cols: dict[str, Any] = {name: c[name][by_start] for name in TABLE_COLUMNS}
        quotes = self._resolve(cols["quotes"])
        cols["quotes"] = np.where(quotes >= 0, new_id[np.maximum(quotes, 0)], -1)
        table = ConversationTable(**cols)
        targets = self._resolve(np.array(self._quote_targets, dtype=np.int64))
        links = QuotedLinks(np.array(self._quote_packets, dtype=np.int64),
                            np.where(targets >= 0, new_id[np.maximum(targets, 0)], -1))
        return table, links, new_id


@cache
def ip_kind_table() -> np.ndarray:
    """A byte table of the kinds the running table groups (the IP ones)."""
    table = byte_table(sorted(ip_kinds()))
    table.setflags(write=False)
    return table


def taken_rows(t: PacketTable, ip_kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows the running table groups (``ip_kinds``: a byte table of the IP kinds) and which
    packets are TCP headers Wireshark numbers but does not count (see :meth:`RunningTable.add`)."""
    numbered = t.reason == Reason.TCP_HEADER
    return np.flatnonzero(ip_kinds[t.kind] | numbered), numbered


def grouped_kinds(t: PacketTable, rows: np.ndarray, uncounted: np.ndarray) -> np.ndarray:
    """The kind each row is grouped as: uncounted TCP headers are TCP whatever was decoded."""
    return np.where(uncounted, np.uint8(Kind.TCP), t.kind[rows])


def group_chunk(table: Any, t: PacketTable,
                room: Callable[[int], ChunkGroups] | None = None) -> ChunkGroups:
    """The rows of ``t`` the running table takes, grouped by tuple with ``table`` (a compiled
    tuple table of the caller's, see :func:`.tuples.group_rows`) into ``room(rows)`` or new
    arrays: what :meth:`RunningTable.add` then only numbers."""
    rows, numbered = taken_rows(t, ip_kind_table())
    uncounted = numbered[rows]
    kinds = grouped_kinds(t, rows, uncounted) if uncounted.any() else None
    n = rows.size
    out = room(n) if room is not None else ChunkGroups(
        np.empty(n, dtype=np.int64), np.empty(n, dtype=bool), np.empty(n, dtype=np.int64))
    group_rows(table, Endpoints.of(t, rows, kinds), out)
    return out


#: the conversation columns the compiled sums add to, in the order it takes them
_SUM_COLUMNS = ("packets_ab", "packets_ba", "bytes_ab", "bytes_ba", "payload_ab", "payload_ba",
                "start_ns", "end_ns")


def _compiled_sum(compiled: Any, c: dict[str, np.ndarray], t: PacketTable, s: Sorted,
                  seg: np.ndarray, conv: np.ndarray, direction: np.ndarray, where: _Where,
                  rank: np.ndarray | None) -> None:
    ids = contiguous(conv[seg], np.int64)
    last_row = np.empty(seg.size, dtype=np.int64)
    compiled.segment_sums(
        contiguous(seg, np.int64), contiguous(s.prow, np.int64), contiguous(direction, np.bool_),
        None if s.counted is None else contiguous(s.counted, np.bool_),
        contiguous(t.origlen, np.uint32), contiguous(t.payload_len, np.int32),
        contiguous(s.ts, np.int64), contiguous(s.flags, np.uint16), ids, rank,
        *(c[name] for name in _SUM_COLUMNS), c["flags_ab"], c["flags_ba"], last_row)
    has = last_row >= 0
    c["last_packet"][ids[has]] = where.frame(last_row[has])


@dataclass(frozen=True)
class _Where:
    """Where a chunk's rows are: its first position, and each row's frame and level."""

    first_pos: int
    frames: np.ndarray | int  # the packet index of each row, or of the first row
    inner: np.ndarray | None  # rows that are packets inside a tunnel

    def frame(self, rows: np.ndarray) -> np.ndarray:
        if isinstance(self.frames, np.ndarray):
            return self.frames[rows]
        return self.frames + rows

    def is_inner(self, rows: np.ndarray) -> np.ndarray:
        if self.inner is None:
            return np.zeros(rows.size, dtype=bool)
        return self.inner[rows]
