"""One learning child's cost, spawn to report, for a trivial source: this checkout's gymplug against another.

    python benchmarks/child.py --against PATH [--runs 30] [--host gymnasium|gym]

PATH is the root of another gymplug source tree (``git archive main gymplug _gymplug_startup.py | tar -x -C
PATH``). Run with a Python whose environment has the host and gymplug's requirements. Each run starts one fresh
process per tree, in turns (PYTHONPATH puts the tree first, startup hook included); each times one learning
child of a source whose module registers one id, from the call to its result. Prints the medians and the
median of the per-run ratios (this tree / the other); the host's import in the child is most of either.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TIMEOUT = 120  # seconds one measured process may take
ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import inspect, json, sys, time
from gymplug._learning import _children
from gymplug._learning._sources import Source
site, host = sys.argv[1], sys.argv[2]
source = Source("bench-trivial", "1.0", ("bench_trivial",), (0,) * 8, site)
path = [site, *sys.path]
started = time.perf_counter()
if "deadline" in inspect.signature(_children.learn_many).parameters:
    [item] = _children.learn_many(host, [_children.Job(source)], deadline=time.monotonic() + 60, path=path)
else:
    item = _children.learn(host, source, path=path)
spent = time.perf_counter() - started
if item.ids != ("BenchTrivial-v0",):
    raise SystemExit(f"learned {item!r}")
print(json.dumps(spent))
"""


def probe(tree: Path, site: Path, host: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "GYMPLUG_CACHE": "0"}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(site), host], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=site, check=True)
    return float(json.loads(proc.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, required=True, help="the root of the other gymplug tree")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--host", default="gymnasium", choices=("gymnasium", "gym"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch)
        (site / "bench_trivial.py").write_text(
            f"from {args.host}.envs.registration import register\n"
            f"register('BenchTrivial-v0', entry_point='{args.host}.envs.classic_control:CartPoleEnv')\n"
        )
        trees = {"this": ROOT, "other": args.against.resolve()}
        for tree in trees.values():  # warm the bytecode caches and the page cache
            probe(tree, site, args.host)
        times: dict[str, list[float]] = {name: [] for name in trees}
        for run in range(args.runs):
            order = list(trees) if run % 2 == 0 else list(reversed(trees))
            for name in order:
                times[name].append(probe(trees[name], site, args.host))
    ratios = [a / b for a, b in zip(times["this"], times["other"])]
    print(f"runs: {args.runs} pairs, host {args.host}, {sys.executable}")
    for name, tree in trees.items():
        print(f"{name:5} {tree}: median {statistics.median(times[name]) * 1000:.1f} ms")
    print(f"this / other: median of paired ratios {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
