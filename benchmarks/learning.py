"""Root-namespace sources, before and after learning: what each kind of lookup costs and imports.

    python benchmarks/learning.py [--sources 50] [--runs 3] [--host gymnasium|gym]

bench.py runs this too (issue 11's rows). It builds a site of --sources Form B distributions (a
``__root__`` registration function each) and as many import sources (no entry point; METADATA
requires the host; the module registers its id when imported), dated a minute back, puts it on
PYTHONPATH and, in fresh processes with the hook on, times one lookup of each kind after
``import host``. "Before learning" runs with a fresh GYMPLUG_CACHE_DIR each time (so the discovery
cache is cold too); "after learning" with one directory that a first miss has filled. Each plugin
module appends its name to the file named by GYMPLUG_BENCH_IMPORTS when imported: the measured
process counts its own imports in ``sys.modules``, the rest of the file are the learning children's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 600  # seconds any one measured process may take
GROUP = {"gym": "gym.envs", "gymnasium": "gymnasium.envs"}
PREFIXES = ("bench_src_", "bench_root_")

#: The env every synthetic plugin of the benchmarks defines (a template for ``.format(host=...)``).
ENV_CLASS = """\
import {host}
from {host} import spaces
class Env({host}.Env):
    def __init__(self, render_mode=None, **kwargs):
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Discrete(2)
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {{}}
    def step(self, action):
        return 0, 0.0, True, False, {{}}
"""
PLUGIN_MODULE = """\
import os
_log = os.environ.get("GYMPLUG_BENCH_IMPORTS")
if _log:
    with open(_log, "a") as _file:
        _file.write(__name__ + "\\n")
""" + ENV_CLASS
SOURCE_TAIL = """\
from {host}.envs.registration import register
register(id="BenchSource{i}-v0", entry_point="bench_src_{i}:Env")
"""
ROOT_TAIL = """\
def register():
    from {host}.envs.registration import register
    register(id="BenchRoot{i}-v0", entry_point="bench_root_{i}:Env")
"""


def clean_env(cache: Path) -> dict[str, str]:
    """This environment without gymplug's switches, with a cache directory of the benchmark's own."""
    # Bytecode as in an installed environment: with PYTHONDONTWRITEBYTECODE every run would compile the
    # site's modules (and those of an editable gymplug) anew.
    drop = ("PYTHONPATH", "GYMPLUG_AUTOLOAD", "GYMPLUG_DISABLE", "GYMPLUG_CACHE", "GYMPLUG_LEARN",
            "PYTHONDONTWRITEBYTECODE")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "GYMPLUG_CACHE_DIR": str(cache)}


def _dist(site: Path, name: str, module: str, code: str, metadata: str, entry_points: str = "") -> None:
    (site / f"{module}.py").write_text(code)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{metadata}")
    (info / "top_level.txt").write_text(module + "\n")
    (info / "RECORD").write_text(f"{module}.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points)


def build_site(root: Path, count: int, host: str) -> Path:
    """``count`` Form B root registration plugins and ``count`` import sources."""
    site = root / f"site-roots-{count}"
    site.mkdir(parents=True)
    for i in range(count):
        head = PLUGIN_MODULE.format(host=host)
        _dist(site, f"bench-root-{i}", f"bench_root_{i}", head + ROOT_TAIL.format(host=host, i=i), "",
              f"[{GROUP[host]}]\n__root__ = bench_root_{i}:register\n")
        _dist(site, f"bench-src-{i}", f"bench_src_{i}", head + SOURCE_TAIL.format(host=host, i=i),
              f"Requires-Dist: {host}\n")
    past = time.time() - 60  # as if installed a minute ago: the caches store no state younger than 2 s
    for path in [site, *site.rglob("*")]:
        os.utime(path, (past, past))
    return site


def lookups(host: str, count: int) -> list[tuple[str, str]]:
    k = count // 2
    return [
        (f"make a learned id, import source (BenchSource{k}-v0)", f"{host}.make('BenchSource{k}-v0')"),
        (f"make a learned id, Form B root (BenchRoot{k}-v0)", f"{host}.make('BenchRoot{k}-v0')"),
        ("unknown id ('NoSuchEnv-v0' in registry)", f"'NoSuchEnv-v0' in {host}.envs.registry"),
        ("unversioned built-in ('CartPole' in registry)", f"'CartPole' in {host}.envs.registry"),
    ]


def probe(host: str, lookup: str, env: dict[str, str], log: Path) -> tuple[float, int, int]:
    """One fresh process: seconds of the lookup, plugin modules it imported, imports in learning children."""
    code = (f"import json, sys, time, {host}\nt = time.perf_counter()\n{lookup}\nspent = time.perf_counter() - t\n"
            f"print(json.dumps([spent, sum(1 for m in sys.modules if m.startswith({PREFIXES!r}))]))")
    log.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-c", code], env={**env, "GYMPLUG_BENCH_IMPORTS": str(log)},
                          check=True, capture_output=True, text=True, timeout=TIMEOUT)
    spent, here = json.loads(proc.stdout.strip().splitlines()[-1])
    total = len(log.read_text().split()) if log.exists() else 0
    return spent, here, total - here


def measure(host: str, count: int, runs: int, root: Path) -> list[tuple[str, tuple, tuple]]:
    """Per lookup kind: (median seconds, median imports here, median imports in children), before and after."""
    site = build_site(root, count, host)
    log = root / "imports.log"
    learned = {**clean_env(root / "learned-cache"), "PYTHONPATH": str(site)}
    # Learn: the first miss that nothing explains learns every source, and loads (learns) every root plugin.
    probe(host, f"'NoSuchEnv-v0' in {host}.envs.registry", learned, log)
    kinds = lookups(host, count)
    before: list[list[tuple[float, int, int]]] = [[] for _ in kinds]
    after: list[list[tuple[float, int, int]]] = [[] for _ in kinds]
    for run in range(runs):  # kinds, and before / after, take turns run by run
        for i, (_, lookup) in enumerate(kinds):
            fresh = {**clean_env(root / f"fresh-{run}-{i}"), "PYTHONPATH": str(site)}
            before[i].append(probe(host, lookup, fresh, log))
            after[i].append(probe(host, lookup, learned, log))

    def medians(samples: list[tuple[float, int, int]]) -> tuple:
        return tuple(statistics.median(column) for column in zip(*samples))

    return [(name, medians(b), medians(a)) for (name, _), b, a in zip(kinds, before, after)]


def render(count: int, rows: list[tuple[str, tuple, tuple]]) -> str:
    lines = [
        f"### {count} Form B root plugins + {count} import sources (root namespace)", "",
        "| lookup after `import host` | before learning | imported here | in learning children "
        "| after learning | imported here | in learning children |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, (b_time, b_here, b_children), (a_time, a_here, a_children) in rows:
        lines.append(f"| {name} | {b_time * 1e3:.2f} ms | {b_here:g} | {b_children:g} "
                     f"| {a_time * 1e3:.2f} ms | {a_here:g} | {a_children:g} |")
    return "\n".join(lines) + "\n"


def targets(rows: list[tuple[str, tuple, tuple]]) -> list[tuple[str, float, str, bool]]:
    """After learning, a miss imports no plugin module and a make imports its provider only."""
    found = []
    for name, _, (_, here, _) in rows:
        goal = 1 if name.startswith("make") else 0
        found.append((f"after learning, plugin modules imported here: {name}", here, f"= {goal}", here == goal))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=50, help="Form B root plugins, and as many import sources")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per measurement (default 3)")
    parser.add_argument("--host", default="gymnasium", choices=sorted(GROUP))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gymplug-bench-learning-"))
    try:
        rows = measure(args.host, args.sources, args.runs, root)
        print(render(args.sources, rows))
        for what, value, goal, met in targets(rows):
            print(f"| {what} | {value:g} | {goal} | {'yes' if met else 'no'} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
