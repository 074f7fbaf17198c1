"""The Application pane: what a TCP or UDP conversation said at the application layer."""
