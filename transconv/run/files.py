"""A run's files: which they are, a lock on the folder, and replacing them as one set.

`RUN_FILES` is the one list of what `transconv train` writes into ``--out``; a folder holding
any of them is refused unless the run continues (``--resume``) or replaces (``--overwrite``)
it. The lock `.transconv.lock` keeps two runs out of one folder; the result files are written
into a staging folder first and moved into place together, with Ctrl-C and SIGTERM held back
for those few renames.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "LOCK_FILE",
    "REPLACED_DIR",
    "RESULT_FILES",
    "RUN_FILES",
    "OutInUseError",
    "check_out_dir",
    "file_mode",
    "lock_out",
    "make_out_dir",
    "remove_staging",
    "replacing_run",
    "write_result_set",
]

RESULT_FILES = ("metrics.json", "history.csv", "predictions.png", "curves.png")
RUN_FILES = ("checkpoint.pt", *RESULT_FILES)
"""Every file a training run writes into ``--out``, the checkpoint first."""
LOCK_FILE = ".transconv.lock"
REPLACED_DIR = ".transconv-replaced"


class OutInUseError(ValueError):
    """Another live process holds the lock on ``--out``."""


def file_mode() -> int:
    """The mode a new file gets from ``open()``: ``0o666`` less the process's umask.

    Returns
    -------
    int
        E.g. ``0o644`` under the usual umask ``0o022``; every file of a run gets it.
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _holder(lock: Path) -> tuple[int | None, str]:
    """The pid and host written in a lock file (None for an unreadable or half-written one)."""
    try:
        pid, host = lock.read_text().split()[:2]
        return int(pid), host
    except (OSError, ValueError):
        return None, ""


def _stale(lock: Path) -> bool:
    pid, host = _holder(lock)
    if pid is None:  # being written this instant, or garbage: garbage once it is old
        try:
            return time.time() - lock.stat().st_mtime > 10
        except FileNotFoundError:
            return True
    return host == socket.gethostname() and not _pid_alive(pid)


@contextmanager
def lock_out(out: str | os.PathLike) -> Iterator[Path]:
    """Hold ``out/.transconv.lock`` for the duration: a second run into ``out`` is refused.

    The lock file holds ``"<pid> <host>"``; a lock left by a process that no longer runs on
    this host (``kill -9``, a power cut) is recognised as stale and taken over. The lock is
    removed on every way out of the ``with`` block.

    Parameters
    ----------
    out : str or os.PathLike
        An existing directory.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    OutInUseError
        If a live process holds the lock; the message names its pid.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with lock_out(tmp) as lock:
    ...         print(lock.name, lock.read_text().split()[0] == str(os.getpid()))
    ...     print(lock.exists())
    .transconv.lock True
    False
    """
    lock = Path(out) / LOCK_FILE
    mine = f"{os.getpid()} {socket.gethostname()}\n"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
        except FileExistsError:
            if not _stale(lock):
                pid, host = _holder(lock)
                holder = f"pid {pid} on {host}" if pid is not None else "a starting run"
                raise OutInUseError(
                    f"--out must not be in use by another run, got {out} locked by {holder} "
                    f"({lock}); wait for that run to end, or pick another --out"
                ) from None
            lock.unlink(missing_ok=True)  # a dead process's lock
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(mine)
        break
    else:
        raise OutInUseError(
            f"--out must have a lock this run can take, got {lock} taken over and over by "
            "other runs; wait for them to end, or pick another --out"
        )
    try:
        yield lock
    finally:
        if lock.is_file() and lock.read_text() == mine:
            lock.unlink()


def make_out_dir(out: Path) -> None:
    """Make ``out`` if needed; refuse one that cannot be written.

    Parameters
    ----------
    out : Path
        The run's folder.

    Raises
    ------
    ValueError
        If ``out`` cannot be made or written (the message names the reason).
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise ValueError(
            f"--out must be a writable directory, got {out} ({err.strerror}); pick another --out"
        ) from err


def check_out_dir(out: Path, *, continuing: bool) -> None:
    """Refuse an ``out`` that holds another run (checked under the lock).

    Parameters
    ----------
    out : Path
        The run's folder.
    continuing : bool
        True with ``--resume`` or ``--overwrite``: the run's own files may be there.

    Raises
    ------
    ValueError
        If ``out`` holds any of `RUN_FILES` (unless ``continuing``), or holds the run an
        interrupted ``--overwrite`` set aside.
    """
    present = [name for name in RUN_FILES if (out / name).exists()]
    if present and not continuing:
        raise ValueError(
            f"--out must not hold another run, got {out} with {', '.join(present)}; pass "
            "--resume to continue it, --overwrite to replace it, or another --out"
        )
    if (out / REPLACED_DIR).exists():
        raise ValueError(
            f"--out must not hold a run set aside by an interrupted --overwrite, got "
            f"{out / REPLACED_DIR}; move its files back into {out} (or delete it), then retry"
        )


@contextmanager
def replacing_run(out: Path, replace: bool) -> Iterator[Callable[[], None]]:
    """Set the run in ``out`` aside while a new one starts; restore it if that one fails first.

    With ``replace`` False this does nothing. Otherwise the files of `RUN_FILES` move into
    ``out/.transconv-replaced``. The block receives ``commit``: call it once the new run has
    something to replace the old one with (its first checkpoint); the old files are deleted
    then. An exception (Ctrl-C included) before ``commit`` removes the new run's files and puts
    the old ones back.

    Parameters
    ----------
    out : Path
        The run's folder.
    replace : bool
        Whether a run is being replaced (``--overwrite``).

    Yields
    ------
    callable
        ``commit()``: the new run has a checkpoint, the old run may go.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "metrics.json").write_text("old")
    ...     try:
    ...         with replacing_run(Path(tmp), True):
    ...             raise ValueError("the new run's data is missing")
    ...     except ValueError:
    ...         pass
    ...     print((Path(tmp) / "metrics.json").read_text())
    old
    """
    if not replace:
        yield lambda: None
        return
    aside = out / REPLACED_DIR
    aside.mkdir()
    for name in RUN_FILES:
        if (out / name).exists():
            os.replace(out / name, aside / name)

    def commit() -> None:
        shutil.rmtree(aside, ignore_errors=True)

    try:
        yield commit
    except BaseException:
        if aside.exists():
            with _signals_held():
                for name in RUN_FILES:
                    (out / name).unlink(missing_ok=True)
                    if (aside / name).exists():
                        os.replace(aside / name, out / name)
                shutil.rmtree(aside, ignore_errors=True)
        raise
    commit()


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (delivered at the end) where the platform allows."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_result_set(out: Path, writers: Sequence[Callable[[Path], object]]) -> list[str]:
    """Write result files into a staging folder, then move them into ``out`` together.

    Parameters
    ----------
    out : Path
        The run's folder.
    writers : sequence of callable
        Functions that each write some files into the folder they are given.

    Returns
    -------
    list of str
        The names moved into ``out``, sorted.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_result_set(Path(tmp), [lambda folder: (folder / "a.txt").write_text("a")])
    ['a.txt']
    """
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".results-", suffix=".tmp"))
    try:
        for write in writers:
            write(staging)
        written = sorted(p.name for p in staging.iterdir())
        with _signals_held():  # all of the set or none of it
            for name in written:
                os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def remove_staging(out: Path) -> list[Path]:
    """Remove staging folders a killed `write_result_set` left in ``out``.

    Parameters
    ----------
    out : Path
        The run's folder (call it under the lock).

    Returns
    -------
    list of Path
        The folders removed.
    """
    leftovers = sorted(out.glob(".results-*.tmp"))
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    return leftovers
