"""The errors Flowscope reports to users.

Every failure a user can cause with a file or an option is a :class:`FlowError` whose message is a
sentence naming the file and the problem, so the CLI and the GUI can show ``str(error)`` as is.
"""

from __future__ import annotations


class FlowError(Exception):
    """Base class: something about the input or the request that a user can act on."""


class InvalidCaptureError(FlowError):
    """The file is not a capture Flowscope can read (bad magic, unsupported version, …)."""


class TruncatedCaptureError(FlowError):
    """The file ends before its first packet could be read."""


class UnsupportedFormatError(InvalidCaptureError):
    """The file is a capture format Flowscope recognises but does not read."""


class PacketError(FlowError):
    """A packet handed to the API cannot be interpreted (no bytes, unknown link layer, …)."""


class LoadCancelled(FlowError):
    """The caller asked to stop; nothing half-built is returned."""


class ConversationNotFound(FlowError):
    """A stream or conversation number that the capture does not contain."""


class ExportError(FlowError):
    """Writing an export failed; the destination was left untouched."""


class DiskSpaceError(FlowError):
    """Temporary data (a decompressed capture) would leave its disk without enough free space."""
