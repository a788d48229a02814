"""Supervising learning children: their processes, pipes and process groups, and the lifeline to the caller.

:mod:`._children` says what to learn and makes the results; this module runs the children. POSIX: every child
is a watcher in a session of its own (``_child.py``); all pipes are read in one select loop, from the calling
thread; a child's process group is killed when it reports, times out or is stopped, and on every way out (an
exception, a Ctrl-C). When the caller dies without that, the watchers kill their groups: they see EOF on a
lifeline pipe only the caller writes to (a forked copy of the caller gets /dev/null in its place), and on
Linux get a parent-death signal. Elsewhere (Windows) one child at a time, killed on timeout.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from ._children import Learned, _Round

__all__ = ["CHILD", "GRACE", "run_simply", "run_watched"]

#: The child's program: a module file of its own, run by path, so that it imports nothing of gymplug.
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_child.py")
#: Seconds: the watcher's own limit past the caller's, and the wait to reap a killed child.
GRACE = 1.0
_MAX_STDERR = 8 << 10  # the tail kept, for the reason a child died without reporting
_lifelines: set[int] = set()  # lifeline write ends this process holds


class Child:
    """One running child on POSIX: its watcher process, its pipes, and what they said so far."""

    def __init__(self, index: int, proc: subprocess.Popen, started: float, ends: float, cut: bool, limit: int) -> None:
        self.index, self.proc, self.started, self.ends, self.cut, self.limit = index, proc, started, ends, cut, limit
        self.out, self.err = bytearray(), bytearray()
        self.status: Optional[dict] = None
        self.overflow = self.gone = self.reported = False
        self.roles = {proc.stdout.fileno(): "out", proc.stderr.fileno(): "err"}  # type: ignore[union-attr]
        for fd in self.roles:
            os.set_blocking(fd, False)
        try:  # readable once the watcher exits (Linux): a watcher killed without a word is seen at once
            self.roles[os.pidfd_open(proc.pid)] = "pid"  # type: ignore[attr-defined,unused-ignore]
        except (AttributeError, OSError):
            pass

    @property
    def done(self) -> bool:
        return self.status is not None or self.reported or self.overflow or self.gone

    def read(self, fd: int) -> None:
        """Take what ``fd`` holds now (linear in all it says): done at the report's end or the watcher's status."""
        role = self.roles[fd]
        if role == "err":
            self.read_err()
            return
        if role == "pid":
            self.gone = True
            fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while not (self.status is not None or self.reported or self.overflow):
            try:
                data = os.read(fd, 1 << 20)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.gone = True
                return
            seen = len(self.out)
            self.out += data
            # The report, one line first on the pipe, is all that counts once complete (the watcher's line
            # comes later: waiting for it would cost the time the importer takes to tear itself down).
            self.reported = self.out[:1] == b"R" and data.find(b"\n") >= 0
            self.overflow = len(self.out) > self.limit + 4096
            mark = self.out.find(b"\nW", max(0, seen - 1))
            end = self.out.find(b"\n", mark + 2) if mark >= 0 else -1
            if end >= 0:
                try:
                    status = json.loads(bytes(self.out[mark + 2 : end]))
                except (ValueError, RecursionError):
                    status = None
                self.status = status if isinstance(status, dict) else {}

    def read_err(self) -> None:
        """Take what stderr holds now, whether or not the child is done: what it printed before it exited is in
        the pipe before the watcher's status is, and a status read first must not lose those last words."""
        fd = self.proc.stderr.fileno()  # type: ignore[union-attr]
        for _ in range(16):  # bounded: a child that prints without end must not hold the loop (the tail is kept)
            try:
                data = os.read(fd, 1 << 20)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self.err += data
            if len(self.err) > 2 * _MAX_STDERR:
                del self.err[:-_MAX_STDERR]

    def kill(self) -> None:
        """Kill the watcher's group: while the watcher is unreaped, its id names no other group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def close(self, reap_by: float) -> None:
        """Reap the killed watcher (waiting at most until ``reap_by``) and close what was opened for it."""
        for fd, role in self.roles.items():
            if role == "pid":  # its exit, to the microsecond: Popen.wait polls in growing sleeps
                waiter = select.poll()
                waiter.register(fd, select.POLLIN)
                waiter.poll(max(0, int((reap_by - time.monotonic()) * 1000)))
                os.close(fd)
        try:
            self.proc.wait(max(0.0, reap_by - time.monotonic()))
        except subprocess.TimeoutExpired:  # unkillable (a D state): never hang; subprocess reaps it later
            pass
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _after_fork_in_child() -> None:
    """A forked copy of this process must not keep the children alive: its lifelines lead nowhere."""
    if _lifelines:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in _lifelines:  # replaced, not closed: the file object that owns the number closes it later
            os.dup2(null, fd, inheritable=False)
        os.close(null)
        _lifelines.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def run_watched(work: "_Round", python: str, parallel: int, stop_when: Optional[Callable[[Learned], bool]]) -> None:
    running: list[Child] = []
    try:
        life_r, life_w = os.pipe()
    except OSError as exc:  # out of file descriptors: nothing can start
        for index in range(len(work.jobs)):
            work.result(index, time.monotonic(), f"could not start a child process: {exc}", transient=True)
        return
    lifeline = open(life_w, "wb", buffering=0)  # closed even if a second Ctrl-C cuts the finally short
    _lifelines.add(life_w)
    poller, owners = select.poll(), {}
    todo = list(range(len(work.jobs)))
    try:
        while True:
            now = time.monotonic()
            while todo and len(running) < parallel and now < work.deadline:
                index, now = todo.pop(0), time.monotonic()
                ends = min(now + work.timeout, work.deadline)
                try:
                    proc = subprocess.Popen(
                        [python, CHILD, work.args(work.jobs[index], ends - now, life_r, True)],
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=work.env,
                        start_new_session=True, pass_fds=(life_r,),
                    )
                except (OSError, ValueError) as exc:
                    work.result(index, now, f"could not start a child process: {exc}", transient=True)
                    continue
                child = Child(index, proc, now, ends, ends < now + work.timeout, work.report_limit)
                running.append(child)
                for fd in child.roles:
                    poller.register(fd, select.POLLIN)
                    owners[fd] = child
            if not running:
                return
            wake = min(child.ends for child in running)
            if work.announce_at is not None:
                wake = min(wake, work.announce_at)
            for fd, _ in poller.poll(max(0, int((wake - time.monotonic()) * 1000) + 1)):
                owners[fd].read(fd)
            work.say_once()
            now = time.monotonic()
            for child in [c for c in running if c.done or now >= c.ends]:
                running.remove(child)
                child.read_err()  # before the kill: a status read in the same poll leaves stderr unread
                child.kill()
                for fd in child.roles:
                    poller.unregister(fd)
                    del owners[fd]
                child.close(now + GRACE)
                if child.done:
                    status = child.status or ({"exit": 0} if child.reported else {"died": child.proc.returncode})
                    item = work.finish(child.index, child.started, bytes(child.out), status, bytes(child.err),
                                       child.overflow)
                else:
                    item = work.late(child.index, child.started, child.cut)
                if stop_when is not None and stop_when(item):
                    work.stopped = True
                    for other in running:
                        work.result(other.index, other.started, work.STOPPED, transient=True)
                    return
    finally:
        lifeline.close()  # first: every watcher sees EOF, whatever happens next
        _lifelines.discard(life_w)
        os.close(life_r)
        for child in running:
            child.kill()
        reap_by = time.monotonic() + GRACE
        for child in running:
            child.close(reap_by)


def run_simply(work: "_Round", python: str, stop_when: Optional[Callable[[Learned], bool]]) -> None:
    """One child at a time, killed on timeout (Windows: no fork, no process groups to kill)."""
    for index, job in enumerate(work.jobs):
        started = time.monotonic()
        if started >= work.deadline:
            return
        ends = min(started + work.timeout, work.deadline)
        try:
            proc = subprocess.Popen(
                [python, CHILD, work.args(job, ends - started, -1, False)], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=work.env,
                creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
            )
        except (OSError, ValueError) as exc:
            work.result(index, started, f"could not start a child process: {exc}", transient=True)
            continue
        out = err = b""
        try:
            while True:
                wake = ends if work.announce_at is None else min(ends, work.announce_at)
                try:
                    out, err = proc.communicate(timeout=max(0.0, wake - time.monotonic()))
                    break
                except subprocess.TimeoutExpired:
                    work.say_once()
                    if time.monotonic() >= ends:
                        break
        finally:
            late = proc.poll() is None
            if late:
                proc.kill()
                try:
                    proc.communicate(timeout=GRACE)
                except subprocess.TimeoutExpired:  # a grandchild holds the pipes: never hang
                    pass
        if late:
            item = work.late(index, started, ends < started + work.timeout)
        else:
            item = work.finish(index, started, out, {"exit": proc.returncode}, err[-_MAX_STDERR:],
                               len(out) > work.report_limit + 4096)
        if stop_when is not None and stop_when(item):
            work.stopped = True
            return
