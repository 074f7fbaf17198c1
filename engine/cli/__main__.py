"""``python -m engine.cli``: the same as the ``flowscope-cli`` command."""

from . import entry

entry()
