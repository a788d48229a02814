"""The benchmark scripts run (a smoke test at a tiny size: no timing is asserted)."""

import sys

import pytest

from helpers import HOST, ROOT, run

pytestmark = pytest.mark.integration


def test_startup_benchmark_runs(venv):
    if HOST == "gym":
        pytest.skip("with the hook off, gym's own loader meets the broken fixtures of this venv and dies")
    proc = run([sys.executable, ROOT / "benchmarks" / "startup.py", venv.python, "--runs", "2", "--host", HOST])
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == ["`python -c pass`", f"`python -c 'import {HOST}'`"]
