"""The Z-Wave pane on generated captures: bar heights equal the engine's counts, the selection
is highlighted, empty states. Asserts on item data (BarGraphItem opts) and view ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine import FlowResult
from engine.zwave import frames_of
from engine.zwave.conversations import parse_class_counts
from engine.zwave.protocol import ZWAVE
from engine.zwave.synth import main as synth
from gui.panes.zwave.pane import EMPTY, ZWavePane
from tests.conftest import CAPTURES

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Z-Wave TAP frames (with RSSI) mixed with Ethernet, and plain R1/R2 frames (no RSSI)."""
    folder = tmp_path_factory.mktemp("zwave")
    made = {"tap": folder / "tap.pcapng", "plain": folder / "plain.pcap"}
    assert synth(["--linktype", "297", "--frames", "3000", "--seed", "11", "--homes", "3",
                  "--ethernet", "200", "--out", str(made["tap"])]) == 0
    assert synth(["--linktype", "261", "--frames", "500", "--seed", "5", "--homes", "2",
                  "--out", str(made["plain"])]) == 0
    return made




@pytest.fixture
def pane(qtbot) -> ZWavePane:  # type: ignore[no-untyped-def]
    p = ZWavePane()
    qtbot.addWidget(p)
    p.resize(1300, 700)
    p.show()
    qtbot.waitExposed(p)
    return p


def frame_counts(result: FlowResult) -> tuple[np.ndarray, np.ndarray]:
    """ACK and command frames per conversation, counted from the frame columns."""
    frames = frames_of(result)
    keyed = frames.keyed
    conv = result.packets.conv[frames.index[keyed]].astype(np.int64)
    n = len(result.conversations)
    acks = np.bincount(conv[frames.is_ack[keyed]], minlength=n)
    commands = np.bincount(conv[~frames.is_ack[keyed]], minlength=n)
    return acks, commands


def test_pair_bars_equal_the_engines_counts(pane, open_result, captures) -> None:  # type: ignore[no-untyped-def]
    result = open_result(captures["tap"])
    pane.show_conversation(result, -1)
    t = result.conversations
    pairs = pane.pairs
    assert pairs is not None
    zwave = np.flatnonzero(t.kind == ZWAVE.kind)
    assert sorted(pairs.rows.tolist()) == zwave.tolist()  # every conversation, once
    ack_h = np.asarray(pane.ack_bars.opts["height"])
    cmd_h = np.asarray(pane.command_bars.opts["height"])
    assert np.array_equal(ack_h, t.extra["ack_count"][pairs.rows])
    assert np.array_equal(cmd_h, t.extra["command_count"][pairs.rows])
    assert np.array_equal(np.asarray(pane.command_bars.opts["y0"]), ack_h)  # stacked
    assert np.array_equal(np.asarray(pane.ack_bars.opts["x"]), pairs.x)
    acks, commands = frame_counts(result)
    assert np.array_equal(ack_h, acks[pairs.rows]) and np.array_equal(cmd_h, commands[pairs.rows])
    assert ack_h.sum() > 0 and cmd_h.sum() > ack_h.sum()
    # grouped by home id, a gap between groups, a label per home
    homes = t.extra["home_id"][pairs.rows]
    assert np.all(np.diff(homes.astype(np.int64)) >= 0)
    assert len(pairs.homes) == 3 == len({int(h) for h in homes})
    steps = np.diff(pairs.x)
    assert int((steps > 1.5).sum()) == 2
    labels = [item.toPlainText() for item in pane.home_labels if hasattr(item, "toPlainText")]
    assert labels == [f"home {home:08X}" for home, _, _ in pairs.homes]
    (x_min, x_max), (y_min, y_max) = pane.pair_plot.getPlotItem().getViewBox().viewRange()
    assert x_min < pairs.x.min() and x_max > pairs.x.max()
    assert y_min == 0 and y_max > (ack_h + cmd_h).max()  # room for the home labels


def test_frames_over_time_per_second(pane, open_result, captures) -> None:  # type: ignore[no-untyped-def]
    result = open_result(captures["tap"])
    pane.show_conversation(result, -1)
    frames = frames_of(result)
    keyed = frames.keyed
    seconds = (result.packets.ts_ns[frames.index[keyed]] - result.capture.first_ns) / 1e9
    is_ack = frames.is_ack[keyed]
    x0 = np.asarray(pane.time_ack.opts["x0"])
    assert np.array_equal(x0, np.arange(x0.size, dtype=float))  # one bar a second
    edges = np.arange(x0.size + 1, dtype=float)
    edges[-1] = np.inf
    assert np.array_equal(np.asarray(pane.time_ack.opts["height"]),
                          np.histogram(seconds[is_ack], edges)[0])
    assert np.array_equal(np.asarray(pane.time_command.opts["height"]),
                          np.histogram(seconds[~is_ack], edges)[0])
    assert np.array_equal(np.asarray(pane.time_command.opts["y0"]),
                          np.asarray(pane.time_ack.opts["height"]))
    assert pane.time_plot.getPlotItem().getAxis("left").labelText == "Frames per second"


def test_selection_is_highlighted_everywhere(qtbot, pane, open_result, captures) -> None:  # type: ignore[no-untyped-def]
    result = open_result(captures["tap"])
    t = result.conversations
    zwave = np.flatnonzero(t.kind == ZWAVE.kind)
    conv = int(zwave[np.argmax(t.extra["command_count"][zwave])])
    pane.show_conversation(result, conv)
    pairs = pane.pairs
    at = int(np.flatnonzero(pairs.rows == conv)[0])
    assert list(pane.pair_highlight.opts["x"]) == [pairs.x[at]]
    total = t.extra["ack_count"][conv] + t.extra["command_count"][conv]
    assert list(pane.pair_highlight.opts["height"]) == [total]
    classes = parse_class_counts(str(t.extra["command_classes"][conv]))
    widths = np.asarray(pane.class_bars.opts["width"])
    assert sorted(widths.tolist()) == sorted(classes.values())
    assert widths.sum() == t.extra["command_count"][conv] - _classless(result, conv)
    ticks = pane.class_plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert {name for _, name in ticks} == set(classes)
    _x, per_bin = pane.time_selected.getData()
    assert per_bin.sum() == total
    points = pane.rssi_selected.getData()[0]
    assert points.size == total  # every frame of a TAP capture carries its RSSI
    assert "Selected:" in pane.header.text()
    # the frames of this conversation and no other
    packets = set(t.packets_of(conv).tolist())
    assert {int(p.data()) for p in pane.rssi_selected.points()} == packets


def _classless(result: FlowResult, conv: int) -> int:
    """Command frames of ``conv`` whose payload has no command class byte."""
    frames = frames_of(result)
    rows = frames.rows_of(result.conversations.packets_of(conv))
    return int(((~frames.is_ack[rows]) & (frames.command_class[rows] < 0)).sum())


def test_clicking_an_rssi_point_selects_its_packet(qtbot, pane, open_result, captures) -> None:  # type: ignore[no-untyped-def]
    result = open_result(captures["tap"])
    conv = int(np.flatnonzero(result.conversations.kind == ZWAVE.kind)[3])
    pane.show_conversation(result, conv)
    point = pane.rssi_selected.points()[0]
    view = pane.rssi_plot.getPlotItem().getViewBox()
    scene = view.mapViewToScene(QPointF(point.pos().x(), point.pos().y()))
    where = pane.rssi_plot.mapFromScene(scene)
    with qtbot.waitSignal(pane.packetSelected, timeout=3000) as blocker:
        qtbot.mouseClick(pane.rssi_plot.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert blocker.args[0] in set(result.conversations.packets_of(conv).tolist())


def test_an_ip_selection_clears_the_highlight(pane, open_result, captures) -> None:  # type: ignore[no-untyped-def]
    result = open_result(captures["tap"])
    ip = int(np.flatnonzero(result.conversations.kind != ZWAVE.kind)[0])
    pane.show_conversation(result, ip)
    assert list(pane.pair_highlight.opts["x"]) == []
    assert len(pane.class_bars.opts["width"]) == 0
    assert "Select a Z-Wave conversation" in pane.class_note.toPlainText()
    assert pane.stack.currentIndex() == 1  # the overview stays


def test_no_rssi_without_a_tap_header(pane, open_result, captures) -> None:  # type: ignore[no-untyped-def]
    result = open_result(captures["plain"])
    pane.show_conversation(result, 0)
    assert pane.rssi is None and pane.rssi_stack.currentIndex() == 1
    assert np.asarray(pane.ack_bars.opts["height"]).sum() == \
        result.conversations.extra["ack_count"].sum()


def test_a_capture_without_zwave_shows_a_sentence(pane, open_result) -> None:  # type: ignore[no-untyped-def]
    result = open_result(CAPTURES / "zeek-http-get.pcap")
    pane.show_conversation(result, 0)
    assert pane.stack.currentIndex() == 0 and pane.empty.text() == EMPTY
    assert pane.pairs is None


def test_the_sample_capture(pane, open_result) -> None:  # type: ignore[no-untyped-def]
    sample = Path(__file__).resolve().parents[2] / "resources" / "zwave-sample.pcapng"
    result = open_result(sample)
    pane.show_conversation(result, 5)
    t = result.conversations
    assert np.asarray(pane.ack_bars.opts["height"]).sum() == t.extra["ack_count"].sum()
    assert np.asarray(pane.command_bars.opts["height"]).sum() == \
        t.extra["command_count"].sum()
