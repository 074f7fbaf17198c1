"""Where Flowscope keeps its preferences (QSettings, INI format so tests can redirect it)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "flowscope"
APPLICATION = "flowscope"


def settings() -> QSettings:
    """The user's settings file (``~/.config/flowscope/flowscope.ini`` on Linux)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION,
                     APPLICATION)


def read_bool(key: str, default: bool) -> bool:
    value = settings().value(key, default)
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def read_list(key: str, store: QSettings | None = None) -> list[str]:
    """A list of texts (the user's settings, or ``store``); QSettings gives back one text for a
    one-item list, and None for an empty one."""
    value = (store if store is not None else settings()).value(key, [])
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []
