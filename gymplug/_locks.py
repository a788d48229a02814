"""Locks that a forked child gets fresh: the thread that held one in the parent does not exist there.

Every lock gymplug takes is one of these. ``os.register_at_fork`` gives each a new inner lock in
the child, so that a ``fork()`` made while another thread was inside gymplug cannot leave the
child waiting forever.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Callable

__all__ = ["Lock", "RLock"]

_all: "weakref.WeakSet[_ForkSafe]" = weakref.WeakSet()


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


def _after_fork_in_child() -> None:
    for lock in list(_all):
        lock._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
