"""Decoding on the second core: a forked process decodes chunks while this one aggregates.

- :mod:`.slots` — fixed-size slots in one anonymous shared mapping (the reader's chunk buffers
  and the decoded columns), inherited by the forked worker, so no chunk byte is copied;
- :mod:`.pool` — the worker process, and the feeding loop that keeps chunks in file order.

Threads were measured first and gave nothing on two cores (numpy calls this short serialise on
the GIL); a process does not share the GIL.
"""

from .pool import DecodePool, feed_chunks, wait_closed

__all__ = ["DecodePool", "feed_chunks", "wait_closed"]
