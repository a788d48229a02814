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


def test_benchmark_suite_runs_at_a_tiny_size():
    proc = run([sys.executable, ROOT / "benchmarks" / "bench.py", "--sizes", "1", "--runs", "1", "--host", HOST], timeout=600)
    assert "### N = 1 distributions (10 env ids)" in proc.stdout
    for row in ("floor:", "importlib_metadata.entry_points", "gymplug discover", "pluggy load_setuptools_entrypoints",
                "stevedore ExtensionManager", "host register() once per id", "first make of a plugin env", "max RSS"):
        assert row in proc.stdout, row
    if HOST == "gym":
        assert "gym's own eager loader" in proc.stdout
    assert "### Targets" in proc.stdout and "| first make, plugin / built-in (N = 1) |" in proc.stdout
