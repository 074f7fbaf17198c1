"""Whether a file lies on a local file system, where reading it through a memory map is safe.

Reading a mapped page the file system cannot deliver (a network share whose server went away,
a FUSE process that died, a disk read error) kills the process with SIGBUS instead of raising
an error, so captures on such file systems are read with ``read`` calls (see
``ChunkedReader.map_file``). The file system comes from ``/proc/self/mountinfo``, matched by the
file's device number; where that is not known, the file is taken as local.
"""

from __future__ import annotations

import os
from pathlib import Path

#: file system types served over a network or by a user-space process
REMOTE_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "afs", "ncpfs",
    "lustre", "gpfs", "beegfs", "davfs", "sshfs", "fuse", "fuseblk", "virtiofs",
})


def file_system_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the file system holding ``path`` (as /proc/self/mountinfo names it), or
    None when it cannot be told. ``mountinfo``: that file's text (read when not given)."""
    try:
        device = os.stat(path).st_dev
        if mountinfo is None:
            mountinfo = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return None
    wanted = f"{os.major(device)}:{os.minor(device)}"
    found = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 7 or fields[2] != wanted or "-" not in fields[6:]:
            continue
        found = fields[fields.index("-", 6) + 1]  # (the last mount of a device wins)
    return found


def is_remote(fs_type: str | None) -> bool:
    """Whether a file system of this type may fail a read it was asked for (see above)."""
    if fs_type is None:
        return False
    return fs_type in REMOTE_TYPES or fs_type.split(".", 1)[0] in REMOTE_TYPES
