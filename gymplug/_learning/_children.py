"""Learning in child processes: what to learn (:class:`Job`), what was learned (:class:`Learned`), :func:`learn_many`.

A child is a Python (:func:`interpreter`) running ``_child.py`` by path with the caller's ``sys.path``, gymplug
unable to activate there (``GYMPLUG_LEARNING_CHILD``), learning off and stdin closed; :mod:`._supervise` starts,
watches and kills the children. This module makes one result per job of what they said: the ids in order, plain
specs, the modules, a one-line error, and whether the result is transient (never to be stored).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from typing import Callable, NamedTuple, Optional, Sequence, TextIO

from .._hosts import facts
from ._child import _plain  # the one rule of plain data, the child's and the parent's
from ._record import DEFAULT_TIMEOUT, Learned
from ._sources import Source
from ._supervise import GRACE, run_simply, run_watched

__all__ = ["DEFAULT_TIMEOUT", "Job", "Learned", "interpreter", "learn_many"]

_ANNOUNCE_AFTER = 1.0  # seconds of learning before the one line on stderr
_MAX_REPORT = 16 << 20  # bytes of one child's report
_MAX_REASON = 300
_POSIX = os.name == "posix"
_DEATH_SIGNAL = sys.platform.startswith("linux")
_CRASHES = {getattr(signal, n) for n in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGSYS", "SIGTRAP")
            if hasattr(signal, n)}  # a crash of the import itself: stored, not retried on every miss
_PYTHON = re.compile(r"(python|pypy)(\d+(\.\d+)*)?[dmtw]*(\.exe)?", re.IGNORECASE)
_NO_TIME = "not learned: the lookup's time ran out first"


class Job(NamedTuple):
    """One source to learn, and where else to look when its top-level import registers nothing."""

    source: Source
    #: modules of its own to import when the top-level import registered nothing (see _sources)
    fallback: tuple[str, ...] = ()


def interpreter() -> Optional[str]:
    """The Python to run children with: ``sys.executable`` if its name is a Python's (python3.12, pythonw.exe,
    pypy3...); in an application that embeds Python (maya.bin, uwsgi), never started as one, the Python of its
    installation (``<exec_prefix>/bin/pythonX.Y``, ``python.exe`` on Windows) if there is one; else None."""
    version = "%d.%d" % sys.version_info[:2]
    if os.name == "nt":
        names = [os.path.join(p, "python.exe") for p in (sys.exec_prefix, sys.base_exec_prefix)]
    else:
        names = [os.path.join(p, "bin", "python" + version) for p in (sys.exec_prefix, sys.base_exec_prefix)]
    for name in [sys.executable or "", *names]:
        if _PYTHON.fullmatch(os.path.basename(name)) and os.path.isfile(name) and os.access(name, os.X_OK):
            return name
    return None


def _processes() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _one_line(text: str) -> str:
    line = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))  # no ESC for a terminal
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 3] + "..."


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except (ValueError, TypeError):
        return f"signal {number!r}"


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is no number")


class _Round:
    """What one call of learn_many shares: the jobs, their results so far, the clock, and the announcement."""

    STOPPED = "not learned: stopped once the lookup was answered"

    def __init__(self, host: str, jobs: Sequence[Job], deadline: float, timeout: float, path: Sequence[str],
                 stream: Optional[TextIO]) -> None:
        self.jobs, self.deadline, self.timeout, self.stream = jobs, deadline, timeout, stream
        self.results: list[Optional[Learned]] = [None] * len(jobs)
        self.started = time.monotonic()
        #: True once a result satisfied stop_when: what did not run is "stopped", not "no time"
        self.stopped = False
        self.announce_at: Optional[float] = self.started + _ANNOUNCE_AFTER
        self.report_limit = _MAX_REPORT
        host_facts = facts(host)
        self.common = {"path": list(path), "registration": host_facts.registration_module,
                       "eager": host_facts.eager_loader, "report_limit": self.report_limit, "parent": os.getpid()}
        self.env = dict(os.environ, GYMPLUG_AUTOLOAD="0", GYMPLUG_LEARN="0", GYMPLUG_LEARNING_CHILD="1",
                        PYTHONUNBUFFERED="1")

    def args(self, job: Job, budget: float, lifeline: int, watch: bool) -> str:
        mine = {"modules": list(job.source.modules), "fallback": list(job.fallback), "limit": budget + GRACE,
                "lifeline": lifeline, "watch": watch, "death_signal": _DEATH_SIGNAL}
        return json.dumps({**self.common, **mine}, separators=(",", ":"))

    def say_once(self) -> None:
        """The one line that says why the program waits, once learning has taken about a second."""
        if self.announce_at is None or time.monotonic() < self.announce_at:
            return
        self.announce_at = None
        count = len(self.jobs)
        try:
            print(f"gymplug: learning which environments {count} installed package{'s' if count != 1 else ''} "
                  "provide (once) ...", file=self.stream or sys.stderr, flush=True)
        except (OSError, ValueError):  # a closed or broken stream: learning goes on
            pass

    def result(self, index: int, started: float, error: Optional[str] = None, *, transient: bool = False,
               report: Optional[dict] = None) -> Learned:
        """Record and return job ``index``'s result; ``report`` is the child's, decoded (see _report)."""
        source = self.jobs[index].source
        ids, specs, modules = (report["ids"], report["specs"], report["modules"]) if report else ((), {}, ())
        seconds = round(max(0.0, time.monotonic() - started), 3)
        error = _one_line(error) if error is not None else None
        item = Learned(source.key, source.version, tuple(source.signature), tuple(ids), error, seconds, specs,
                       tuple(modules), transient)
        self.results[index] = item
        return item

    def finish(self, index: int, started: float, out: bytes, status: Optional[dict], stderr: bytes,
               overflow: bool) -> Learned:
        """The result of a child that reported, exited or died, from its output and the watcher's ``status``."""
        job = self.jobs[index]
        doing = "importing " + ", ".join(job.source.modules)
        if overflow:
            limit = self.report_limit / (1 << 20)
            return self.result(index, started, f"report too large (over {limit:.3g} MB) {doing}")
        report = _report(out, job)
        status = status or {}
        code = status.get("exit")
        if "signalled" in status:
            name = _signal_name(status["signalled"])
            return self.result(index, started, f"the package signalled its parent ({name}) {doing}", report=report)
        if "timeout" in status:
            return self.result(index, started, f"timed out after {self.timeout:g} s {doing}", transient=True)
        if report is not None:
            return self.result(index, started, report["error"], report=report)
        if type(code) is int and code < 0:
            name = _signal_name(-code)
            if -code in _CRASHES:
                return self.result(index, started, f"the child crashed ({name}) {doing}")
            return self.result(index, started, f"the child was killed ({name}) {doing}", transient=True)
        tail = stderr.decode("utf-8", "replace").strip().splitlines()
        if type(code) is not int:  # the watcher died without a word (killed from outside, or by the import)
            died = status.get("died")
            how = f" ({_signal_name(-died)})" if type(died) is int and died < 0 else ""
            return self.result(index, started, f"the child process died{how} without reporting, {doing}",
                               transient=True)
        reason = f"the child exited with code {code} without reporting"
        return self.result(index, started, reason + (f": {tail[-1]}" if tail else ""))

    def late(self, index: int, started: float, cut: bool) -> Learned:
        """The result of a child killed at its time limit (``cut``: the lookup's, else ``timeout``)."""
        spent, doing = time.monotonic() - started, "importing " + ", ".join(self.jobs[index].source.modules)
        why = f"cut short after {spent:.1f} s by the lookup's time limit," if cut else ""
        why = why or f"timed out after {self.timeout:g} s"
        return self.result(index, started, f"{why} {doing}", transient=True)

    def unfinished(self, reason: str) -> list[Learned]:
        """Every result, the jobs that never ran given ``reason`` (transient)."""
        for index, item in enumerate(self.results):
            if item is None:
                self.result(index, time.monotonic(), reason, transient=True)
        return [item for item in self.results if item is not None]


def _report(out: bytes, job: Job) -> Optional[dict]:
    """The importer's report (the first ``R`` line), checked: ids, specs, modules and error; None if none."""
    line = next((ln for ln in out.split(b"\n") if ln.startswith(b"R")), None)
    if line is None:
        return None
    try:
        raw = json.loads(line[1:], parse_constant=_refuse)
        ids = list(dict.fromkeys(i for i in raw["ids"] if type(i) is str))
        specs, error, listed = raw["specs"], raw["error"], raw["modules"]
        if not isinstance(specs, dict) or not isinstance(listed, list):
            return None
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    known = set(ids)
    specs = {k: v for k, v in specs.items() if k in known and type(v) is dict
             and type(v.get("entry_point")) is str and _plain(v) >= 0}
    allowed = set(job.source.modules) | set(job.fallback)
    modules = [m for m in listed if type(m) is str and m in allowed] or (list(job.source.modules) if ids else [])
    return {"ids": ids, "specs": specs, "modules": modules, "error": error if type(error) is str else None}


def learn_many(
    host: str,
    jobs: Sequence[Job],
    *,
    deadline: float,
    timeout: float = DEFAULT_TIMEOUT,
    parallel: Optional[int] = None,
    path: Optional[Sequence[str]] = None,
    stream: Optional[TextIO] = None,
    stop_when: Optional[Callable[[Learned], bool]] = None,
) -> list[Learned]:
    """One Learned per job, in job order; never raises for what a source does.

    ``deadline`` is absolute (``time.monotonic()``): no child runs past it, nor past ``timeout`` seconds each.
    ``parallel`` children at once (default: the CPUs this process may use). When a result satisfies
    ``stop_when``, the children still running are killed: they, and the jobs not started, are transient. One
    line on ``stream`` (default stderr) when learning takes longer than about a second. ``path`` is the
    children's sys.path (default this process's). Children are started from the calling thread.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    if parallel is not None and parallel < 1:
        raise ValueError(f"parallel must be at least 1, not {parallel!r}")
    work = _Round(host, list(jobs), deadline, timeout, [p for p in (sys.path if path is None else path)
                                                        if isinstance(p, str)], stream)
    if not work.jobs:
        return []
    python = interpreter()
    if python is None:
        why = f"not learned: sys.executable ({sys.executable or 'empty'}) is not a Python, and none was found"
        return work.unfinished(why)
    if _POSIX:
        run_watched(work, python, parallel or _processes(), stop_when)
    else:
        run_simply(work, python, stop_when)
    return work.unfinished(_Round.STOPPED if work.stopped else _NO_TIME)
