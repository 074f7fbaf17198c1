"""Conversations built chunk by chunk: a running table that grows as the capture is read.

- :mod:`.growing` — columns that grow by doubling;
- :mod:`.tuples` — the address/port tuples seen so far (hash lookup, checked field by field);
- :mod:`.splits` — where a chunk's packets start new conversations, carrying each tuple's state
  (Wireshark's TCP SYN rule, idle gaps) from one chunk to the next;
- :mod:`.running` — the running table: per-conversation sums, stream numbers in order of first
  appearance, ICMP quotes, snapshots while loading and the final table;
- :mod:`.levels` — both levels: the frames, and the packets inside UDP tunnels interleaved.

The result equals :func:`engine.tunnels.build_levels` (and, without tunnels,
:func:`engine.conversations.build_conversations`) over the whole capture — the one-shot
references — whatever the chunk boundaries; the cost is linear in the packets.
"""

from .levels import Grouped, Levels
from .running import RunningTable

__all__ = ["Grouped", "Levels", "RunningTable"]
