"""The application layer: what each TCP and UDP conversation is.

At load (:mod:`engine.app.analysis`, registered as an analysis): the service identified from
the bytes, the server name, and TLS/QUIC/HTTP/DNS/SSH/mail metadata as columns
(:mod:`engine.app.fields`); names from the capture's own DNS answers. On demand
(:func:`transactions`): the whole application record of one conversation, for the GUI's
Application pane and the CLI.
"""

from __future__ import annotations

from . import fields as _fields  # noqa: F401  (declares the columns)
from .analysis import AppData, add_app_columns
from .services import SERVICES
from .transactions import AppDetail, Line, Section, transactions

__all__ = ["SERVICES", "AppData", "AppDetail", "Line", "Section", "add_app_columns",
           "transactions"]
