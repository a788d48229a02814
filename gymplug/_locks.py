"""Locks that a forked child gets fresh: the thread that held one in the parent does not exist there.

Every lock gymplug takes is one of these. ``os.register_at_fork`` gives each a new inner lock in
the child, so that a ``fork()`` made while another thread was inside gymplug cannot leave the
child waiting forever. A :class:`FileLock` (an ``flock`` between processes) is closed in a forked
child: ``flock`` belongs to the open file, which a child shares with its parent, so a worker forked
while it was held would otherwise hold it for as long as it lives.
"""

from __future__ import annotations

import os
import stat
import threading
import time
import weakref
from typing import Any, Callable, Optional

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FileLock", "Lock", "RLock", "held_import", "importing"]

_all: "weakref.WeakSet[_ForkSafe]" = weakref.WeakSet()
_POLL = 0.05  # seconds between two tries of a file lock that another process holds


class _ForkSafe:
    __slots__ = ("_factory", "_lock", "__weakref__")

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._lock = factory()
        _all.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc_info: Any) -> None:
        self._lock.release()

    def _after_fork(self) -> None:
        self._lock = self._factory()


def Lock() -> _ForkSafe:  # noqa: N802 - stands for threading.Lock
    return _ForkSafe(threading.Lock)


def RLock() -> _ForkSafe:  # noqa: N802 - stands for threading.RLock
    return _ForkSafe(threading.RLock)


def held_import(name: str) -> bool:
    """Is module ``name`` being imported by another thread (in a forked child: one that does not exist)?"""
    try:
        from importlib import _bootstrap

        ref = getattr(_bootstrap, "_module_locks", {}).get(name)
        lock = ref() if ref is not None else None
        owner = getattr(lock, "owner", None)
        return lock is not None and owner not in (None, 0, threading.get_ident())
    except Exception:  # noqa: BLE001 - a private structure of CPython: if it changed, assume not
        return False


def importing() -> bool:
    """Is this thread in the middle of an import (holding a module's import lock)?"""
    try:
        from importlib import _bootstrap

        me = threading.get_ident()
        for ref in list(getattr(_bootstrap, "_module_locks", {}).values()):
            lock = ref()
            if lock is not None and getattr(lock, "owner", None) == me:
                return True
    except Exception:  # noqa: BLE001 - a private structure of CPython: if it changed, wait (bounded)
        return False
    return False


class FileLock:
    """An exclusive ``flock`` on ``path``, tried until ``deadline`` (``time.monotonic()``); a context manager.

    ``held`` is None when there is no lock to take: no ``fcntl`` (Windows), no path, a directory or
    file that the discovery cache's rules refuse (not the user's own, or writable by others: the
    directory is checked before the file is created in it), a file that cannot be created, or a file
    system without locks; ``reason`` then says why. Otherwise ``held`` says whether it was had: a
    ``deadline`` already past means one try. Two threads of one process exclude each other too (each
    opens the file itself). The file stays open while held; a forked child closes its copy at once
    (whatever thread held it), so it neither keeps the lock held nor waits on it itself.
    """

    def __init__(self, path: Optional[str], deadline: float) -> None:
        self.path = path
        self.deadline = deadline
        #: None: no lock to take (see ``reason``); else whether this process holds it
        self.held: Optional[bool] = None
        self.reason: Optional[str] = None
        self._fd: Optional[int] = None

    def __enter__(self) -> "FileLock":
        self.held, self.reason = None, None
        if fcntl is None or self.path is None:
            self.reason = "no file locks here" if fcntl is None else "no lock file"
            return self
        from ._private import trusted  # not at import: the activation path imports this module

        try:
            with _files_guard:  # no fork between the open and the registration: a child must close it
                self._fd = _open_lock_file(self.path, trusted)
                _files.add(self)
        except _Refused as exc:
            self.reason = str(exc)
            return self
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
                return self
            except BlockingIOError:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    self._close()
                    self.held = False
                    return self
                time.sleep(min(_POLL, remaining))
            except OSError as exc:  # a file system without locks
                self._close()
                self.reason = f"{self.path}: {exc}"
                return self

    def __exit__(self, *exc_info: Any) -> None:
        self._close()  # closing the last descriptor of the open file releases the lock

    def _close(self) -> None:
        with _files_guard:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            _files.discard(self)

    def _forget_in_child(self) -> None:
        # Close, never unlock: LOCK_UN on the shared open file would release the parent's lock.
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        if self.held:
            self.held = False


class _Refused(Exception):
    """The lock file cannot or must not be opened (the message says why)."""


def _open_lock_file(path: str, trusted: Callable[[os.stat_result], bool]) -> int:
    """Open (creating if need be, mode 0600) the lock file, under the discovery cache's rules.

    The directory is created if missing (0700), then opened and checked; the file is created through
    that descriptor, so that what was checked is where it is created. Never follows a symlink to the
    file, never blocks on a FIFO.
    """
    directory, name = os.path.split(path)
    directory = directory or "."
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (OSError, ValueError) as exc:
        raise _Refused(f"{directory}: {exc}") from None
    try:
        if not trusted(os.fstat(dir_fd)):
            raise _Refused(f"{directory} is not the user's own, or others can write to it")
        if os.open in os.supports_dir_fd:
            fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
        else:  # pragma: no cover - no *at() calls
            fd = os.open(path, flags, 0o600)
    except (OSError, ValueError) as exc:
        raise _Refused(f"{path}: {exc}") from None
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and trusted(st):
            return fd
    except OSError:
        pass
    os.close(fd)
    raise _Refused(f"{path} is not a regular file of the user's own, or others can write to it")


#: File locks whose descriptor is open; a forked child closes them all. Guarded by _files_guard, which a
#: fork waits for, so that no descriptor is open in a child without being registered.
_files: "set[FileLock]" = set()
_files_guard = threading.Lock()


_guarded_fork = threading.local()


def _before_fork() -> None:
    # Bounded: a fork from a signal handler that interrupted this very thread inside the guard must not hang.
    _guarded_fork.held = _files_guard.acquire(timeout=5.0)


def _after_fork_in_parent() -> None:
    if getattr(_guarded_fork, "held", False):
        _guarded_fork.held = False
        _files_guard.release()


def _after_fork_in_child() -> None:
    global _files_guard
    for lock in list(_all):
        lock._after_fork()
    for file_lock in list(_files):
        file_lock._forget_in_child()
    _files.clear()
    _files_guard = threading.Lock()  # held by the forking thread's copy in the parent


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
