"""Small helpers for writing files that survive a crash."""

from __future__ import annotations

import errno
import os
from pathlib import Path

NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


def fsync_dir(directory: Path) -> None:
    """Make a created, renamed or removed file name durable, not only the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """os.write may take only part of the data (a signal, a nearly full disk): write the rest."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def seal(part: Path, suffix: str) -> Path:
    """Give a finished `<name><suffix>` file its final `<name>` without ever replacing a file of that
    name (a reused process id and a repeated clock second make the same name): link() fails
    where rename() would overwrite, so the next free name `<stem>-1`, `<stem>-2`... is taken."""
    target = part.with_name(part.name[: -len(suffix)])
    stem, extension = target.stem, target.suffix
    attempt = 0
    while True:
        try:
            os.link(part, target)
            break
        except FileExistsError:
            pass
        except OSError as error:
            if error.errno not in NO_HARD_LINKS:
                raise
            # A file system without hard links (vfat, some network shares): check, then rename.
            # Only a second process with this process's id could race it, and none can exist.
            if not target.exists():
                part.rename(target)
                return target
        attempt += 1
        target = part.with_name(f"{stem}-{attempt}{extension}")
    os.unlink(part)  # a crash before this leaves a second name of the same file: recovery drops it
    return target
