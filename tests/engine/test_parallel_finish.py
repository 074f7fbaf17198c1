"""The finishing work shared with a forked process gives what this process alone gives: the
TCP summary in halves, the application layer run ahead, a child that fails, a load cancelled
while the child works."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import engine.tcp.batches as batches
import engine.tcp.summary as summary
from engine import WIRESHARK, FlowResult, LoadCancelled, extract_flows_from_file
from engine.cancel import cancel_scope, checkpoint
from engine.parallel.halves import _split, map_halves
from tests.engine.bigger import bigger_capture


def test_halves_keep_the_order() -> None:
    items = list(range(9))
    assert map_halves(lambda x: (x, os.getpid()), items, [1] * 9, workers=1) != \
        [(x, os.getpid()) for x in items]  # some were done elsewhere ...
    got = map_halves(lambda x: x * x, items, [1] * 9, workers=1)
    assert got == [x * x for x in items]  # ... and all come back in order
    assert map_halves(lambda x: os.getpid(), items, [1] * 9, workers=0) == [os.getpid()] * 9


def test_the_split_balances_weights() -> None:
    assert _split([1, 1, 1, 1]) == 2
    assert _split([10, 1, 1]) == 1
    assert _split([1, 1, 10]) == 2
    assert _split([5, 5]) == 1


def test_a_failing_child_leaves_its_half_here() -> None:
    parent = os.getpid()

    def picky(x: int) -> int:
        if os.getpid() != parent:
            raise RuntimeError("not here")
        return x + 1

    assert map_halves(picky, [1, 2, 3, 4], [1] * 4, workers=1) == [2, 3, 4, 5]


def test_cancel_stops_the_child() -> None:
    parent = os.getpid()

    def slow(x: int) -> int:
        if os.getpid() != parent:
            time.sleep(30)  # the child's half would take long
        return x

    started = time.perf_counter()
    polls = 0

    def cancel() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    with cancel_scope(cancel, "stop"), pytest.raises(LoadCancelled, match="stop"):
        map_halves(slow, [1, 2, 3, 4], [1] * 4, workers=1)
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("budget", [None, 0], ids=["in memory", "spilled"])
def test_tcp_summary_in_halves_equals_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  budget: int | None) -> None:
    path = bigger_capture(tmp_path / "big.pcap", copies=4)
    config = WIRESHARK.replace(packet_budget=budget, spill_dir=tmp_path)
    monkeypatch.setattr(summary, "PARALLEL_PACKETS", 100)
    monkeypatch.setattr(summary, "BATCH_PACKETS", 500)
    calls = []
    real = summary.map_halves

    def spy(fn: object, items: list, weights: list, workers: int) -> list:
        calls.append((len(items), workers))
        return real(fn, items, weights, workers)  # type: ignore[arg-type]

    monkeypatch.setattr(summary, "map_halves", spy)
    absorbed = []
    real_absorb = batches.ForkedConsumers.absorb

    def absorb(self: batches.ForkedConsumers, rows: np.ndarray, found: object) -> None:
        absorbed.append(rows.size)
        real_absorb(self, rows, found)

    monkeypatch.setattr(batches.ForkedConsumers, "absorb", absorb)
    with extract_flows_from_file(path, config.replace(workers=0)) as alone, \
            extract_flows_from_file(path, config.replace(workers=1)) as halves:
        assert calls[0][1] == 0 and calls[1] == (calls[0][0], 1) and calls[1][0] >= 2
        names = [n for n in alone.conversations.extra if n in halves.conversations.extra]
        assert {"history", "conn_state", "retransmissions"} <= set(names)
        for name in names:
            np.testing.assert_array_equal(halves.conversations.extra[name],
                                          alone.conversations.extra[name], err_msg=name)
        # Wireshark's per-packet TCP analysis: the child analysed its batches, and what it
        # found came back whole
        assert absorbed and sum(absorbed) < len(alone.conversations)
        assert {"rtt_median", "dup_acks", "expert_severity"} <= set(names)
        a, b = alone.plugin_data["tcp_expert"], halves.plugin_data["tcp_expert"]
        assert (a.flags != 0).sum() > 100 and a.dup_index.size > 0
        for field in dataclasses.fields(a):
            np.testing.assert_array_equal(getattr(b, field.name), getattr(a, field.name),
                                          err_msg=field.name)


def _app_columns_equal(a: FlowResult, b: FlowResult) -> None:
    from engine.app.fields import ORDER

    extra_a, extra_b = a.conversations.extra, b.conversations.extra
    for name in ORDER:
        np.testing.assert_array_equal(extra_b[name], extra_a[name], err_msg=name)
    assert b.plugin_data["app"].names.entries == a.plugin_data["app"].names.entries


def test_application_layer_ahead_equals_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """The application layer started in a forked copy before the TCP summary (so reading who
    opened each connection from the packets) gives what it gives in order, after the summary;
    and the findings kept came from the child."""
    from engine import hooks
    from engine.app.analysis import add_app_columns, app_findings, keep_findings
    from tests.engine.app_truth import APP, CAPTURES

    parent = os.getpid()
    kept: list[int] = []

    def work(result: FlowResult) -> tuple[int, Any]:
        return os.getpid(), app_findings(result)

    def keep(result: FlowResult, found: tuple[int, Any]) -> None:
        kept.append(found[0])
        keep_findings(result, found[1])

    monkeypatch.setitem(hooks.AHEAD, add_app_columns, hooks.Ahead(work, keep, lambda r: True))
    assert hooks.ANALYSES.index(add_app_columns) > 0
    paths = [APP / name for name in CAPTURES]
    with extract_flows_from_file(paths, WIRESHARK.replace(workers=0)) as in_order, \
            extract_flows_from_file(paths, WIRESHARK.replace(workers=1)) as ahead:
        assert len(kept) == 1 and kept[0] != parent
        assert int((in_order.conversations.extra["service_by"] == "content").sum()) > 300
        _app_columns_equal(in_order, ahead)


def test_an_analysis_whose_child_fails_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that fails (here: raises) leaves its analysis to this process, at its place
    in the order."""
    from engine import hooks

    parent = os.getpid()
    order: list[str] = []

    def first(result: object) -> None:
        order.append("first")

    def picky_work(result: object) -> int:
        if os.getpid() != parent:
            raise RuntimeError("not in the child")
        return 7

    def picky(result: object) -> None:
        order.append("picky")
        result.plugin_data["picky"] = picky_work(result)  # type: ignore[attr-defined]

    def keep(result: object, found: int) -> None:
        raise AssertionError("nothing came back from the child")

    monkeypatch.setattr(hooks, "ANALYSES", [first, picky])
    monkeypatch.setitem(hooks.AHEAD, picky, hooks.Ahead(picky_work, keep, lambda r: True))
    from tests.conftest import CAPTURES

    with extract_flows_from_file(CAPTURES / "zeek-dns53.pcap",
                                 WIRESHARK.replace(workers=1)) as result:
        assert order == ["first", "picky"] and result.plugin_data["picky"] == 7


def test_cancel_while_an_analysis_runs_ahead_stops_its_child(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A load cancelled while the analyses run here and one runs ahead in its child: the load
    ends with the cancel's message and the child is gone."""
    import engine.analyses
    from engine import hooks

    children: list[object] = []
    real_init = engine.analyses.ForkedCall.__init__

    def init(self: object, fn: Callable[[], Any]) -> None:
        real_init(self, fn)  # type: ignore[arg-type]
        children.append(self)

    monkeypatch.setattr(engine.analyses.ForkedCall, "__init__", init)
    polls = 0
    analysing = False

    def cancel() -> bool:
        nonlocal polls
        return analysing and (polls := polls + 1) > 2

    def first(result: object) -> None:
        nonlocal analysing
        analysing = True
        for _ in range(1000):  # long enough for the cancel to land here
            time.sleep(0.01)
            checkpoint()

    def slow_work(result: object) -> int:
        time.sleep(30)
        return 1

    def slow(result: object) -> None:
        raise AssertionError("never reached")

    monkeypatch.setattr(hooks, "ANALYSES", [first, slow])
    monkeypatch.setitem(hooks.AHEAD, slow, hooks.Ahead(slow_work, lambda r, f: None,
                                                       lambda r: True))
    from tests.conftest import CAPTURES

    started = time.perf_counter()
    with pytest.raises(LoadCancelled):
        extract_flows_from_file(CAPTURES / "zeek-dns53.pcap", WIRESHARK.replace(workers=1),
                                cancel=cancel)
    assert time.perf_counter() - started < 10
    assert len(children) == 1 and not children[0]._child.is_alive()  # type: ignore[attr-defined]


def test_the_application_layer_runs_ahead_on_big_captures_too() -> None:
    """Above the memory map's limit it reads with pread in the child as it would here; run in
    order, it kept one core idle for most of a second on 5M packets."""
    from types import SimpleNamespace

    from engine.app.analysis import AHEAD_CONVERSATIONS, _worth_running_ahead
    from engine.app.payload import SCATTERED_MAP_LIMIT

    def result(conversations: int, size: int) -> Any:
        return SimpleNamespace(conversations=range(conversations),
                               capture=SimpleNamespace(file_bytes=size))

    assert _worth_running_ahead(result(AHEAD_CONVERSATIONS, 10 * SCATTERED_MAP_LIMIT))
    assert _worth_running_ahead(result(AHEAD_CONVERSATIONS, 1000))
    assert not _worth_running_ahead(result(AHEAD_CONVERSATIONS - 1, 10 * SCATTERED_MAP_LIMIT))


def test_one_forked_helper_at_a_time_on_two_cores() -> None:
    """While a child works (an analysis ahead), the others work here: a third process on two
    cores only makes the other two wait. ``workers`` allows more when set higher."""
    from engine.parallel.halves import ForkedCall, may_fork

    assert may_fork(1)
    child = ForkedCall(lambda: os.getpid())
    try:
        assert not may_fork(1) and may_fork(2)
        assert map_halves(lambda k: (k, os.getpid()), [1, 2, 3, 4], [1, 1, 1, 1], 1) == [
            (k, os.getpid()) for k in (1, 2, 3, 4)]
        assert child.result() != os.getpid()
    finally:
        child.close()
        child.close()  # (twice is harmless)
    assert may_fork(1)


def test_the_application_layer_from_its_child_is_filled_in_as_in_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the forked copy sends (each column's values pickled on their own) and how it is
    filled in here, a few rows per step, gives every application column as computed in
    order."""
    import pickle

    from engine.app import analysis
    from tests.engine.app_truth import APP, CAPTURES

    monkeypatch.setattr(analysis, "FILL_STEP", 7)
    paths = [APP / name for name in CAPTURES]
    with extract_flows_from_file(paths, WIRESHARK.replace(workers=0)) as r:
        columns, names = analysis.app_findings(r)
        packed, packed_names = pickle.loads(pickle.dumps(analysis._packed_findings(r)))
        assert all(isinstance(values, bytes) for _, values in packed.values())
        assert max(rows.size for rows, _ in packed.values()) > 7 * 10  # many steps
        filled = analysis._unpacked(len(r.conversations), packed)
        assert filled.keys() == columns.keys()
        for name, column in columns.items():
            np.testing.assert_array_equal(filled[name], column, err_msg=name)
        assert packed_names.entries == names.entries
