"""gymplug's benchmark suite: discovery, registration and startup, side by side in one run.

    python benchmarks/bench.py [--sizes 1,100,1000] [--runs 5] [--host gymnasium|gym]

Run it with the interpreter of an environment that has gymplug, the host, pluggy, stevedore and
importlib_metadata installed (`pip install ".[bench,gymnasium]"`). For each N it builds a synthetic
site directory of N plugin distributions with 10 env ids each (real *.dist-info folders, real tiny
packages), dated a minute back as if installed earlier, puts it on PYTHONPATH and times each
contender in fresh processes (median of --runs; the commands compared take turns run by run, so
that a noisy stretch of a shared machine falls on all of them). gymplug's discovery cache lives in
a temporary directory, filled once before timing; "cold" rows turn it off with GYMPLUG_CACHE=0.
It prints one markdown table per N (absolute medians, and the ratio to the row named in "vs"),
then the targets of issue 5, each a ratio from this run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

IDS_PER_DIST = 10
FLOOR = "floor: list dist-info folders, read entry_points.txt"
COLD = "gymplug discover, cold (GYMPLUG_CACHE=0)"
WARM = "gymplug discover, warm cache"
GROUP = {"gym": "gym.envs", "gymnasium": "gymnasium.envs"}

ENV_MODULE = """\
import {host}
from {host} import spaces
class Env({host}.Env):
    def __init__(self, render_mode=None):
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Discrete(2)
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {{}}
    def step(self, action):
        return 0, 0.0, True, False, {{}}
for _i in range({n}):  # one class per id: loaders such as pluggy's refuse the same object twice
    globals()[f"Env{{_i}}"] = type(f"Env{{_i}}", (Env,), {{}})
"""
LEGACY_MODULE = """\
def register():
    from {host}.envs.registration import register
    for i in range({n}):
        register(id=f"Env{{i}}-v0", entry_point="{package}.envs:Env")
"""


def build_site(root: Path, n: int, host: str, legacy: bool) -> Path:
    """N distributions: Form A entries (or, with legacy, one gym-convention namespace entry each)."""
    site = root / f"site-{n}-{'legacy' if legacy else 'envs'}"
    site.mkdir(parents=True)
    for d in range(n):
        package = f"bench_plugin_{d}"
        (site / package).mkdir()
        (site / package / "__init__.py").write_text("")
        (site / package / "envs.py").write_text(ENV_MODULE.format(host=host, n=IDS_PER_DIST))
        if legacy:
            (site / package / "reg.py").write_text(LEGACY_MODULE.format(host=host, n=IDS_PER_DIST, package=package))
            entries = f"BenchNs{d} = {package}.reg:register\n"
        else:
            entries = "".join(f"bench-{d}-{i}-v0 = {package}.envs:Env{i}\n" for i in range(IDS_PER_DIST))
        info = site / f"bench_plugin_{d}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: bench-plugin-{d}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[{GROUP[host]}]\n{entries}")
        (info / "RECORD").write_text("")
    # As if installed a minute ago: gymplug's cache stores no state younger than two seconds.
    past = time.time() - 60
    for path in [site, *site.rglob("*")]:
        os.utime(path, (past, past))
    return site


def timed(*commands: tuple[str, dict[str, str]], runs: int) -> list[float]:
    """Median wall time of each ``python -c code`` in fresh processes, the commands taking turns run by
    run, so that a noisy stretch of a shared machine falls on all of them alike."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for (code, env), times in zip(commands, samples):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


def inner(*commands: tuple[str, dict[str, str]], runs: int) -> list[float]:
    """Median of the time each snippet reports for itself (it prints seconds), in fresh processes, the
    snippets taking turns run by run."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for (code, env), values in zip(commands, samples):
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
            values.append(float(out.strip().splitlines()[-1]))
    return [statistics.median(values) for values in samples]


def measure(n: int, host: str, runs: int, root: Path) -> list[tuple[str, float, str]]:
    group = GROUP[host]
    site = build_site(root, n, host, legacy=False)
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GYMPLUG_AUTOLOAD", "GYMPLUG_DISABLE", "GYMPLUG_CACHE")}
    base["GYMPLUG_CACHE_DIR"] = str(root / "cache")  # never the user's own
    env = {**base, "PYTHONPATH": str(site)}
    off = {**env, "GYMPLUG_AUTOLOAD": "0"}
    uncached = {**env, "GYMPLUG_CACHE": "0"}
    # Fill the discovery cache for both the synthetic site and the environment's own site-packages.
    subprocess.run([sys.executable, "-c", f"import gymplug; gymplug.discover({host!r})"], env=off, check=True)
    bare = {**base, "GYMPLUG_AUTOLOAD": "0"}
    clock = "import time; t = time.perf_counter()\n"
    done = "\nprint(time.perf_counter() - t)"
    # Loaders that import the plugins import the host through them: import it first, off the clock
    # (with gym's own eager loader, a plugin importing gym while gym initialises would crash).
    preload = f"import {host}\n"
    rows: list[tuple[str, float, str]] = []

    def add(name: str, seconds: float, versus: str = "") -> None:
        rows.append((name, seconds, versus))

    floor_code = clock + textwrap.dedent(f"""
        import os
        for p in {str(site)!r}, :
            for name in os.listdir(p):
                if name.endswith('.dist-info'):
                    with open(os.path.join(p, name, 'entry_points.txt'), 'rb') as f: f.read()""") + done
    discover = "import gymplug\n" + clock + f"gymplug.discover({host!r})" + done
    floor, metadata_backport, metadata_stdlib, cold, warm = inner(
        (floor_code, off),
        ("import importlib_metadata\n" + clock + f"importlib_metadata.entry_points(group={group!r})" + done, off),
        ("import importlib.metadata as m\n" + clock + f"m.entry_points(group={group!r})" + done, off),
        (discover, {**off, "GYMPLUG_CACHE": "0"}),
        (discover, off),
        runs=runs,
    )
    add(FLOOR, floor)
    add("importlib_metadata.entry_points(group=...)", metadata_backport, FLOOR)
    add("importlib.metadata (stdlib) entry_points(group=...)", metadata_stdlib, FLOOR)
    add(COLD, cold, FLOOR)
    add(WARM, warm, FLOOR)
    (pluggy_time,) = inner((preload + "import pluggy\npm = pluggy.PluginManager('bench')\n" + clock + f"pm.load_setuptools_entrypoints({group!r})" + done, env), runs=runs)
    add("pluggy load_setuptools_entrypoints", pluggy_time, FLOOR)
    (stevedore_time,) = inner((preload + "from stevedore import ExtensionManager\n" + clock + f"ExtensionManager({group!r}, invoke_on_load=False)" + done, env), runs=runs)
    add("stevedore ExtensionManager (imports every plugin)", stevedore_time, FLOOR)

    # registration of all 10*N ids: gymplug's attach against the host's register(), in one process each
    attach_code = (f"import gymplug._manager as mm, time\na = mm.HostManager.attach\nspent = []\n"
                   f"def w(self, *x, **k):\n    t = time.perf_counter(); a(self, *x, **k); spent.append(time.perf_counter() - t)\n"
                   f"mm.HostManager.attach = w\nimport {host}\nprint(spent[0])")
    register_code = (f"import {host}\nfrom {host}.envs.registration import register\nimport time\nt = time.perf_counter()\n"
                     f"for d in range({n}):\n    for i in range({IDS_PER_DIST}):\n        register(id=f'bench-{{d}}-{{i}}-v0', entry_point=f'bench_plugin_{{d}}.envs:Env{{i}}')\n"
                     "print(time.perf_counter() - t)")
    attach, host_register = inner((attach_code, env), (register_code, off), runs=runs)
    add("gymplug: register all ids into the host (attach)", attach)
    add("host register() once per id", host_register, "gymplug: register all ids into the host (attach)")

    bare_row = f"python -c 'import {host}', no plugins, hook off"
    imports = timed((f"import {host}", bare), (f"import {host}", env), (f"import {host}", uncached), runs=runs)
    add(bare_row, imports[0])
    add(f"python -c 'import {host}', gymplug + N plugins", imports[1], bare_row)
    add(f"python -c 'import {host}', gymplug + N plugins, cache off", imports[2], bare_row)
    if host == "gym":
        legacy = build_site(root, n, host, legacy=True)
        (eager,) = timed(("import gym", {**base, "PYTHONPATH": str(legacy), "GYMPLUG_AUTOLOAD": "0"}), runs=runs)
        add("python -c 'import gym', gym's own eager loader, N legacy plugins", eager, "python -c 'import gym', gymplug + N plugins")
    # A 2% target on a 12 ms command needs more rounds than the rest: they are cheap.
    hook_off, hook_on = timed(("pass", off), ("pass", env), runs=max(runs, 40))
    add("python -c pass, hook off", hook_off)
    add("python -c pass, hook on", hook_on, "python -c pass, hook off")
    (listing,) = timed(("import sys\nfrom gymplug.cli import main\nsys.exit(main(['list', '--json', '--no-import']))", env), runs=runs)
    add("gymplug list --json --no-import", listing)
    builtin = "CartPole-v1"
    first_make = f"import {host}, time\nt = time.perf_counter()\n{host}.make({{!r}})\nprint(time.perf_counter() - t)"
    made_builtin, made_plugin = inner((first_make.format(builtin), env), (first_make.format("bench-0-0-v0"), env), runs=runs)
    add(f"first make of a built-in ({builtin})", made_builtin)
    add("first make of a plugin env (Form A)", made_plugin, f"first make of a built-in ({builtin})")
    rss = f"import resource, {host}\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
    rss_bare, rss_plugged = inner((rss, bare), (rss, env), runs=1)
    add(f"max RSS after import {host}, no plugins (bytes)", rss_bare)
    add(f"max RSS after import {host}, N plugins (bytes)", rss_plugged, f"max RSS after import {host}, no plugins (bytes)")
    return rows


def render(n: int, rows: list[tuple[str, float, str]]) -> str:
    values = {name: seconds for name, seconds, _ in rows}
    lines = [f"### N = {n} distributions ({n * IDS_PER_DIST} env ids)", "", "| measurement | median | vs | ratio |", "| --- | --- | --- | --- |"]
    for name, value, versus in rows:
        shown = f"{value / 2**20:.1f} MiB" if "bytes" in name else f"{value * 1e3:.2f} ms"
        ratio = f"{value / values[versus]:.2f}x" if versus and values.get(versus) else ""
        lines.append(f"| {name} | {shown} | {versus} | {ratio} |")
    return "\n".join(lines) + "\n"


def targets(host: str, results: dict[int, list[tuple[str, float, str]]]) -> str:
    """The issue's targets, each a ratio of rows measured in this run; a size not run is left out."""
    values = {n: {name: seconds for name, seconds, _ in rows} for n, rows in results.items()}
    attach = "gymplug: register all ids into the host (attach)"
    bare, plugged = f"python -c 'import {host}', no plugins, hook off", f"python -c 'import {host}', gymplug + N plugins"
    lines = ["### Targets", "", "| target | measured | goal | met |", "| --- | --- | --- | --- |"]

    def add(what: str, measured: float, goal: str, met: bool, unit: str = "x") -> None:
        lines.append(f"| {what} | {measured:.2f}{unit} | {goal} | {'yes' if met else 'no'} |")

    if 1000 in values:
        v = values[1000]
        for kind, row in (("warm", WARM), ("cold", COLD)):
            add(f"discovery ({kind}) at N = 1000 / floor", v[row] / v[FLOOR], "<= 2x", v[row] <= 2 * v[FLOOR])
            speedup = v["importlib_metadata.entry_points(group=...)"] / v[row]
            add(f"importlib_metadata.entry_points / discovery ({kind}) at N = 1000", speedup, ">= 5x", speedup >= 5)
        rss = (v[f"max RSS after import {host}, N plugins (bytes)"] - v[f"max RSS after import {host}, no plugins (bytes)"]) / 1e6
        add("resident memory at N = 1000 above N = 0", rss, "<= 10 MB", rss <= 10, " MB")
        if host == "gym":
            eager = v["python -c 'import gym', gym's own eager loader, N legacy plugins"] / v[plugged]
            add("gym's eager loader / gymplug, import gym at N = 1000", eager, "far above 1x", eager > 2)
    if 100 in values and 1000 in values:
        per_id = (values[1000][attach] / (1000 * IDS_PER_DIST)) / (values[100][attach] / (100 * IDS_PER_DIST))
        add("registration cost per id, 10,000 ids / 1,000 ids", per_id, "<= 1.3x", per_id <= 1.3)
    if 100 in values:
        v = values[100]
        add(f"import {host} with N = 100 / bare host", v[plugged] / v[bare], "<= 1.10x", v[plugged] <= 1.10 * v[bare])
        cold = v[f"{plugged}, cache off"]
        add(f"import {host} with N = 100, cache off / bare host", cold / v[bare], "<= 1.10x", cold <= 1.10 * v[bare])
    for n, v in sorted(values.items()):
        hook = v["python -c pass, hook on"] / v["python -c pass, hook off"]
        add(f"python -c pass, hook on / off (N = {n})", hook, "<= 1.02x", hook <= 1.02)
        make = v["first make of a plugin env (Form A)"] / v["first make of a built-in (CartPole-v1)"]
        add(f"first make, plugin / built-in (N = {n})", make, "<= 1.05x", make <= 1.05)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000", help="comma-separated N (default 1,100,1000)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per measurement (default 5)")
    parser.add_argument("--host", default="gymnasium", choices=sorted(GROUP))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gymplug-bench-"))
    try:
        print(f"python {sys.version.split()[0]}, host {args.host}, {args.runs} runs per row, medians\n")
        results = {}
        for n in (int(s) for s in args.sizes.split(",")):
            results[n] = measure(n, args.host, args.runs, root)
            print(render(n, results[n]), flush=True)
        print(targets(args.host, results))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
