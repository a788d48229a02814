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

__all__ = ["Lock", "RLock", "importing"]

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


def _after_fork_in_child() -> None:
    for lock in list(_all):
        lock._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
