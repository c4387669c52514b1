"""The embedded default sink: JSON lines in a local folder, fsynced before a batch counts as stored.

Files being written end in `.part` and hold only whole, fsynced lines, except after a crash,
when the last line may be torn: the next start cuts it off and seals the file. A sealed file
(`.jsonl`, or `.tsv` for enriched TSV) is never written again, nor replaced: sealing takes the next free name. Each process holds an exclusive lock on its own `.part`
file, so several workers share a folder without clashing, and none repairs another's file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.sinks.base import Record
from app.sinks.disk import fsync_dir, seal, write_all

log = logging.getLogger(__name__)
PART = ".part"


@dataclass(slots=True)
class _OpenFile:
    fd: int
    path: Path
    size: int
    opened_at: float
    inode: tuple[int, int]


@dataclass(frozen=True, slots=True)
class FileSettings:
    """What the file sink reads of the settings (the same names)."""

    data_dir: Path
    file_rotate_bytes: int
    file_rotate_seconds: float
    output_format: str


def build(settings: FileSettings, output: str) -> FileSink:
    """The sink of one output (good or bad): its own folder under data_dir. Bad rows are always
    JSON; the good output is JSON lines or enriched TSV, and its files are named so."""
    suffix = ".tsv" if output == "good" and settings.output_format == "tsv" else ".jsonl"
    return FileSink(settings.data_dir / output, settings.file_rotate_bytes, settings.file_rotate_seconds, suffix)


class FileSink:
    name = "file"

    def __init__(self, directory: Path, rotate_bytes: int, rotate_seconds: float, suffix: str = ".jsonl") -> None:
        self.directory = directory
        self.suffix = suffix
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self._file: _OpenFile | None = None
        self._sequence = 0
        self._failing = False
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.recover()
        except OSError as error:
            self._failing = True
            log.error("file sink %s unusable at start: %s", directory, error)
            return
        # A read-only folder lets all of the above pass: readiness must say so before the first write fails.
        if not self._probe():
            self._failing = True
            log.error("file sink %s cannot take a written file at start", directory)

    def recover(self) -> None:
        """Seal `.part` files left by a process that died: cut a torn last line, then rename."""
        for path in sorted(self.directory.glob(f"*{PART}")):
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live process owns it
                continue
            try:
                data = os.pread(fd, os.fstat(fd).st_size, 0)
                whole = data.rfind(b"\n") + 1
                if whole < len(data):
                    os.ftruncate(fd, whole)
                    os.fsync(fd)
                    log.warning("cut a torn last line (%d bytes) from %s", len(data) - whole, path.name)
                if whole and os.fstat(fd).st_nlink == 1:
                    seal(path, PART)
                else:  # empty, or sealed already by a process that died before removing this name
                    path.unlink()
            finally:
                os.close(fd)
        fsync_dir(self.directory)

    def _open(self) -> _OpenFile:
        # The folder is made at start only: if it vanishes later (an unmounted volume, say),
        # writes fail loudly rather than land on whatever disk is underneath.
        self._sequence += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{os.getpid()}-{self._sequence:04d}{self.suffix}{PART}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fsync_dir(self.directory)
            status = os.fstat(fd)
        except OSError:  # during a disk fault: neither a descriptor nor an empty file may pile up
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return _OpenFile(fd, path, 0, time.monotonic(), (status.st_dev, status.st_ino))

    def _still_ours(self, current: _OpenFile) -> bool:
        """False when the file was deleted or moved away: writing on would store into nothing."""
        try:
            status = os.stat(current.path)
        except OSError:
            return False
        return (status.st_dev, status.st_ino) == current.inode

    def write(self, records: list[Record]) -> None:
        if not records:
            return
        data = b"".join(record.data + b"\n" for record in records)
        try:
            if self._file is not None and not self._still_ours(self._file):
                self._abandon()
            if self._file is None:
                self._file = self._open()
            current = self._file
            try:
                write_all(current.fd, data)
                os.fsync(current.fd)
            except OSError:
                self._undo(current)
                raise
        except OSError:
            self._failing = True
            raise
        self._failing = False
        current.size += len(data)
        if current.size >= self.rotate_bytes:
            self._seal()

    def _undo(self, current: _OpenFile) -> None:
        """Cut a failed batch back off, so the file holds only what was acknowledged; then leave it."""
        try:
            os.ftruncate(current.fd, current.size)
            os.fsync(current.fd)
        except OSError as error:
            log.error("could not cut a failed write from %s: %s", current.path.name, error)
        self._seal()

    def _abandon(self) -> None:
        if self._file is not None:
            os.close(self._file.fd)  # its lock goes with it; the next start seals what is there
            self._file = None

    def _seal(self) -> None:
        current, self._file = self._file, None
        if current is None:
            return
        try:
            if current.size:
                seal(current.path, PART)
            else:
                current.path.unlink()
            fsync_dir(self.directory)
        except OSError as error:
            log.error("could not seal %s (it is complete; the next start seals it): %s", current.path.name, error)
        finally:
            os.close(current.fd)

    def healthy(self) -> bool:
        if self._failing:
            self._failing = not self._probe()
        return not self._failing

    def _probe(self) -> bool:
        """After a failure: can the folder take a written and synced file again? (A full disk
        still lets an empty file be created.)"""
        probe = self.directory / f".probe-{os.getpid()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                write_all(fd, b"probe\n")
                os.fsync(fd)
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError:
            return False
        return True

    def max_record_bytes(self) -> int | None:
        return None

    def tick(self) -> None:
        if self._file is not None and time.monotonic() - self._file.opened_at >= self.rotate_seconds:
            self._seal()

    def close(self) -> None:
        self._seal()
