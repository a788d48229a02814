"""gymplug's locks, driven for real: file locks between threads and processes, and real forks."""

from __future__ import annotations

import os
import stat
import threading
import time
import warnings
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from test_core_reliability import reap

from gymplug import _locks

needs_flock = pytest.mark.skipif(_locks.fcntl is None, reason="no fcntl: no file lock")
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def fork(child: Callable[[], int]) -> int:
    """Run ``child`` in a forked process, which exits with what it returns (99 if it raises); the pid.

    Returns once the child runs: its at-fork handlers (which close its copy of a file lock) have run.
    """
    ready, started = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: a fork while threads run
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.write(started, b"r")
            code = child()
        finally:
            os._exit(code)
    os.close(started)
    try:
        if os.read(ready, 1) != b"r":
            raise AssertionError("the forked child died at once")
    finally:
        os.close(ready)
    return pid


def one_try(path: Path) -> Optional[bool]:
    """Can a new opener take the lock now? (A past deadline: one try, no wait.)"""
    with _locks.FileLock(str(path), time.monotonic()) as lock:
        return lock.held


class Holder:
    """Holds a file lock in this thread or in a thread of its own until ``release()``."""

    def __init__(self, path: Path, in_thread: bool) -> None:
        self.lock = _locks.FileLock(str(path), time.monotonic())
        self._release = threading.Event()
        self._held = threading.Event()
        self.thread: Optional[threading.Thread] = None
        if in_thread:
            self.thread = threading.Thread(target=self._hold)
            self.thread.start()
            assert self._held.wait(10)
        else:
            self.lock.__enter__()
        assert self.lock.held is True

    def _hold(self) -> None:
        with self.lock:
            self._held.set()
            self._release.wait(30)

    def release(self) -> None:
        if self.thread is None:
            self.lock.__exit__(None, None, None)
        else:
            self._release.set()
            self.thread.join(10)
            assert not self.thread.is_alive()


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "learned-test.lock"


@pytest.fixture(params=["this thread", "another thread"])
def holder(request: pytest.FixtureRequest, lock_path: Path) -> Iterator[Holder]:
    held = Holder(lock_path, request.param == "another thread")
    yield held
    if held.lock._fd is not None or (held.thread is not None and held.thread.is_alive()):
        held.release()


@needs_flock
def test_threads_of_one_process_exclude_each_other_and_a_past_deadline_tries_once(lock_path: Path) -> None:
    results: dict[str, Optional[bool]] = {}
    waited: list[float] = []

    def other(name: str, wait: float) -> None:
        started = time.monotonic()
        with _locks.FileLock(str(lock_path), started + wait) as lock:
            results[name] = lock.held
        waited.append(time.monotonic() - started)

    with _locks.FileLock(str(lock_path), time.monotonic()) as mine:
        assert mine.held is True
        for name, wait in (("once", 0.0), ("bounded", 0.3)):
            thread = threading.Thread(target=other, args=(name, wait))
            thread.start()
            thread.join(10)
        assert results == {"once": False, "bounded": False}
        assert waited[1] >= 0.25  # it did wait, up to its deadline
    thread = threading.Thread(target=other, args=("after", 0.0))
    thread.start()
    thread.join(10)
    assert results["after"] is True
    assert stat.S_IMODE(lock_path.stat().st_mode) == 0o600 and stat.S_IMODE(lock_path.parent.stat().st_mode) == 0o700


@needs_flock
def test_a_waiter_gets_the_lock_when_its_holder_releases_it(lock_path: Path) -> None:
    held = Holder(lock_path, in_thread=True)
    threading.Timer(0.3, held.release).start()
    with _locks.FileLock(str(lock_path), time.monotonic() + 30) as lock:
        assert lock.held is True


@needs_flock
@pytest.mark.skipif(os.name != "posix", reason="ownership and modes are POSIX")
@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o770])
def test_no_lock_file_is_created_in_a_directory_others_can_write(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    with _locks.FileLock(str(shared / "learned-x.lock"), time.monotonic() + 1) as lock:
        assert lock.held is None and "others can write" in str(lock.reason)
    assert list(shared.iterdir()) == []


@needs_flock
@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="only root can give a directory away")
def test_no_lock_file_is_created_in_another_users_directory(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with _locks.FileLock(str(theirs / "learned-x.lock"), time.monotonic() + 1) as lock:
        assert lock.held is None and "not the user's own" in str(lock.reason)
    assert list(theirs.iterdir()) == []


@needs_flock
@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory", "world-writable"])
def test_a_lock_file_that_is_not_a_private_regular_file_is_not_used(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "cache" / "learned-x.lock"
    path.parent.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    if kind == "symlink":
        path.symlink_to(target)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path.touch()
        os.chmod(path, 0o666)
    with _locks.FileLock(str(path), time.monotonic() + 5) as lock:  # never blocks on the FIFO
        assert lock.held is None
    assert not target.exists()


@needs_flock
@needs_fork
def test_a_forked_child_does_not_keep_the_lock_held(holder: Holder, lock_path: Path) -> None:
    # B8: a long-lived worker forked while the lock was held made another process wait until it exited.
    go, stay = os.pipe()
    pid = fork(lambda: 0 if os.read(go, 1) == b"x" else 3)  # lives until told to exit
    try:
        holder.release()
        assert one_try(lock_path) is True  # the worker still runs: it must not hold the lock
    finally:
        os.write(stay, b"x")
        status = reap(pid, 15)
        os.close(go)
        os.close(stay)
    assert status == 0


@needs_flock
@needs_fork
def test_a_forked_child_takes_the_lock_itself_not_waiting_on_its_own_copy(holder: Holder, lock_path: Path) -> None:
    # B8: a child forked while the lock was held blocked on its own inherited lock once the parent released it.
    released, tell = os.pipe()
    lock = holder.lock

    def child() -> int:
        if lock.held is not False:  # its copy of the holder's lock is not held in the child
            return 4
        if os.read(released, 1) != b"x":
            return 5
        return 0 if one_try(lock_path) is True else 3

    pid = fork(child)
    try:
        holder.release()
    finally:
        os.write(tell, b"x")
        status = reap(pid, 15)
        os.close(released)
        os.close(tell)
    assert status == 0


@needs_fork
@pytest.mark.parametrize("factory", [_locks.Lock, _locks.RLock])
def test_a_fork_safe_lock_held_by_another_thread_is_free_in_the_child(factory: Callable[[], _locks._ForkSafe]) -> None:
    lock = factory()
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        pid = fork(lambda: 0 if lock.acquire(blocking=False) else 3)  # not replaced: the copy is held
        status = reap(pid, 15)
    finally:
        release.set()
        thread.join(10)
    assert status == 0
