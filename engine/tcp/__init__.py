"""TCP: per-endpoint RFC 793 states, Zeek-style summaries, and the reassembled byte streams."""
