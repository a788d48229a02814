"""The first use of a host with gymplug, whole processes: issue 18's rows 1 and 3 (bench.py runs them per N).

Each row is a ``python -c`` command run in fresh processes, the commands of a row taking turns run by
run; the ratio is the median of each run's pair (wall time, and CPU time of the process and its
children), so that a noisy stretch of a shared machine falls on both sides of a pair.

* ``import host; host.make("CartPole-v1")``, hook on against hook off (the same site on the path) and
  against the host alone (hook off, nothing on the path: with gym the hook off runs gym's own loader);
* the first ``make`` of a plugin env, against the same env made after importing its module and
  registering it by hand (hook off, the module alone on the path: what a package that registers on
  import costs its user);
* ``import host`` and one lookup of a plugin id, against the host alone.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import clock as clocked  # this script's directory is on sys.path

TIMEOUT = 600
MAKE_BUILTIN = "import {host}; {host}.make('CartPole-v1')"
MAKE_PLUGIN = "import {host}; {host}.make('bench-0-0-v0')"
BY_HAND = ("import {host}, bench_plugin_0.envs; {host}.register(id='bench-0-0-v0', "
           "entry_point='bench_plugin_0.envs:Env0'); {host}.make('bench-0-0-v0')")
LOOKUP = "import {host}; 'bench-0-0-v0' in {host}.envs.registry"
IMPORT = "import {host}"
BUILTIN_ROW = "whole process: import host; make('CartPole-v1')"
PLUGIN_ROW = "whole process: import host; make a plugin env (Form A)"
LOOKUP_ROW = "whole process: import host; one lookup of a plugin id"


def sampled(commands: list[tuple[str, dict[str, str]]], runs: int) -> list[tuple[list[float], list[float]]]:
    """Wall and CPU seconds (the process and its children) of each ``python -c`` command, taking turns."""
    return clocked.sampled(commands, runs, TIMEOUT)


def _paired(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


def hand_site(site: Path, root: Path) -> Path:
    """The first plugin's module alone, with no metadata: the host's own loaders see nothing to load."""
    hand = root / f"{site.name}-by-hand"
    if not hand.exists():
        shutil.copytree(site / "bench_plugin_0", hand / "bench_plugin_0")
    return hand


def measure(host: str, site: Path, base: dict[str, str], runs: int, root: Path, lookup: bool) -> list[tuple]:
    """Rows (name, seconds or ratio, versus) for one site; ``lookup``: add the row of import + one lookup."""
    env = {**base, "PYTHONPATH": str(site)}
    off = {**env, "GYMPLUG_AUTOLOAD": "0"}
    alone = {**base, "GYMPLUG_AUTOLOAD": "0"}
    hand = {**base, "PYTHONPATH": str(hand_site(site, root)), "GYMPLUG_AUTOLOAD": "0"}
    builtin, plugin, imports = MAKE_BUILTIN.format(host=host), MAKE_PLUGIN.format(host=host), IMPORT.format(host=host)
    commands = [(builtin, env), (builtin, off), (builtin, alone), (plugin, env), (BY_HAND.format(host=host), hand)]
    if lookup:
        commands += [(LOOKUP.format(host=host), env), (imports, alone)]
    samples = sampled(commands, runs)
    rows: list[tuple] = []
    (on_w, on_c), (off_w, off_c), (alone_w, alone_c), (plug_w, plug_c), (hand_w, hand_c) = samples[:5]
    rows.append((f"{BUILTIN_ROW}, hook on", statistics.median(on_w), ""))
    rows.append((f"{BUILTIN_ROW}, hook off", statistics.median(off_w), ""))
    for clock, on, versus, baseline in (("wall", on_w, off_w, "off"), ("CPU", on_c, off_c, "off"),
                                        ("wall", on_w, alone_w, "host alone"), ("CPU", on_c, alone_c, "host alone")):
        rows.append((f"{BUILTIN_ROW}, hook on / {baseline}, median of paired runs ({clock})", _paired(on, versus),
                     "(a ratio)"))
    rows.append((f"{PLUGIN_ROW}, hook on", statistics.median(plug_w), ""))
    rows.append((f"{PLUGIN_ROW}, by hand (hook off: import its module, register it)", statistics.median(hand_w), ""))
    for clock, ours, theirs in (("wall", plug_w, hand_w), ("CPU", plug_c, hand_c)):
        rows.append((f"{PLUGIN_ROW}: gymplug / by hand, median of paired runs ({clock})", _paired(ours, theirs),
                     "(a ratio)"))
    if lookup:
        (look_w, look_c), (bare_w, bare_c) = samples[5:]
        rows.append((f"{LOOKUP_ROW}, hook on", statistics.median(look_w), ""))
        rows.append((f"{LOOKUP_ROW}: / host alone (import host), median of paired runs (wall)", _paired(look_w, bare_w),
                     "(a ratio)"))
        rows.append((f"{LOOKUP_ROW}: / host alone (import host), median of paired runs (CPU)", _paired(look_c, bare_c),
                     "(a ratio)"))
    return rows


def targets(values: dict[int, dict[str, float]]) -> list[tuple[str, float, str, bool]]:
    """Issue 18's targets 1 and 3 (the import and one lookup), from rows measured in the same run."""
    found = []
    for n, v in sorted(values.items()):
        goal = 1.02 if n <= 1 else 1.03 if n <= 10 else None
        for clock in ("wall", "CPU"):
            for baseline in ("off", "host alone"):
                name = f"{BUILTIN_ROW}, hook on / {baseline}, median of paired runs ({clock})"
                if goal is not None and name in v:
                    found.append((f"first use: import host; make(CartPole-v1), N = {n}, hook on / {baseline} "
                                  f"({clock}, paired)", v[name], f"<= {goal:.2f}x", v[name] <= goal))
            name = f"{PLUGIN_ROW}: gymplug / by hand, median of paired runs ({clock})"
            if n <= 10 and name in v:
                found.append((f"first make of a plugin env / by hand, N = {n} ({clock}, paired)", v[name], "<= 1.05x",
                              v[name] <= 1.05))
            name = f"{LOOKUP_ROW}: / host alone (import host), median of paired runs ({clock})"
            if n == 100 and name in v:
                found.append((f"import host + one lookup, N = 100 / host alone ({clock}, paired)", v[name], "<= 1.05x",
                              v[name] <= 1.05))
    return found
