"""Per-conversation TCP health, from Wireshark's per-packet TCP analysis (computed at load).

Registers the analysis (``result.plugin_data["tcp_expert"]``) and the columns built on it.
"""

from __future__ import annotations

from ..hooks import register_analysis
from ..result import FlowResult
from .expert import analyse
from .expert_store import KEY


def add_tcp_health(result: FlowResult) -> None:
    result.plugin_data[KEY] = analyse(result)


register_analysis(add_tcp_health)
