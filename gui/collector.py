"""Python's cyclic garbage collected on the GUI thread only.

A Qt object caught in a reference cycle (a widget and a lambda connected to its signal, say) is
destroyed when the collector frees that cycle, on whichever thread ran the collection. Python
runs it on the thread whose allocation crossed the threshold, so during a load it is often the
loading thread: a widget would be destroyed off the GUI thread, which Qt forbids, and the test
suite once hung there for good (the widget's destructor waited for the interpreter lock that its
own collecting thread held). So once the GUI starts, the automatic collector is off for the life
of the process, and a timer on the GUI thread collects each generation that is due by Python's
own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: how often the GUI thread looks for due generations (ms)
INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Turns the automatic collector off and collects from a timer on this object's thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)
        gc.disable()
        # what start-up made (modules, classes, the window: ~100,000 objects) lives as long as
        # the process: frozen, no collection on the GUI thread walks it again (45 ms each time)
        gc.collect()
        gc.freeze()
        self._timer.start()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count is over its threshold (none: nothing);
        how many unreachable objects were found."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [g for g in range(3) if counts[g] > thresholds[g]]
        return gc.collect(due[-1]) if due else 0


def collect_on_gui_thread(parent: QObject) -> GuiThreadCollector:
    """Install the collector once, owned by ``parent`` (the application), when start-up is
    done (what exists then is frozen); the one in place if there is one."""
    found = parent.findChild(GuiThreadCollector)
    return found if found is not None else GuiThreadCollector(parent)
