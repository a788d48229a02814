"""Worker processes that render previews, each env with a time limit; none outlives the pool.

Each worker is this interpreter running :mod:`gymplug._gallery._worker` by path, in a session of its
own (a timeout kills what the env started too), with this process's ``sys.path``. An env that hangs,
crashes the interpreter or scribbles on stdout costs its own card and a fresh worker, nothing more.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any, Iterator, NamedTuple, Optional, cast

from .._errors import GymplugError

__all__ = ["Answer", "Pool", "Task", "WorkerError"]

#: Seconds a worker may take to start (import gymplug, the hosts, numpy and Pillow).
START_SECONDS = 60.0
_GRACE = 5.0  # seconds to reap a killed worker
_MAX_LINE = 1 << 20  # an answer is a few hundred bytes: anything longer is not one
_PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py")
# Headless defaults for renderers that would look for a display or a sound card; the user's win.
_HEADLESS = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "MPLBACKEND": "Agg"}


class WorkerError(GymplugError):
    """The workers cannot run at all (they do not start): nothing of any env is at fault."""


class Task(NamedTuple):
    """One env to preview: ``out`` is the file the worker writes the animation to."""

    position: int  # of the card on the page
    env_id: str
    host: str
    out: str


class Answer(NamedTuple):
    """What became of a task: the worker's answer (untrusted JSON), or the pool's own verdict."""

    task: Task
    data: dict[str, Any]
    seconds: float


def exit_reason(code: Optional[int]) -> str:
    """Why a worker ended, in words: ``the interpreter crashed (SIGABRT)``."""
    if code is None:
        return "the worker process ended"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the interpreter crashed ({name})"
    return f"the worker process exited with code {code}"


class _Worker:
    """One worker process and the thread that reads its answers into the pool's queue."""

    def __init__(self, events: "queue.Queue[tuple[_Worker, Optional[bytes]]]", options: dict[str, Any]) -> None:
        env = {**_HEADLESS, **os.environ}
        self.proc = subprocess.Popen(
            [sys.executable, _PROGRAM, json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if options["verbose"] else subprocess.DEVNULL,
            env=env,
            start_new_session=os.name == "posix",
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        self.events = events
        self.ready = False
        self.task: Optional[Task] = None
        self.since = time.monotonic()
        threading.Thread(target=self._read, daemon=True, name="gymplug-gallery-read").start()

    def _read(self) -> None:
        pipe = cast(IO[bytes], self.proc.stdout)
        try:
            while True:
                line = pipe.readline(_MAX_LINE)
                if not line:
                    break
                self.events.put((self, line))
        except (OSError, ValueError):
            pass
        self.events.put((self, None))

    def send(self, task: Task) -> bool:
        """Hand ``task`` over; False if the worker is gone."""
        self.task, self.since = task, time.monotonic()
        line = json.dumps({"id": task.env_id, "host": task.host, "out": task.out})
        try:
            stdin = cast(IO[bytes], self.proc.stdin)
            stdin.write(line.encode("utf-8", "surrogatepass") + b"\n")
            stdin.flush()
        except (OSError, ValueError):
            return False
        return True

    def kill(self) -> Optional[int]:
        """Kill the worker and its session; its exit code, once reaped (None if it would not die)."""
        try:
            if os.name == "posix":
                os.killpg(self.proc.pid, signal.SIGKILL)  # unreaped, its pid cannot name another group
            else:
                self.proc.kill()
        except OSError:
            pass
        try:
            code: Optional[int] = self.proc.wait(_GRACE)
        except subprocess.TimeoutExpired:
            code = None
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        return code


def _parse(line: bytes) -> Optional[dict[str, Any]]:
    try:
        data = json.loads(line.decode("utf-8", "surrogatepass"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Pool:
    """Up to ``jobs`` workers rendering ``steps`` steps from ``seed``; use it as a context manager.

    Leaving the ``with`` block kills every worker, whatever the way out (Ctrl-C included).
    """

    def __init__(self, jobs: int, timeout: float, hosts: list[str], steps: int, seed: int,
                 verbose: bool = False) -> None:
        if jobs < 1 or timeout <= 0:
            raise ValueError(f"jobs must be 1 or more and timeout positive, not {jobs!r}, {timeout!r}")
        self.jobs, self.timeout = jobs, timeout
        self._options = {"path": list(sys.path), "hosts": hosts, "steps": steps, "seed": seed,
                         "verbose": verbose, "parent": os.getpid()}
        self._events: queue.Queue[tuple[_Worker, Optional[bytes]]] = queue.Queue()
        #: the live workers
        self._workers: list[_Worker] = []

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill every worker (and what each started)."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.kill()

    def _start(self) -> _Worker:
        if not sys.executable:
            raise WorkerError("no Python interpreter to run workers in (sys.executable is empty)")
        try:
            worker = _Worker(self._events, self._options)
        except OSError as exc:
            raise WorkerError(f"could not start a worker process: {exc}") from None
        self._workers.append(worker)
        return worker

    def _drop(self, worker: _Worker) -> Optional[int]:
        self._workers.remove(worker)
        return worker.kill()

    def run(self, tasks: list[Task]) -> Iterator[Answer]:
        """Answers as they come; every task gets one (a timeout and a crash are answers too)."""
        todo = collections.deque(tasks)
        while todo or any(w.task for w in self._workers):
            free = sum(1 for w in self._workers if w.task is None)  # idle, or still starting
            for _ in range(min(len(todo) - free, self.jobs - len(self._workers))):
                self._start()
            for worker in [w for w in self._workers if w.ready and w.task is None]:
                if not todo:
                    break
                if not worker.send(todo.popleft()):
                    yield self._died(worker)
            yield from self._wait()

    def _deadline(self, worker: _Worker) -> float:
        if not worker.ready:
            return worker.since + START_SECONDS
        return worker.since + self.timeout if worker.task else float("inf")

    def _wait(self) -> Iterator[Answer]:
        """Wait for the next answer or deadline, and yield what it settles."""
        deadline = min((self._deadline(w) for w in self._workers), default=float("inf"))
        try:
            worker, line = self._events.get(timeout=min(max(0.0, deadline - time.monotonic()), 3600.0))
        except queue.Empty:
            now = time.monotonic()
            for late in [w for w in self._workers if self._deadline(w) <= now]:
                self._drop(late)
                if late.task is None:
                    raise WorkerError(f"a gallery worker did not start within {START_SECONDS:g} s") from None
                yield self._answer(late, {"outcome": "timeout", "reason": f"timed out after {self.timeout:g} s"})
            return
        if worker not in self._workers:  # from a worker already killed
            return
        message = _parse(line) if line is not None else None
        if line is None:
            yield self._died(worker)
        elif not worker.ready:  # before its greeting, a line may be anyone's: a .pth file that prints, ...
            if message is not None and "ready" in message:
                if message["ready"] is not True:
                    self._drop(worker)
                    raise WorkerError(str(message.get("reason") or "a gallery worker failed to start")[:300])
                worker.ready = True
        elif message is None:
            yield from self._garbled(worker)
        elif worker.task is not None:
            yield self._answer(worker, message)

    def _answer(self, worker: _Worker, data: dict[str, Any]) -> Answer:
        task, worker.task = cast(Task, worker.task), None
        return Answer(task, data, round(time.monotonic() - worker.since, 3))

    def _died(self, worker: _Worker) -> Answer:
        code = self._drop(worker)
        if not worker.ready:
            raise WorkerError(f"a gallery worker could not start: {exit_reason(code)}")
        return self._answer(worker, {"outcome": "crashed", "reason": exit_reason(code)})

    def _garbled(self, worker: _Worker) -> Iterator[Answer]:
        self._drop(worker)
        if worker.task is not None:
            yield self._answer(worker, {"outcome": "failed", "reason": "the worker sent an answer that is not JSON"})
