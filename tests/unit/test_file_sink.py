"""The file sink: JSON lines, fsynced before a write returns, rotated, and repaired after a crash."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.sinks import file as file_sink
from app.sinks.base import Record
from app.sinks.file import FileSink

BIG = 1 << 30
HOUR = 3600.0


def record(n: int) -> bytes:
    return b'{"n":%05d,"pad":"0123456789"}' % n  # 30 bytes


def as_records(lines: list[bytes]) -> list[Record]:
    return [Record(line, str(n), "key") for n, line in enumerate(lines)]


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def sealed(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl.part"))


def stored_lines(folder: Path) -> list[bytes]:
    """Every line, sealed files first (oldest first), then the file being written."""
    return [line for path in sealed(folder) + parts(folder) for line in path.read_bytes().splitlines()]


@pytest.fixture
def clock(monkeypatch):
    """A monotonic clock the test moves by hand (the sink's module only)."""
    now = SimpleNamespace(value=1000.0)
    monkeypatch.setattr(file_sink, "time", SimpleNamespace(monotonic=lambda: now.value))
    return now


# --- write ------------------------------------------------------------------------------------


def test_write_stores_one_line_per_record_in_a_part_file(tmp_path):
    sink = FileSink(tmp_path, BIG, HOUR)
    sink.write(as_records([record(1), record(2)]))
    sink.write(as_records([record(3)]))
    [part] = parts(tmp_path)
    assert part.read_bytes() == record(1) + b"\n" + record(2) + b"\n" + record(3) + b"\n"
    assert sealed(tmp_path) == []


def test_write_returns_only_after_the_data_is_fsynced(tmp_path, monkeypatch):
    sink = FileSink(tmp_path, BIG, HOUR)
    synced: list[tuple[str, int]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        synced.append((os.path.basename(target), os.fstat(fd).st_size))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    sink.write(as_records([record(1), record(2)]))
    [part] = parts(tmp_path)
    assert (part.name, 62) in synced  # the file, with both lines in it


def test_empty_write_creates_no_file(tmp_path):
    FileSink(tmp_path, BIG, HOUR).write(as_records([]))
    assert names(tmp_path) == []


def test_size_rotation_seals_the_file_and_starts_a_new_one(tmp_path):
    sink = FileSink(tmp_path, rotate_bytes=100, rotate_seconds=HOUR)
    sink.write(as_records([record(1), record(2)]))  # 62 bytes: stays open
    assert len(parts(tmp_path)) == 1 and sealed(tmp_path) == []
    sink.write(as_records([record(3), record(4)]))  # 124 bytes: past the size, sealed
    assert parts(tmp_path) == []
    [first] = sealed(tmp_path)
    assert first.read_bytes().splitlines() == [record(n) for n in (1, 2, 3, 4)]
    sink.write(as_records([record(5)]))
    assert len(parts(tmp_path)) == 1 and sealed(tmp_path) == [first]
    assert first.read_bytes().splitlines() == [record(n) for n in (1, 2, 3, 4)]  # a sealed file is never written again
    assert stored_lines(tmp_path) == [record(n) for n in range(1, 6)]


def test_many_rotations_keep_every_record_once_in_order(tmp_path):
    sink = FileSink(tmp_path, rotate_bytes=100, rotate_seconds=HOUR)
    for n in range(1, 41):
        sink.write(as_records([record(n)]))
    sink.close()
    assert parts(tmp_path) == []
    assert len(sealed(tmp_path)) == 10  # 4 records of 31 bytes pass 100 bytes
    assert stored_lines(tmp_path) == [record(n) for n in range(1, 41)]


@pytest.mark.parametrize(("elapsed", "rotated"), [(0.0, False), (0.24, False), (0.25, True), (10.0, True)])
def test_time_rotation_on_tick(tmp_path, clock, elapsed, rotated):
    sink = FileSink(tmp_path, BIG, rotate_seconds=0.25)
    sink.write(as_records([record(1)]))
    clock.value += elapsed
    sink.tick()
    assert (len(sealed(tmp_path)), len(parts(tmp_path))) == ((1, 0) if rotated else (0, 1))


def test_tick_without_an_open_file_does_nothing(tmp_path, clock):
    sink = FileSink(tmp_path, BIG, rotate_seconds=0.25)
    clock.value += 10
    sink.tick()
    assert names(tmp_path) == []


def test_close_seals_the_open_file(tmp_path):
    sink = FileSink(tmp_path, BIG, HOUR)
    sink.write(as_records([record(1)]))
    sink.close()
    assert parts(tmp_path) == []
    assert stored_lines(tmp_path) == [record(1)]


def test_sealing_never_replaces_a_sealed_file_of_the_same_name(tmp_path):
    """PID 1 in a container and a clock that repeats a second give the same name twice."""
    sink = FileSink(tmp_path, BIG, HOUR)
    sink.write(as_records([record(2)]))
    [part] = parts(tmp_path)
    taken = part.with_name(part.name.removesuffix(".part"))
    taken.write_bytes(record(1) + b"\n")  # sealed earlier by a process with the same id
    taken.with_name(taken.stem + "-1.jsonl").write_bytes(record(0) + b"\n")
    sink.close()
    assert taken.read_bytes() == record(1) + b"\n"
    assert (tmp_path / (taken.stem + "-2.jsonl")).read_bytes() == record(2) + b"\n"
    assert parts(tmp_path) == []


# --- recovery at start ------------------------------------------------------------------------

LEFT_BY_A_CRASH = "20250301T120000-4242-0001.jsonl.part"


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        (b'{"a":1}\n{"b":2}\n', b'{"a":1}\n{"b":2}\n'),
        (b'{"a":1}\n{"b":2}\n{"tor', b'{"a":1}\n{"b":2}\n'),
        (b"", None),
        (b'{"torn', None),
    ],
    ids=["whole", "torn-last-line", "empty", "only-a-torn-line"],
)
def test_recovery_of_a_part_file_left_by_a_crash(tmp_path, content, kept):
    (tmp_path / LEFT_BY_A_CRASH).write_bytes(content)
    FileSink(tmp_path, BIG, HOUR)
    if kept is None:
        assert names(tmp_path) == []
    else:
        assert names(tmp_path) == [LEFT_BY_A_CRASH.removesuffix(".part")]
        assert (tmp_path / LEFT_BY_A_CRASH.removesuffix(".part")).read_bytes() == kept


def test_recovery_leaves_sealed_files_alone(tmp_path):
    (tmp_path / "20250301T110000-4242-0001.jsonl").write_bytes(b'{"old":1}\n{"to')
    FileSink(tmp_path, BIG, HOUR)
    assert (tmp_path / "20250301T110000-4242-0001.jsonl").read_bytes() == b'{"old":1}\n{"to'


def test_without_hard_links_sealing_still_takes_the_next_free_name(tmp_path, monkeypatch):
    def no_hard_links(*_args):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    sink = FileSink(tmp_path, BIG, HOUR)
    sink.write(as_records([record(2)]))
    [part] = parts(tmp_path)
    taken = part.with_name(part.name.removesuffix(".part"))
    taken.write_bytes(record(1) + b"\n")
    sink.close()
    assert taken.read_bytes() == record(1) + b"\n"
    assert (tmp_path / (taken.stem + "-1.jsonl")).read_bytes() == record(2) + b"\n"


def test_recovery_never_replaces_a_sealed_file_of_the_same_name(tmp_path):
    sealed_earlier = tmp_path / LEFT_BY_A_CRASH.removesuffix(".part")
    sealed_earlier.write_bytes(b'{"earlier":1}\n')
    (tmp_path / LEFT_BY_A_CRASH).write_bytes(b'{"later":2}\n')
    FileSink(tmp_path, BIG, HOUR)
    assert sealed_earlier.read_bytes() == b'{"earlier":1}\n'
    assert (tmp_path / (sealed_earlier.stem + "-1.jsonl")).read_bytes() == b'{"later":2}\n'
    assert parts(tmp_path) == []


def test_recovery_of_a_file_sealed_before_its_part_name_was_removed(tmp_path):
    """A crash between link() and unlink() leaves two names of one file: the sealed one is kept, once."""
    part = tmp_path / LEFT_BY_A_CRASH
    part.write_bytes(b'{"a":1}\n')
    os.link(part, tmp_path / LEFT_BY_A_CRASH.removesuffix(".part"))
    FileSink(tmp_path, BIG, HOUR)
    assert names(tmp_path) == [LEFT_BY_A_CRASH.removesuffix(".part")]


def test_a_part_file_locked_by_a_live_writer_is_left_alone(tmp_path):
    path = tmp_path / LEFT_BY_A_CRASH
    path.write_bytes(b'{"a":1}\n{"being written')
    # flock belongs to an open file description: this fd stands for another live process.
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        FileSink(tmp_path, BIG, HOUR)
        assert names(tmp_path) == [LEFT_BY_A_CRASH]
        assert path.read_bytes() == b'{"a":1}\n{"being written'
    finally:
        os.close(fd)
    FileSink(tmp_path, BIG, HOUR)  # once its writer is gone, the next start repairs it
    assert names(tmp_path) == [LEFT_BY_A_CRASH.removesuffix(".part")]


def test_two_sinks_in_one_folder_do_not_seal_each_others_files(tmp_path):
    first = FileSink(tmp_path, BIG, HOUR)
    first.write(as_records([record(1)]))
    FileSink(tmp_path, BIG, HOUR)  # a second worker starting up
    first.write(as_records([record(2)]))
    [part] = parts(tmp_path)
    assert part.read_bytes().splitlines() == [record(1), record(2)]


# --- health -----------------------------------------------------------------------------------


def healthy_at_start_unprivileged(folder: Path) -> bool:
    """FileSink(folder).healthy() as a user that permissions bind: root writes into a 0555 folder,
    so as root the sink is built in a forked child that drops to `nobody` first."""
    if os.geteuid() != 0:
        return FileSink(folder, BIG, HOUR).healthy()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            os._exit(0 if FileSink(folder, BIG, HOUR).healthy() else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.WEXITSTATUS(status) in (0, 1), "the child failed before answering"
    return os.WEXITSTATUS(status) == 0


def test_read_only_folder_is_unhealthy_from_the_start():
    # Not under tmp_path: pytest's base folder is private to its user, and `nobody` must reach this one.
    base = Path(tempfile.mkdtemp(prefix="read-only-sink-"))
    try:
        (base / "good").mkdir()
        for folder in (base / "good", base):
            folder.chmod(0o555)
        assert not healthy_at_start_unprivileged(base / "good")
        (base / "good").chmod(0o777)
        assert healthy_at_start_unprivileged(base / "good")
    finally:
        (base / "good").chmod(0o755)
        base.chmod(0o755)
        shutil.rmtree(base)


def test_deleted_folder_fails_writes_until_it_is_back(tmp_path):
    folder = tmp_path / "good"
    sink = FileSink(folder, BIG, HOUR)
    sink.write(as_records([record(1)]))
    assert sink.healthy()
    shutil.rmtree(folder)
    with pytest.raises(OSError):
        sink.write(as_records([record(2)]))
    assert sink.healthy() is False
    folder.mkdir()
    assert sink.healthy() is True
    sink.write(as_records([record(3)]))
    assert stored_lines(folder) == [record(3)]
