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
    tiny = ["--sizes", "1", "--runs", "1", "--hook-runs", "1", "--sources", "2", "--learn-runs", "1", "--mix-runs", "1",
            "--heavy", "0.05"]
    proc = run([sys.executable, ROOT / "benchmarks" / "bench.py", *tiny, "--host", HOST], timeout=600)
    assert "### N = 1 distributions (10 env ids)" in proc.stdout
    for row in ("floor:", "importlib_metadata.entry_points", "gymplug discover", "pluggy load_setuptools_entrypoints",
                "stevedore ExtensionManager", "host register() once per id", "first make of a plugin env", "max RSS",
                f"| python -c 'import {HOST}', N plugins, hook off |",
                f"| python -c 'import {HOST}', N plugins, hook on |",
                "| gymplug's whole cost: (import + lookup, hook on) - (import, hook off) |",
                "| importlib_metadata.entry_points(group=...), same run |", "| gymplug list --json --no-import |",
                "registry attached before the clock", "gymplug's whole cost against the host alone"):
        assert row in proc.stdout, row
    if HOST == "gym":
        assert "gym's own eager loader" in proc.stdout
    assert "### 2 Form B root plugins + 2 import sources (root namespace)" in proc.stdout
    kinds = ("| make a learned", "| unknown id", "| unversioned built-in")
    learning = [line.split("|") for line in proc.stdout.splitlines() if line.startswith(kinds)]
    assert len(learning) == 4 and all(len(cells) == 9 for cells in learning), learning
    for row in ("| whole process: import host; make('CartPole-v1'), hook on / off, median of paired runs (CPU)",
                "| whole process: import host; make a plugin env (Form A): gymplug / by hand, median of paired runs",
                "| first miss in a fresh setup: a typo (nothing learned yet) |",
                "| a typo, the host's own error (hook off) |",
                "| gymplug list --json --no-import, 5 learned packages"):
        assert row in proc.stdout, row
    targets = proc.stdout[proc.stdout.index("### Targets"):]
    for row in ("| first make, plugin / built-in (N = 1), attaching included |",
                f"| import {HOST}, gymplug + N = 1, hook on / off (CPU, paired) |",
                "hook on / host alone (CPU, paired)",
                "| after learning, plugin modules imported here: unknown id",
                "| after learning, plugin modules imported here: make a learned id, import source"):
        assert row in targets, row
