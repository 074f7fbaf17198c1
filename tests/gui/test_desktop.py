"""Double-click integration: the .desktop file, the MIME XML, install and uninstall."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from gui import desktop
from gui.desktop import MIME_TYPES, DesktopPaths, desktop_entry, install, uninstall
from gui.resource_files import DESKTOP_FILE, MIME_FILE, resource

VALIDATE = shutil.which("desktop-file-validate")
needs_validator = pytest.mark.skipif(VALIDATE is None, reason="desktop-file-validate missing")


@needs_validator
def test_shipped_desktop_file_validates() -> None:
    proc = subprocess.run([VALIDATE, str(resource(DESKTOP_FILE))], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


@needs_validator
def test_installed_desktop_file_validates_with_a_path_that_needs_quotes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    entry = desktop_entry(["/opt/my tools/bin/python3", "-m", "gui"])
    assert 'Exec="/opt/my tools/bin/python3" -m gui %f' in entry
    path = tmp_path / "flowscope.desktop"
    path.write_text(entry)
    proc = subprocess.run([VALIDATE, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_desktop_file_declares_both_capture_types() -> None:
    text = resource(DESKTOP_FILE).read_text()
    mime_line = next(line for line in text.splitlines() if line.startswith("MimeType="))
    assert mime_line.removeprefix("MimeType=").split(";")[:2] == list(MIME_TYPES)


def test_mime_xml_declares_pcap_and_pcapng_with_magic() -> None:
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(resource(MIME_FILE)).getroot()
    types = {t.get("type"): t for t in root.findall("m:mime-type", ns)}
    assert set(types) == set(MIME_TYPES)
    pcap_globs = {g.get("pattern") for g in types[MIME_TYPES[0]].findall("m:glob", ns)}
    assert {"*.pcap", "*.cap"} <= pcap_globs
    assert "*.pcapng" in {g.get("pattern") for g in types[MIME_TYPES[1]].findall("m:glob", ns)}
    magic = {m.get("value") for m in types[MIME_TYPES[0]].iter(f"{{{ns['m']}}}match")}
    assert {"0xa1b2c3d4", "0xa1b23c4d"} <= magic


def _paths(tmp_path) -> DesktopPaths:  # type: ignore[no-untyped-def]
    return DesktopPaths(tmp_path / "data", tmp_path / "config")


def test_install_then_uninstall(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    commands: list[list[str]] = []
    monkeypatch.setattr(desktop.shutil, "which", lambda name: f"/usr/bin/{name}")

    def run(command):  # type: ignore[no-untyped-def]
        commands.append(list(command))
        return 0

    paths = _paths(tmp_path)
    report = install(paths, run, command=["/usr/bin/flowscope"])
    assert paths.desktop.read_text().count("Exec=/usr/bin/flowscope %f") == 1
    assert paths.mime_package.read_bytes() == resource(MIME_FILE).read_bytes()
    assert paths.icon.exists()
    assert ["xdg-mime", "default", "flowscope.desktop", *MIME_TYPES] in commands
    assert ["update-mime-database", str(paths.data_home / "mime")] in commands
    assert any("default for pcap and pcapng" in line for line in report)
    # a default written by xdg-mime, next to someone else's
    paths.config_home.mkdir()
    (paths.config_home / "mimeapps.list").write_text(
        "[Default Applications]\napplication/vnd.tcpdump.pcap=flowscope.desktop;\n"
        "application/x-pcapng=org.wireshark.Wireshark.desktop;flowscope.desktop;\n"
        "text/plain=gedit.desktop;\n")
    report = uninstall(paths, run)
    assert not paths.desktop.exists() and not paths.mime_package.exists()
    assert not paths.icon.exists()
    assert (paths.config_home / "mimeapps.list").read_text() == (
        "[Default Applications]\napplication/x-pcapng=org.wireshark.Wireshark.desktop;\n"
        "text/plain=gedit.desktop;\n")
    assert any("removed" in line for line in report)


def test_uninstall_when_nothing_is_installed(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(desktop.shutil, "which", lambda name: None)
    assert uninstall(_paths(tmp_path), lambda command: 0) == ["nothing to remove"]


def test_install_without_desktop_tools_still_installs_files(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(desktop.shutil, "which", lambda name: None)
    report = install(_paths(tmp_path), lambda command: 0, command=["flowscope"])
    assert _paths(tmp_path).desktop.exists()
    assert "xdg-mime is not installed" in report[-1]


@pytest.mark.skipif(shutil.which("update-mime-database") is None,
                    reason="update-mime-database missing")
def test_real_mime_database_accepts_our_xml(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """update-mime-database compiles the XML into per-type files (it rejects invalid XML)."""
    paths = _paths(tmp_path)
    install(paths, desktop._run, command=["flowscope"])
    compiled = paths.data_home / "mime" / "application"
    assert (compiled / "vnd.tcpdump.pcap.xml").exists()
    assert (compiled / "x-pcapng.xml").exists()


def test_paths_follow_xdg_variables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = DesktopPaths.from_environment({"HOME": str(tmp_path), "XDG_DATA_HOME": "/d"})
    assert str(paths.desktop) == "/d/applications/flowscope.desktop"
    assert paths.config_home == tmp_path / ".config"


def test_launch_command_prefers_the_running_launcher(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    launcher = tmp_path / "venv" / "bin" / "flowscope"
    launcher.parent.mkdir(parents=True)
    launcher.write_text("#!/bin/sh\n")
    assert desktop.launch_command(str(launcher)) == [str(launcher.resolve())]
    monkeypatch.setattr(desktop.shutil, "which", lambda name: None)
    assert desktop.launch_command("/usr/lib/python3/pytest")[1:] == ["-m", "gui"]
