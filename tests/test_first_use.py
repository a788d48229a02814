"""The first use of a host's own id attaches nothing, and says what attaching would have said.

``make(<built-in>)`` reads every registry value for the host's "out of date" warning, which used to
attach gymplug. Before attaching, the wrapped ``find_highest_version`` answers over the host's own ids
when no plugin declares an id that holds the name; these tests run real processes (the installed
startup hook, real dist-info folders on PYTHONPATH) and compare each answer with the one given after
attaching first.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from helpers import HOST, run

CODE = """
import json, sys, warnings
warnings.simplefilter("always")
import {host}
{before}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    env = {host}.{call}
registration = sys.modules["{host}.envs.registration"]
print(json.dumps({{
    "warnings": sorted(str(w.message) for w in caught),
    "attached": type(registration.registry).__name__ != "PendingRegistry",
    "manager": "gymplug._manager" in sys.modules,
    "modules": sorted(name for name in sys.modules if name.startswith("gymplug")),
}}))
"""
ATTACH_FIRST = "len({host}.envs.registry)"


def plugin_site(root: Path, ids: list[str]) -> Path:
    """One distribution declaring ``ids`` (Form A), as if installed a minute ago (so that it is cached)."""
    site = root / "site"
    package = site / "first_use_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f"import {HOST}\nfrom {HOST} import spaces\nclass Env({HOST}.Env):\n"
        "    observation_space = action_space = spaces.Discrete(2)\n")
    info = site / "first_use_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: first-use-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{HOST}.envs]\n" + "".join(f"{i} = first_use_plugin:Env\n" for i in ids))
    past = time.time() - 60
    for path in [site, *site.rglob("*")]:
        os.utime(path, (past, past))
    return site


def first_use(site: Path, cache: Path, call: str, before: str = "") -> dict:
    env = {"PYTHONPATH": str(site), "GYMPLUG_CACHE_DIR": str(cache)}
    code = CODE.format(host=HOST, call=call, before=before.format(host=HOST))
    proc = run([sys.executable, "-c", code], env=env, timeout=120)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize(
    "ids, attaches",
    [
        (["Other-v0"], False),  # no plugin id holds the name: nothing attaches
        (["CartPole-v9"], True),  # a newer version: the host warns that CartPole-v1 is out of date
        (["CartPole-v0"], True),  # an older one: no warning, but only attaching can tell
        (["Ns/CartPole-v9"], True),  # another namespace: no warning
    ],
)
def test_a_built_in_made_first_warns_as_after_attaching(
    tmp_path: Path, ids: list[str], attaches: bool, cached: bool
) -> None:
    site = plugin_site(tmp_path, ids)
    cache = tmp_path / "cache"
    if cached:
        first_use(site, cache, "spec('CartPole-v1')", ATTACH_FIRST)  # fills the discovery cache
    plain = first_use(site, cache, "make('CartPole-v1')")
    attached = first_use(site, cache, "make('CartPole-v1')", ATTACH_FIRST)
    assert plain["warnings"] == attached["warnings"]
    assert attached["attached"] and plain["attached"] is attaches and plain["manager"] is attaches
    if ids == ["CartPole-v9"]:
        assert any("v9" in w for w in plain["warnings"]), plain


def test_a_spec_of_a_built_in_attaches_nothing_and_a_plugin_s_make_still_works(tmp_path: Path) -> None:
    site = plugin_site(tmp_path, ["FirstUse-v0"])
    cache = tmp_path / "cache"
    found = first_use(site, cache, "spec('CartPole-v1')")
    assert not found["attached"] and not found["manager"]
    made = first_use(site, cache, "make('FirstUse-v0')", "{host}.make('CartPole-v1')")
    assert made["attached"] and made["warnings"] == first_use(site, cache, "make('FirstUse-v0')")["warnings"]


def test_a_built_in_whose_make_fails_raises_as_before(tmp_path: Path) -> None:
    site = plugin_site(tmp_path, ["FirstUse-v0"])
    code = (f"import {HOST}\ntry:\n    {HOST}.make('CartPole-v1', no_such_argument=1)\n"
            "except TypeError as exc:\n    print(type(exc).__name__, 'no_such_argument' in str(exc))\n")
    env = {"PYTHONPATH": str(site), "GYMPLUG_CACHE_DIR": str(tmp_path / "cache")}
    out = run([sys.executable, "-c", code], env=env, timeout=120).stdout.split()
    assert out == ["TypeError", "True"]


def test_the_first_make_of_a_built_in_imports_only_the_hook_and_the_cache_s_reader(tmp_path: Path) -> None:
    """What the startup hook and the version warning's answer import, and nothing else: not the other host's
    facts, not discovery, not the manager (each module is import time that every user of a host pays)."""
    site = plugin_site(tmp_path, ["Other-v0"])
    cache = tmp_path / "cache"
    first_use(site, cache, "spec('CartPole-v1')", ATTACH_FIRST)  # fills the discovery cache
    found = first_use(site, cache, "make('CartPole-v1')")
    hook = {"_activation", "_locks", "_hosts", "_hosts._facts", f"_hosts._{HOST}", "_patch", "_registry", "_settings"}
    reader = {"_cache", "_log", "_private", "_version"}
    assert found["modules"] == sorted(["gymplug", *(f"gymplug.{name}" for name in hook | reader)])
