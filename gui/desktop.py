"""``flowscope --install-desktop``: make double-clicking a capture open Flowscope (freedesktop).

Installs, for the current user only: the .desktop entry (``$XDG_DATA_HOME/applications``), the
MIME types for pcap and pcapng (``$XDG_DATA_HOME/mime/packages``), the icon (hicolor theme),
then refreshes the MIME and desktop databases and makes Flowscope the default for both types
with ``xdg-mime`` — each tool only where it is installed. ``--uninstall-desktop`` undoes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomic import atomic_write
from gui.resource_files import DESKTOP_FILE, ICON, MIME_FILE, resource

MIME_TYPES = ("application/vnd.tcpdump.pcap", "application/x-pcapng")
DESKTOP_ID = "flowscope.desktop"

Runner = Callable[[Sequence[str]], int]


def _run(command: Sequence[str]) -> int:
    """Run a desktop tool quietly; a missing or failing tool is reported, never fatal."""
    try:
        done = subprocess.run(list(command), capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 127
    return done.returncode


@dataclass
class DesktopPaths:
    """Where the files go, from the XDG variables (or their defaults under the home)."""

    data_home: Path
    config_home: Path
    desktop: Path = field(init=False)
    mime_package: Path = field(init=False)
    icon: Path = field(init=False)

    def __post_init__(self) -> None:
        self.desktop = self.data_home / "applications" / DESKTOP_ID
        self.mime_package = self.data_home / "mime" / "packages" / "flowscope.xml"
        self.icon = self.data_home / "icons" / "hicolor" / "scalable" / "apps" / "flowscope.svg"

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> DesktopPaths:
        env = os.environ if env is None else env
        home = Path(env.get("HOME") or Path.home())
        return cls(Path(env.get("XDG_DATA_HOME") or home / ".local" / "share"),
                   Path(env.get("XDG_CONFIG_HOME") or home / ".config"))


def _quote(arg: str) -> str:
    """Quote an Exec argument as the Desktop Entry spec asks (only when needed)."""
    if not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def launch_command(argv0: str | None = None) -> list[str]:
    """How a file manager should start Flowscope: the ``flowscope`` launcher that is running
    (a venv's is rarely on the desktop's PATH), else the one on PATH, else this Python."""
    running = Path(argv0 if argv0 is not None else sys.argv[0])
    if running.name == "flowscope" and running.is_file():
        return [str(running.resolve())]
    launcher = shutil.which("flowscope")
    if launcher:
        return [launcher]
    return [sys.executable, "-m", "gui"]


def desktop_entry(command: Sequence[str]) -> str:
    """The shipped .desktop file with ``Exec``/``TryExec`` pointing at ``command``."""
    lines = []
    for line in resource(DESKTOP_FILE).read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = "Exec=" + " ".join(_quote(a) for a in command) + " %f"
        elif line.startswith("TryExec="):
            line = "TryExec=" + command[0]
        lines.append(line)
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as out:
        out.write(data)
    path.chmod(0o644)


def install(paths: DesktopPaths | None = None, run: Runner = _run,
            command: Sequence[str] | None = None) -> list[str]:
    """Install the files and register the defaults; returns what was done, line by line."""
    paths = paths or DesktopPaths.from_environment()
    command = list(command or launch_command())
    report = []
    _write(paths.desktop, desktop_entry(command).encode())
    report.append(f"installed {paths.desktop}")
    _write(paths.mime_package, resource(MIME_FILE).read_bytes())
    report.append(f"installed {paths.mime_package}")
    _write(paths.icon, resource(ICON).read_bytes())
    report.append(f"installed {paths.icon}")
    report += _refresh(paths, run)
    if shutil.which("xdg-mime"):
        status = run(["xdg-mime", "default", DESKTOP_ID, *MIME_TYPES])
        report.append("made Flowscope the default for pcap and pcapng" if status == 0
                      else f"xdg-mime could not set the default (status {status})")
    else:
        report.append("xdg-mime is not installed: choose Flowscope once with 'Open With'")
    return report


def uninstall(paths: DesktopPaths | None = None, run: Runner = _run) -> list[str]:
    """Remove what :func:`install` put in place and Flowscope's default associations."""
    paths = paths or DesktopPaths.from_environment()
    report = []
    for path in (paths.desktop, paths.mime_package, paths.icon):
        if path.exists():
            path.unlink()
            report.append(f"removed {path}")
    if _forget_defaults(paths.config_home / "mimeapps.list"):
        report.append(f"removed Flowscope's defaults from {paths.config_home / 'mimeapps.list'}")
    report += _refresh(paths, run)
    if len(report) == 0:
        report.append("nothing to remove")
    return report


def _refresh(paths: DesktopPaths, run: Runner) -> list[str]:
    report = []
    if shutil.which("update-mime-database"):
        status = run(["update-mime-database", str(paths.data_home / "mime")])
        if status != 0:
            report.append(f"update-mime-database failed (status {status})")
    if shutil.which("update-desktop-database"):
        run(["update-desktop-database", str(paths.desktop.parent)])
    return report


def _forget_defaults(mimeapps: Path) -> bool:
    """Drop ``flowscope.desktop`` from a mimeapps.list; True if anything changed."""
    if not mimeapps.exists():
        return False
    changed = False
    out = []
    for line in mimeapps.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("[") and DESKTOP_ID in value.split(";"):
            rest = [v for v in value.split(";") if v and v != DESKTOP_ID]
            changed = True
            if not rest:
                continue
            line = f"{key}={';'.join(rest)};"
        out.append(line)
    if changed:
        _write(mimeapps, ("\n".join(out) + "\n").encode())
    return changed
