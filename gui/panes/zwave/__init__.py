"""The Z-Wave pane: ACK and command frames per node pair, frames over time, command classes and
signal strength (:mod:`.data` prepares the arrays from the engine's columns)."""
