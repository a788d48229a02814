"""``gymplug gallery`` of one distribution's envs: time per env on a first run, and a whole second run.

    python benchmarks/gallery.py PYTHON [--plugin minigrid] [--jobs 2] [--runs 3] [--steps 60]

PYTHON is the interpreter of a virtual environment with ``gymplug[gallery,gymnasium]`` and the
distribution installed (``pip install minigrid==3.2.0``). Each run builds a gallery of the
distribution's envs into a new folder with a new GYMPLUG_CACHE_DIR (so the first run learns which ids
the package provides, as a user's first run does), then builds it again into the same folder: the
second run finds every preview kept. Times are of the whole command, medians over runs: wall clock,
and CPU time (user + system of the command and its workers) divided by --jobs, which is what the wall
clock would be on --jobs idle cores if the work spread evenly (the machine may be shared). The first
run is also shown with learning left out (learned before the clock, by ``gymplug index``).
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

import clock  # this script's directory is on sys.path

TIMEOUT = 1800  # seconds one gallery may take
TARGET_FIRST = 0.3  # seconds per env, first run
TARGET_SECOND = 2.0  # seconds, the whole second run


def gallery(python: str, plugin: str, out: Path, cache: Path, jobs: int, steps: int) -> tuple[tuple[float, float], dict]:
    """Run ``gymplug gallery --json`` once; ((wall seconds, CPU seconds), its JSON)."""
    env = {**os.environ, "GYMPLUG_CACHE_DIR": str(cache)}
    command = [python, "-m", "gymplug", "gallery", "--plugin", plugin, "--out", str(out), "--jobs", str(jobs),
               "--steps", str(steps), "--json"]
    proc = clock.run(command, env=env, timeout=TIMEOUT)
    seconds = (proc.wall, proc.cpu)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"gymplug gallery failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, json.loads(proc.stdout)


def learn(python: str, cache: Path) -> None:
    env = {**os.environ, "GYMPLUG_CACHE_DIR": str(cache)}
    subprocess.run([python, "-m", "gymplug", "index"], capture_output=True, env=env, timeout=TIMEOUT, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python", help="the interpreter of a venv with gymplug[gallery] and the distribution")
    parser.add_argument("--plugin", default="minigrid", help="the distribution whose envs make the gallery")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="first and second runs to take the median of")
    parser.add_argument("--steps", type=int, default=60, help="steps per preview (default 60: the command's default)")
    args = parser.parse_args()
    firsts, learned_firsts, seconds, counts = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="gymplug-bench-gallery-") as scratch:
        root = Path(scratch)
        for run in range(args.runs):
            cache = root / f"cache-{run}"
            first, data = gallery(args.python, args.plugin, root / f"site-{run}", cache, args.jobs, args.steps)
            second, again = gallery(args.python, args.plugin, root / f"site-{run}", cache, args.jobs, args.steps)
            warm_cache = root / f"warm-{run}"
            learn(args.python, warm_cache)
            warm, _ = gallery(args.python, args.plugin, root / f"warm-site-{run}", warm_cache, args.jobs, args.steps)
            envs = data["envs"]
            counts.append((len(envs), data["previews"], data["problems"],
                           sum(1 for e in again["envs"] if not e["cached"] and e["outcome"] != "unavailable")))
            firsts.append(first)
            learned_firsts.append(warm)
            seconds.append(second)
            print(f"run {run + 1}: first {first[0]:.1f} s, learned first {warm[0]:.1f} s, second {second[0]:.2f} s",
                  file=sys.stderr)
    envs, previews, problems, rerendered = counts[-1]
    print(f"### gymplug gallery --plugin {args.plugin} --jobs {args.jobs} --steps {args.steps} "
          f"({envs} envs, {previews} previews, {envs - previews} without; {args.runs} runs, medians)")
    print()
    print(f"| run | wall | wall per env | CPU / {args.jobs} | CPU / {args.jobs} per env | target | ok (wall, CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = (
        (f"first (learning {args.plugin} included)", firsts, envs, TARGET_FIRST, "per env"),
        ("first (ids learned before)", learned_firsts, envs, TARGET_FIRST, "per env"),
        (f"second, same folder ({rerendered} rendered again)", seconds, 1, TARGET_SECOND, "in all"),
    )
    for label, samples, per, target, unit in rows:
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples) / args.jobs
        ok = ["yes" if value / per <= target else "NO" for value in (wall, cpu)]
        print(f"| {label} | {wall:.2f} s | {wall / envs:.3f} s | {cpu:.2f} s | {cpu / envs:.3f} s | "
              f"<= {target} s {unit} | {', '.join(ok)} |")


if __name__ == "__main__":
    main()
