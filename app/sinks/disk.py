"""Small helpers for writing files that survive a crash."""

from __future__ import annotations

import os
from pathlib import Path


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
