"""The Timeline pane (TCP): both endpoints' RFC 793 states as bars, the packets as marks, and
the time-sequence graph below them."""
