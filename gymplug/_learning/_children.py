"""Learning: import a source in a child process, with a time limit, and report the env ids it registers.

Never in the caller's process: the child is this interpreter (``sys.executable``) given the
caller's ``sys.path``, with GYMPLUG_AUTOLOAD=0 and GYMPLUG_LEARN=0 so that it neither activates
gymplug nor learns in turn, stdin closed, in a session of its own so that a timeout kills what it
started too. Whatever the imported code prints goes to the child's stderr, which is captured and
bounded; the result comes back alone on the child's original stdout, as one JSON document.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Mapping, NamedTuple, Optional, Sequence, TextIO, cast

from .._hosts import facts
from ._sources import Source

__all__ = ["DEFAULT_TIMEOUT", "Job", "Learned", "learn", "learn_many"]

#: Seconds one source may take to import in the child.
DEFAULT_TIMEOUT = 20.0
#: Children at once: learning is CPU-bound imports, and the user's program is waiting.
MAX_PARALLEL = 2
_ANNOUNCE_AFTER = 1.0  # seconds of learning before the one line on stderr
_MAX_RESULT = 16 << 20
_MAX_STDERR = 8 << 10  # the tail kept, for the reason a child died without reporting
_MAX_REASON = 300
_GRACE = 5.0  # seconds to reap a killed child or drain its pipes

# The child's program: a module file of its own, run by path, so that it imports nothing of gymplug.
_CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_child.py")


class Job(NamedTuple):
    """One source to learn, and where else to look when its top-level import registers nothing."""

    source: Source
    #: modules of its own to import when the top-level import registered nothing (see _sources)
    fallback: tuple[str, ...] = ()


@dataclass(frozen=True)
class Learned:
    """What importing one source registered. Immutable."""

    #: the source's normalized distribution name
    dist: str
    version: str
    #: the source's folder signature when it was learned: a different one means learn again
    signature: tuple[int, ...]
    #: the ids its own import registered, in registration order (some, even when it failed)
    ids: tuple[str, ...]
    #: one printable line saying why the import failed or timed out, else None
    error: Optional[str]
    #: how long learning took (finite, >= 0)
    seconds: float
    #: id -> the spec's init fields whose values are plain data and differ from the host's defaults
    #: (always a str "entry_point"); an id whose spec is not plain data has none, and stays a hint
    specs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: the modules whose import registered the ids: what a lookup imports in the user's process
    modules: tuple[str, ...] = ()
    #: True: a result that must never be stored (timed out, killed, interrupted, cut short)
    transient: bool = False


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping the head (``keep_tail`` False) or the tail, ``limit`` bytes."""

    def __init__(self, pipe: IO[bytes], limit: int, keep_tail: bool) -> None:
        super().__init__(daemon=True)
        self.pipe, self.limit, self.keep_tail = pipe, limit, keep_tail
        self.data = b""
        self.overflow = False

    def run(self) -> None:
        try:
            while True:
                chunk = self.pipe.read1(65536) if hasattr(self.pipe, "read1") else self.pipe.read(65536)
                if not chunk:
                    return
                if not self.keep_tail and b"\n" in chunk:  # the report is one line: it may end before the pipe
                    self.data += chunk[: chunk.index(b"\n")]
                    self.overflow = self.overflow or len(self.data) > self.limit
                    return
                if self.keep_tail:
                    self.data = (self.data + chunk)[-self.limit :]
                elif len(self.data) < self.limit:
                    self.data += chunk[: self.limit - len(self.data)]
                else:
                    self.overflow = True
        except (OSError, ValueError):
            return


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 3] + "..."


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child and its session (while it is unreaped, its id cannot name another group)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GYMPLUG_AUTOLOAD="0", GYMPLUG_LEARN="0", PYTHONUNBUFFERED="1")
    return env


def learn(host: str, source: Source, timeout: float = DEFAULT_TIMEOUT, path: Optional[Sequence[str]] = None) -> Learned:
    """Import ``source``'s top-level modules in a child process and return the ids they registered.

    Never raises for what the source does: a failure, a timeout or a crash is the one-line ``error``.
    ``path`` is the child's sys.path (default this process's).
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    host_facts = facts(host)
    args = {
        "path": list(sys.path if path is None else path),
        "modules": list(source.modules),
        "registration": host_facts.registration_module,
        "eager": host_facts.eager_loader,
        "limit": timeout + 2 * _GRACE,
    }
    started = time.monotonic()

    def done(
        ids: Sequence[str] = (),
        error: Optional[str] = None,
        entries: Sequence[tuple[str, str]] = (),
        transient: bool = False,
    ) -> Learned:
        seconds = round(time.monotonic() - started, 3)
        specs = {env_id: {"entry_point": entry} for env_id, entry in entries}
        modules = source.modules if ids else ()
        signature = tuple(source.signature)
        return Learned(source.key, source.version, signature, tuple(ids), error, seconds, specs, modules, transient)

    if not sys.executable:
        return done(error="no Python interpreter to learn in (sys.executable is empty)", transient=True)
    try:
        proc = subprocess.Popen(
            [sys.executable, _CHILD, json.dumps(args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(),
            start_new_session=os.name == "posix",
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
    except OSError as exc:
        return done(error=_one_line(f"could not start a child process: {exc}"), transient=True)
    result = _Drain(cast(IO[bytes], proc.stdout), _MAX_RESULT, False)
    errors = _Drain(cast(IO[bytes], proc.stderr), _MAX_STDERR, True)
    result.start()
    errors.start()
    result.join(timeout)  # the result pipe ends when the child exits
    timed_out = result.is_alive()
    _kill(proc)  # also what the imported code started, and a child that closed its pipe early
    try:
        proc.wait(_GRACE)
    except subprocess.TimeoutExpired:  # unkillable: leave it, never hang
        pass
    errors.join(1.0)
    result.join(1.0)
    for drain in (result, errors):
        if not drain.is_alive():  # else a process outside the session holds it: the daemon thread keeps it
            drain.pipe.close()
    if timed_out:
        return done(error=f"timed out after {timeout:g} s importing {', '.join(source.modules)}", transient=True)
    try:
        report: Any = json.loads(result.data.decode("utf-8")) if not result.overflow else None
        ids = [i for i in report["ids"] if isinstance(i, str)]
        entries = sorted((k, v) for k, v in report["entry_points"].items() if isinstance(v, str) and k in ids)
        error = report["error"]
    except (ValueError, KeyError, TypeError, AttributeError):
        tail = errors.data.decode("utf-8", "replace").strip().splitlines()
        reason = f"the child exited with code {proc.returncode} without reporting"
        return done(error=_one_line(reason + (f": {tail[-1]}" if tail else "")))
    return done(ids, _one_line(error) if isinstance(error, str) else None, entries)


def learn_many(
    host: str,
    sources: Iterable[Source],
    timeout: float = DEFAULT_TIMEOUT,
    path: Optional[Sequence[str]] = None,
    parallel: int = MAX_PARALLEL,
    stream: Optional[TextIO] = None,
) -> list[Learned]:
    """Learn several sources, ``parallel`` children at a time, in the order given.

    When it takes longer than about a second, one line on ``stream`` (default stderr) says so.
    """
    todo = list(sources)
    if not todo:
        return []
    workers = max(1, min(parallel, len(todo), os.cpu_count() or 1))
    # Imported here: learning is rare, and concurrent.futures brings logging into every attach.
    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(workers, thread_name_prefix="gymplug-learn") as pool:
        futures = [pool.submit(learn, host, source, timeout, path) for source in todo]
        if wait(futures, _ANNOUNCE_AFTER).not_done:  # still running after a second: say why the program waits
            print(
                f"gymplug: learning which environments {len(todo)} installed "
                f"package{'s' if len(todo) != 1 else ''} provide (once) ...",
                file=stream or sys.stderr,
                flush=True,
            )
        return [future.result() for future in futures]

