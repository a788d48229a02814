"""Real packages that register their environments when imported, learned by gymplug on a plain ``make(id)``.

They declare no entry point in Gymnasium's group (highway-env declares one in
``gymnasium.envs.__root__``, a group no host reads), so only learning finds them: each test gives a
fresh ``GYMPLUG_CACHE_DIR`` to processes of the tox environment's Python, which has them installed.
Runs in ``tox run -e ecosystem`` (GYMPLUG_TEST_ECOSYSTEM=1); skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from helpers import NEUTRAL_CWD, clean_env, run

pytestmark = [
    pytest.mark.ecosystem,
    pytest.mark.skipif(os.environ.get("GYMPLUG_TEST_ECOSYSTEM") != "1", reason="set by tox run -e ecosystem"),
]

TIMEOUT = 180  # seconds for one subprocess: learning every package takes about two


class Package(NamedTuple):
    """One installed distribution, its top-level module, an id it registers, what it imports by itself."""

    dist: str
    module: str
    env_id: str
    brings: frozenset = frozenset()


PACKAGES = [
    Package("minigrid", "minigrid", "MiniGrid-Empty-5x5-v0"),
    Package("flappy-bird-gymnasium", "flappy_bird_gymnasium", "FlappyBird-v0"),
    Package("highway-env", "highway_env", "highway-fast-v0"),
    # Fetch* fails in its own __init__ with mujoco 4 (an assert in gymnasium_robotics.utils.mujoco_utils)
    Package("gymnasium-robotics", "gymnasium_robotics", "PointMaze_UMaze-v3", frozenset({"pettingzoo"})),
    # Requires gymnasium only in extras ("vector", "xla", "test"), and gymnasium names it in its "atari" extra: a
    # source through that extra (see gymplug/_learning/_sources.py).
    Package("ale-py", "ale_py", "ALE/Pong-v5"),
    # Registers in its envs submodule only: its top-level import registers nothing.
    Package("tetris-gymnasium", "tetris_gymnasium", "tetris_gymnasium/Tetris"),
]
ALE = PACKAGES[4]
# Its License holds a whole licence before its Requires-Dist; its env needs a DataFrame to be made: its spec is enough.
TRADING = Package("gym-trading-env", "gym_trading_env", "TradingEnv")
# What gymplug/_learning/_scan.py must find in the real packages (read, never imported): where each registers.
# tetris-gymnasium registers in a submodule only; gym-trading-env's License holds a whole licence, CRLF-ended,
# before its Requires-Dist; ale-py's __init__ calls register_v5_envs(), defined in ale_py.registration.
REGISTERS_IN = {
    "minigrid": ("", ("minigrid",)),
    "highway-env": ("", ("highway_env",)),
    "ale-py": ("extra", ("ale_py", "ale_py.registration")),
    "tetris-gymnasium": ("", ("tetris_gymnasium.envs",)),
    "gym-trading-env": ("", ("gym_trading_env",)),
}
# Every top-level module of the installed sources: the user's process must import none but the provider's.
WATCHED = sorted({p.module for p in PACKAGES} | {TRADING.module, "pettingzoo"})
REPORT = f"""
import json, sys
print(json.dumps(sorted({{m.partition(".")[0] for m in sys.modules}} & {set(WATCHED)!r})))
"""


def python(code: str, cache: Path, **extra: str) -> Any:
    return run([sys.executable, "-c", code], env={"GYMPLUG_CACHE_DIR": str(cache), **extra}, timeout=TIMEOUT, check=False)


def imported(code: str, cache: Path, **extra: str) -> list[str]:
    """Run code in a fresh process; the watched modules it imported."""
    proc = python(code + REPORT, cache, **extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def gymplug(*args: str, cache: Path, python: Path = Path(sys.executable)) -> Any:
    proc = run([python, "-m", "gymplug", *args, "--json"], env={"GYMPLUG_CACHE_DIR": str(cache)}, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def make(env_id: str) -> str:
    return f"import gymnasium\nenv = gymnasium.make({env_id!r})\nenv.reset(seed=0)\nenv.close()\n"


@pytest.mark.parametrize("package", PACKAGES, ids=[p.dist for p in PACKAGES])
def test_a_plain_make_learns_and_imports_only_the_provider(package: Package, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert imported(make(package.env_id), cache) == sorted({package.module} | package.brings)
    rows = [r for r in gymplug("list", "--no-import", cache=cache)["envs"] if r["distribution"] == package.dist]
    assert package.env_id in {r["id"] for r in rows}
    assert {(r["status"], r["form"], r["version"]) for r in rows} == {("learned", "import", metadata.version(package.dist))}
    # A second process reads the store, and again imports the provider only.
    assert imported(make(package.env_id), cache) == sorted({package.module} | package.brings)


def test_the_spec_of_a_learned_id_is_read_without_importing_its_package(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code = f"import gymnasium\nassert 'Typo-v0' not in gymnasium.registry\nspec = gymnasium.spec({TRADING.env_id!r})\n"
    assert imported(code, cache) == []  # learned in a child; the spec is the placeholder
    assert imported(code + "print(spec.entry_point)", cache) == []
    proc = python(code + "print(spec.entry_point)", cache)
    assert proc.stdout.splitlines()[0].startswith("gym_trading_env")


def test_index_reports_every_package(tmp_path: Path) -> None:
    sources = {s["distribution"]: s for s in gymplug("index", cache=tmp_path / "cache")["sources"]}
    for package in PACKAGES:
        source = sources[package.dist]
        assert source["error"] is None and {m.partition(".")[0] for m in source["modules"]} == {package.module}, source
        assert source["version"] == metadata.version(package.dist)
        assert package.env_id in source["ids"]


@pytest.mark.parametrize("package", PACKAGES, ids=[p.dist for p in PACKAGES])
def test_the_module_id_form_works_without_learning(package: Package, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    off = python(make(package.env_id), cache, GYMPLUG_LEARN="0")
    assert off.returncode != 0 and "gymnasium.error" in off.stderr  # nothing else makes the plain id work
    code = make(f"{package.module}:{package.env_id}")
    assert imported(code, cache, GYMPLUG_LEARN="0") == sorted({package.module} | package.brings)
    assert imported(code, tmp_path / "learning") == sorted({package.module} | package.brings)


def test_ale_py_by_its_module_name(tmp_path: Path) -> None:
    """The host's own ways in work as always (a plain make of its ids is learning's, through gymnasium[atari])."""
    cache = tmp_path / "cache"
    assert imported(make(f"{ALE.module}:{ALE.env_id}"), cache, GYMPLUG_LEARN="0") == [ALE.module]
    assert imported(f"import gymnasium, ale_py\ngymnasium.register_envs(ale_py)\n{make(ALE.env_id)}", cache) == [ALE.module]


def test_what_index_learned_serves_a_python_of_another_name(tmp_path: Path) -> None:
    """A venv's `python` and `python3` are one environment: `gymplug index` run by either (pip writes
    `python3` in the script's first line when run as `pip`) learns for a program run by the other."""
    here = Path(sys.executable)
    other = here.with_name("python3" if here.name != "python3" else "python")
    cache = tmp_path / "cache"
    assert "minigrid" in {s["distribution"] for s in gymplug("index", cache=cache, python=other)["sources"]}
    proc = run([here, "-c", make(PACKAGES[0].env_id)], env={"GYMPLUG_CACHE_DIR": str(cache), "GYMPLUG_LEARN": "0"}, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr


def test_async_vector_workers_make_a_learned_id(tmp_path: Path) -> None:
    """Each worker is a new process: it finds the id in the store its parent wrote."""
    code = "import gymnasium\nv = gymnasium.make_vec('FlappyBird-v0', num_envs=2, vectorization_mode='async')\nv.reset(seed=0)\nv.close()\n"
    assert imported(code, tmp_path / "cache") == ["flappy_bird_gymnasium"]


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    """`gymplug list --no-import | head`: the learned ids make a table larger than a pipe holds."""
    cache = tmp_path / "cache"
    gymplug("index", cache=cache)
    args = [sys.executable, "-m", "gymplug", "list", "--no-import"]
    env = clean_env({"GYMPLUG_CACHE_DIR": str(cache)})
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=NEUTRAL_CWD) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            assert proc.stdout.readline().startswith(b"ID")
            proc.stdout.close()
            proc.wait(timeout=TIMEOUT)
            err = proc.stderr.read().decode()
        finally:
            proc.kill()
    # 141 = 128 + SIGPIPE, the shell's code for a writer whose reader left; -13: killed by SIGPIPE
    assert "Error" not in err and proc.returncode in (0, -13, 141), (proc.returncode, err)


def test_the_real_packages_are_sources_and_are_read_where_they_register() -> None:
    """Each rule of _sources.py and the scan of _scan.py on the real packages, in a process that imports none."""
    code = """
import json, sys
from gymplug._learning._sources import find_sources
from gymplug._learning._scan import registration_modules
usable, _ = find_sources("gymnasium", sys.path)
found = {s.key: (s.via, registration_modules(s, "gymnasium")) for s in usable}
print(json.dumps({"found": found, "imported": sorted({m.partition(".")[0] for m in sys.modules})}))
"""
    proc = python(code, NEUTRAL_CWD / "unused-cache")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    found = {k: (via, None if modules is None else tuple(modules)) for k, (via, modules) in data["found"].items()}
    assert {k: found.get(k) for k in REGISTERS_IN} == REGISTERS_IN
    for package in PACKAGES:  # they register when imported: the scan must not say that no child is needed
        via, modules = found[package.dist]
        assert modules is None or package.module in modules, (package.dist, modules)
    assert not set(data["imported"]) & (set(WATCHED) | {"tetris_gymnasium", "gym_trading_env", "gymnasium"})
