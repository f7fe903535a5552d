"""One writer at a time: the project lock that generation, the site swap and measurement writes run under.

The lock is `fcntl.flock` on `.cache/zoocards/lock` in the project. The kernel releases it when
the holding process ends, however it ends, so a killed run never blocks the next one; the file
itself stays. The holder writes who it is into the file (pid, what it does, its command line,
when it started), so a second run can say what it waits for.

Within one process the lock is re-entrant, whichever thread asks: `zoocards cards` holds it
while it measures (whose saves, made from worker threads, take it again) and while mkdocs
generates in process. A child process that must work under its parent's lock (`mkdocs build`
started by `zoocards build`) is handed the locked file descriptor (`for_child`): a flock
belongs to the open file, so the child holds the same lock, and keeps it if the parent dies.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from zoocards.errors import ZoocardsError

# A child started under its parent's lock finds "<fd>:<lock path>" here (see for_child).
INHERITED_ENV = "ZOOCARDS_LOCK_FD"


class LockHeld(ZoocardsError):
    """Another run holds the project lock and the caller chose not to wait (--no-wait)."""


@dataclass
class _Held:
    fd: int
    depth: int
    inherited: bool = False  # the parent's lock: never released here, or the parent would lose it


_held: dict[str, _Held] = {}
# One thread of a process takes the file lock; the others then find it held and re-enter.
_taking = threading.Lock()


def lock_path(root: Path) -> Path:
    """Where a project's lock lives (not under ZOOCARDS_CACHE_DIR: the lock is the project's, not the cache's)."""
    return Path(root).resolve() / ".cache" / "zoocards" / "lock"


@contextmanager
def project_lock(root: Path, wait: bool = True, what: str = "build") -> Iterator[None]:
    """Hold the project's lock for the block; wait for another holder (saying so), or raise LockHeld when `wait` is false.

    `what` names the work in the waiting message of a second run ("the build of pid 4242").
    """
    path = lock_path(root)
    _enter(path, wait, what)
    try:
        yield
    finally:
        _leave(path)


def holds(root: Path) -> bool:
    """Whether this process holds the project's lock now."""
    return str(lock_path(root)) in _held


def for_child(root: Path, env: dict[str, str]) -> tuple[dict[str, str], tuple[int, ...]]:
    """The environment and file descriptors that let a child process work under the lock this process holds."""
    held = _held.get(str(lock_path(root)))
    if held is None:
        return env, ()
    return {**env, INHERITED_ENV: f"{held.fd}:{lock_path(root)}"}, (held.fd,)


def holder(root: Path) -> str:
    """Who holds (or last held) the lock, as the waiting message names it: "the build of pid 4242 (zoocards build), started 12:03:04"."""
    return _describe(lock_path(root))


def _describe(path: Path) -> str:
    for _ in range(4):  # a holder writes its details just after it takes the lock: a reader may come first
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            pid, what, command, started = int(info["pid"]), str(info["what"]), str(info["command"]), float(info["started"])
            break
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.05)
    else:
        return "another zoocards run"
    moment = time.localtime(started)
    shown = time.strftime("%H:%M:%S" if moment[:3] == time.localtime()[:3] else "%Y-%m-%d %H:%M:%S", moment)
    return f"the {what} of pid {pid} ({command}), started {shown}"


def _enter(path: Path, wait: bool, what: str) -> None:
    key = str(path)
    with _taking:
        held = _held.get(key) or _adopt(path)
        if held is not None:
            held.depth += 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise LockHeld(f"{_describe(path)}, holds this project's lock ({path}): "
                                   "run again when it has finished, or without --no-wait to wait for it") from None
                print(f"zoocards: waiting for {_describe(path)}", file=sys.stderr, flush=True)
                started = time.monotonic()
                fcntl.flock(fd, fcntl.LOCK_EX)  # Ctrl-C or SIGTERM (cli.main) interrupts the wait
                print(f"zoocards: waited {time.monotonic() - started:.1f} s; going on", file=sys.stderr, flush=True)
            _write_holder(fd, what)
        except BaseException:
            os.close(fd)  # closing the file drops the lock, if it was taken
            raise
        _held[key] = _Held(fd, 1)


def _leave(path: Path) -> None:
    key = str(path)
    with _taking:
        held = _held[key]
        held.depth -= 1
        if held.depth == 0 and not held.inherited:
            del _held[key]
            os.close(held.fd)  # releases the flock; the holder's details stay in the file, harmless: the next holder overwrites them


def _adopt(path: Path) -> _Held | None:
    """The lock a parent process handed down (for_child), when it is this very lock and really held."""
    number, _, named = os.environ.get(INHERITED_ENV, "").partition(":")
    if not number.isdigit() or named != str(path):
        return None  # none handed down, or another project's: left for its own lock
    del os.environ[INHERITED_ENV]  # taken: a process this one starts is not handed it by mistake
    fd = int(number)
    try:
        if not _same_file(fd, path):
            return None
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # succeeds at once on the open file the parent locked
    except OSError:
        return None
    held = _Held(fd, 0, inherited=True)  # depth 0: `_enter` counts this entry
    _held[str(path)] = held
    return held


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, named = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino)


def _write_holder(fd: int, what: str) -> None:
    """Say in the lock file who holds it, for a second run's waiting message."""
    command = " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
    if len(command) > 120:  # a long --root: keep the start and the subcommand at the end
        command = command[:50] + "..." + command[-67:]
    info = json.dumps({"pid": os.getpid(), "what": what, "command": command, "started": time.time()}) + "\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, info.encode("utf-8"), 0)
