"""Every host release gymplug supports: its names as the facts give them, and every form made lazily in a real venv.

The smoke test runs per release of the host under test: the one tox pins (``GYMPLUG_TEST_HOST_VERSION``,
the ``gymnasium026`` and ``gymnasium029`` environments) and those ``GYMPLUG_TEST_RELEASES`` adds, e.g.
``GYMPLUG_TEST_RELEASES="1.0.0 1.1.1" tox run -e gymnasium -- tests/test_host_releases.py``.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Optional

import pytest

from helpers import FIXTURES, HOST, HOST_VERSION, ROOT, Venv, build_wheels, host_requirements
from gymplug._hosts import facts

LEARN = FIXTURES.parent / "learn"
# The names each release has, as read in its source (independent of gymplug's facts):
# release prefix -> (function that imports "module:attr", eager entry-point loader run at import)
NAMES: dict[str, dict[tuple[int, ...], tuple[str, Optional[str]]]] = {
    "gym": {(0, 26): ("load", "load_env_plugins")},
    "gymnasium": {
        (0, 26): ("load", "load_env_plugins"),
        (0, 27): ("load", "load_env_plugins"),
        (0, 28): ("load_env_creator", "load_plugin_envs"),
        (0, 29): ("load_env_creator", "load_plugin_envs"),
        (1,): ("load_env_creator", None),
    },
}
EAGER_NAMES = ("load_env_plugins", "load_plugin_envs")


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def expected_names(host: str, version: str) -> tuple[str, Optional[str]]:
    numbers = release(version)
    for prefix, names in NAMES[host].items():
        if numbers[: len(prefix)] == prefix:
            return names
    raise AssertionError(f"{host} {version} is not a release this test knows; add its names to NAMES")


def test_facts_name_the_installed_release():
    registration = importlib.import_module(facts(HOST).registration_module)
    version = importlib.import_module(HOST).__version__
    load, eager = expected_names(HOST, version)
    assert facts(HOST).load_name_in(registration) == load
    assert facts(HOST).eager_loader_in(registration) == eager
    assert facts(HOST).eager_loader == eager  # what the learning child turns off: the imported release's name


@pytest.mark.parametrize(
    ("host", "version", "numpy", "problem"),
    [
        ("gymnasium", "0.26.3", "2.0.0",
         "gymnasium 0.26.3 does not work with numpy 2.0.0: pip install 'numpy<2' (or move to gymnasium>=0.27)"),
        ("gymnasium", "0.26.3", "1.26.4", None),
        ("gymnasium", "0.27.1", "2.2.6", None),
        ("gymnasium", "1.4.0", "2.4.6", None),
        ("gymnasium", None, "2.0.0", None),  # the release is unknown: nothing to say
        ("gymnasium", "0.26.3", "9" * 5000, None),  # versions come from metadata: no release, no crash
        ("gymnasium", "9" * 5000, "2.0.0", None),
        ("gym", "0.26.2", "2.0.0",
         "gym 0.26.2 does not work with numpy 2.0.0: pip install 'numpy<2' (or move to gymnasium)"),
        ("gym", None, "2.1.0", "gym does not work with numpy 2.1.0: pip install 'numpy<2' (or move to gymnasium)"),
        ("gym", "0.26.2", "1.26.4", None),
    ],
)
def test_numpy_problem_by_release(host, version, numpy, problem):
    assert facts(host).numpy_problem(numpy, version) == problem


def test_old_gymnasium_venvs_get_the_numpy_they_need():
    assert host_requirements("gymnasium", "0.26.3") == ["gymnasium==0.26.3", "numpy<2"]
    assert host_requirements("gymnasium", "0.29.1") == ["gymnasium==0.29.1"]
    assert host_requirements("gymnasium") == list(facts("gymnasium").requirements)


def test_hosts_page_lists_every_release_tox_tests():
    page = (ROOT / "docs" / "hosts.md").read_text()
    table = page.split("## Tested versions", 1)[1].split("\n## ", 1)[0]
    pinned = re.findall(r"GYMPLUG_TEST_(?:HOST_VERSION|RELEASES) = ([\d. ]+)", (ROOT / "tox.ini").read_text())
    versions = {v for value in pinned for v in value.split()}
    assert {"0.26.3", "0.27.1", "0.28.1", "0.29.1"} <= versions
    for version in versions:
        assert re.search(rf"\| Gymnasium [^|]*\b{re.escape(version)}\b", table), version
    assert "docs/hosts.md" in (ROOT / "README.md").read_text()


def releases() -> list[str]:
    """The releases of HOST to prove in fresh venvs: the one pinned for this run, then GYMPLUG_TEST_RELEASES."""
    more = os.environ.get("GYMPLUG_TEST_RELEASES", "").replace(",", " ").split()
    return [v for v in dict.fromkeys([HOST_VERSION, *more]) if v]


@pytest.fixture(scope="module")
def learn_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    house = tmp_path_factory.mktemp("learn-root-wheels")
    build_wheels([LEARN / "gp-learn-base", LEARN / "gp-learn-root"], house, tmp_path_factory.mktemp("learn-root-src"))
    return house


# Run in the venv: each step's new canary lines, the eager loaders' owners, and what the specs say.
SCRIPT = """
import json, os, sys
canary = os.environ["GYMPLUG_CANARY"]
seen = 0
def new():
    global seen
    lines = open(canary).read().split() if os.path.exists(canary) else []
    lines, seen = lines[seen:], len(lines)
    return sorted(lines)
import {host} as host
out = {{"import": new(), "eager": {{}}, "learn_before": "gp_learn_root" in sys.modules}}
for name in {eager_names!r}:
    if hasattr(host.envs.registration, name):
        out["eager"][name] = getattr(host.envs.registration, name).__module__
for env_id in ("canary-v0", "Hooks/Alpha-v0", "RootThing-v1", "LearnRoot-v1"):
    env = host.make(env_id)
    env.reset(seed=0)
    out[env_id] = [new(), env.spec.max_episode_steps, type(env.unwrapped).__module__]
    env.close()
print(json.dumps(out))
"""


@pytest.mark.integration
@pytest.mark.smoke
@pytest.mark.parametrize("version", releases())
def test_every_form_is_lazy_on_this_release(version, tmp_path, wheelhouse, learn_wheelhouse, canary):
    env = Venv.create(tmp_path / "env")
    env.pip("install", "pluggy>=1.2", *host_requirements(HOST, version))
    plugins = ["gymplug", "gp-fixture-base", "gp-fixture-canary", "gp-fixture-hooks", "gp-fixture-rootlegacy"]
    env.install_wheels(wheelhouse, plugins)
    env.install_wheels(learn_wheelhouse, ["gp-learn-base", "gp-learn-root"])
    # The host's own loader would import every entry at `import host`; on 0.26-0.29 it raises on the hook module.
    out = env.json(SCRIPT.format(host=HOST, eager_names=EAGER_NAMES), env=canary.env)
    _, eager = expected_names(HOST, version)
    assert out["eager"] == ({eager: "gymplug._patch"} if eager else {})  # replaced by gymplug, never run
    assert out["import"] == []
    assert out["learn_before"] is False
    suffix = "gym" if HOST == "gym" else "gymnasium"
    # Form A: the entry's module only (not gp_canary.other_*, not another plugin)
    assert out["canary-v0"] == [sorted(["gp_canary", f"gp_canary.envs_{suffix}"]), None, f"gp_canary.envs_{suffix}"]
    # Form B: the namespace's hook plugin and the root legacy function (root plugins load on any miss)
    hooks = ["gp_hooks", f"gp_hooks.plugin_{suffix}", f"gp_hooks.envs_{suffix}", "gp_rootlegacy", "gp_rootlegacy.reg"]
    assert out["Hooks/Alpha-v0"] == [sorted(hooks), 7, f"gp_hooks.envs_{suffix}"]
    assert out["RootThing-v1"] == [[f"gp_rootlegacy.envs_{suffix}"], 5, f"gp_rootlegacy.envs_{suffix}"]
    # Learned: imported once in the learning child (no other plugin there: the host's loader was off), once here
    assert out["LearnRoot-v1"] == [["gp_learn_root", "gp_learn_root"], None, "gp_learn_root"]
