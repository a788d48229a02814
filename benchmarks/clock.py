"""One process run to its end and clocked: wall time without polling, CPU time from its own rusage.

``subprocess.run(..., timeout=)`` waits for a process without pipes by polling, with sleeps that double
up to 50 ms: the wall time of a short process lands on a step (15.5, 31.5, 63.5, 113.5, 163.5, 213.5 ms
and so on), and ratios of such times say nothing. Here the wait is one blocking ``os.wait4``, bounded by a
timer that kills the process; the CPU time is that process's and its waited-for children's, from wait4.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Optional, Sequence

TIMEOUT = 600.0


@dataclass
class Clocked:
    wall: float  # seconds from start to reaped
    cpu: float  # user + system seconds of the process and the children it waited for
    returncode: int
    stdout: str
    stderr: str


def run(argv: Sequence[str], env: Optional[dict[str, str]] = None, timeout: float = TIMEOUT,
        check: bool = False) -> Clocked:
    """Run ``argv`` to its end (stdin closed, output kept in files: no pipe to drain, no polling)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        lock, reaped, expired = threading.Lock(), threading.Event(), threading.Event()
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

        def kill() -> None:
            with lock:  # never signal a pid once it is reaped: the number may be someone else's by then
                if not reaped.is_set():
                    expired.set()
                    os.kill(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            with lock:
                reaped.set()
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        out.seek(0)
        err.seek(0)
        done = Clocked(wall, usage.ru_utime + usage.ru_stime, proc.returncode,
                       out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))
    if expired.is_set():
        raise subprocess.TimeoutExpired(list(argv), timeout, done.stdout, done.stderr)
    if check and done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, list(argv), done.stdout, done.stderr)
    return done


def sampled(commands: Sequence[tuple[str, dict[str, str]]], runs: int,
            timeout: float = TIMEOUT) -> list[tuple[list[float], list[float]]]:
    """Wall and CPU seconds of each ``python -c code`` (with its env) in fresh processes, the commands taking
    turns run by run, so that a noisy stretch of a shared machine falls on all of them alike."""
    samples: list[tuple[list[float], list[float]]] = [([], []) for _ in commands]
    for _ in range(runs):
        for (code, env), (walls, cpus) in zip(commands, samples):
            done = run([sys.executable, "-c", code], env=env, timeout=timeout, check=True)
            walls.append(done.wall)
            cpus.append(done.cpu)
    return samples
