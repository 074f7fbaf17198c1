"""Finding ``resources/`` (icon, .desktop file, MIME XML, sample capture) wherever we run from.

From a source checkout or an editable install the directory sits next to the ``gui`` package.
A normal install (wheel) copies it to ``<prefix>/share/flowscope`` (pyproject's data-files),
so that is searched next, for the interpreter's prefix and the user's base.
"""

from __future__ import annotations

import site
import sys
from pathlib import Path

SAMPLE_CAPTURE = "sample.pcapng"
ICON = "icons/flowscope.svg"
DESKTOP_FILE = "flowscope.desktop"
MIME_FILE = "flowscope-mime.xml"


def resource_dirs() -> list[Path]:
    candidates = [Path(__file__).resolve().parent.parent / "resources"]
    for prefix in (sys.prefix, sys.base_prefix, site.getuserbase()):
        candidates.append(Path(prefix) / "share" / "flowscope")
    return candidates


def resource(name: str) -> Path:
    """The path of a resource file; FileNotFoundError names where it was looked for."""
    for directory in resource_dirs():
        path = directory / name
        if path.exists():
            return path
    looked = ", ".join(str(d) for d in resource_dirs())
    raise FileNotFoundError(f"Flowscope's resource {name} is missing (looked in {looked}).")


def sample_capture() -> Path:
    return resource(SAMPLE_CAPTURE)
