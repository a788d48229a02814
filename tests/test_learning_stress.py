"""A crowd of first misses on an empty cache: 50 processes of 16 threads each, forking as they go, against
20 packages that register on import (some slow, one failing, one that forks): every package is learned
once between them all, nothing hangs, no process is left behind, and the store reads back whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import HOST, Venv, clean_env
from sites import Site, registers

pytestmark = pytest.mark.integration

PROCESSES, AT_ONCE, THREADS = 50, 10, 16
MARKER = "gp-stress-sleeper"

CROWD = f"""
import os, threading
import {HOST}
from {HOST}.envs import registration as r
def miss(n):
    assert f"Typo{{n}}-v0" not in r.registry
threads = [threading.Thread(target=miss, args=(n,)) for n in range({THREADS})]
for n, thread in enumerate(threads):
    thread.start()
    if n == {THREADS} // 2:
        pid = os.fork()
        if pid == 0:  # a fork while the other threads miss: it misses too, and must not hang
            miss(99)
            print("forked", os.getpid(), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
for thread in threads:
    thread.join(120)
print("main", os.getpid(), sum(t.is_alive() for t in threads), flush=True)
"""


def _sources(site: Site) -> list[str]:
    modules = []
    for n in range(20):
        module = f"gp_stress_{n}"
        body = registers(f"Stress{n}-v0", f"Stress/Ns{n}-v1")
        if n < 3:  # slow, well within the time limit
            body = "import time\ntime.sleep(1.5)\n" + body
        elif n == 3:
            body += "raise RuntimeError('gp_stress_3 fails after registering')\n"
        elif n == 4:  # starts a process that would outlive its parent
            body = (f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
                    f"'import time; time.sleep(300)', {MARKER!r}])\n") + body
        elif n == 5:  # forks, and the fork lingers
            body = "import os, time\nif os.fork() == 0:\n    time.sleep(300)\n    os._exit(0)\n" + body
        site.dist(f"gp-stress-{n}", module, body)
        modules.append(module)
    return modules


def _leftovers() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True, timeout=30).stdout
    return [line for line in ps.splitlines() if MARKER in line or "gp_stress" in line]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_crowd_of_first_misses_learns_each_package_once_and_leaves_nothing_behind(
    bare_venv: Venv, tmp_path: Path
) -> None:
    site = Site(bare_venv, tmp_path)
    modules = _sources(site)
    environ = clean_env(site.environ())
    started = time.monotonic()
    users: set[int] = set()
    outputs = []
    for wave in range(PROCESSES // AT_ONCE):
        crowd = [
            subprocess.Popen([str(bare_venv.python), "-c", CROWD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=environ, cwd=tmp_path, start_new_session=True)
            for _ in range(AT_ONCE)
        ]
        try:
            for proc in crowd:
                out, err = proc.communicate(timeout=240)
                outputs.append((proc.returncode, out, err))
        finally:  # a hang fails the test; it must not outlive it
            for proc in crowd:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
    elapsed = time.monotonic() - started
    for _, out, _ in outputs:
        users.update(int(line.split()[1]) for line in out.splitlines() if line.split()[:1] in (["main"], ["forked"]))
    failures = [(code, err[-2000:]) for code, out, err in outputs if code != 0 or "main" not in out]
    assert failures == []
    assert all(line.split()[2] == "0" for _, out, _ in outputs for line in out.splitlines() if line.startswith("main"))
    assert len(users) == 2 * PROCESSES  # every process and every fork answered
    learned = Counter()
    for module, pid in (line.split() for line in site.canary.read_text().splitlines()):
        assert int(pid) not in users, f"{module} was imported in a user's process"
        learned[module] += 1
    assert {m: learned[m] for m in modules} == {m: 1 for m in modules}  # each learned once between them all
    deadline = time.monotonic() + 15
    while _leftovers() and time.monotonic() < deadline:  # killed ones are reaped by init
        time.sleep(0.2)
    assert _leftovers() == []
    (store,) = site.cache.glob("learned-*.json")
    entries = json.loads(store.read_text())["hosts"][HOST]
    assert len(entries) == 20
    assert elapsed < 240
