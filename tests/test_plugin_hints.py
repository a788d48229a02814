"""Registration plugins (Form B) are learned in-process when they first load; later processes load
only the plugin known to provide an id, and a miss that no plugin explains loads none of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import HOST

pytestmark = pytest.mark.integration

ROOT_MODULES = ("gp_rootlegacy", "gp_rootshadow", "gp_badhooks")
# The root-namespace plugins of the fixtures for this host (gp_badhooks declares gymnasium.envs only).
ROOTS = ["gp_badhooks", "gp_rootlegacy", "gp_rootshadow"] if HOST == "gymnasium" else ["gp_rootlegacy", "gp_rootshadow"]


def run(venv, tmp_path: Path, canary, code: str, **extra: str):
    env = {**canary.env, "GYMPLUG_CACHE_DIR": str(tmp_path / "cache"), **extra}
    return venv.run_python(f"import {HOST}\n{code}", env=env, check=False, timeout=240)


def root_imports(canary) -> list[str]:
    return sorted({m.split(".")[0] for m in canary.modules() if m.startswith(ROOT_MODULES)})


def test_root_plugins_are_learned_once_then_a_miss_loads_none(venv, tmp_path: Path, canary) -> None:
    first = run(venv, tmp_path, canary, f"print('Nothing-v0' in {HOST}.envs.registry)")
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["False"]
    assert root_imports(canary) == ROOTS  # unknown yet: every root plugin loads
    canary.path.unlink()
    second = run(venv, tmp_path, canary, f"print('Nothing-v0' in {HOST}.envs.registry, 'CartPole' in {HOST}.envs.registry)")
    assert second.stdout.split() == ["False", "False"], second.stderr
    assert root_imports(canary) == []  # learned: no root plugin provides these


def test_a_learned_id_loads_only_its_plugin(venv, tmp_path: Path, canary) -> None:
    run(venv, tmp_path, canary, f"'Nothing-v0' in {HOST}.envs.registry")  # learn
    canary.path.unlink()
    made = run(venv, tmp_path, canary, f"print({HOST}.spec('RootThing-v1').id)")
    assert made.stdout.split() == ["RootThing-v1"], made.stderr
    assert root_imports(canary) == ["gp_rootlegacy"]
    canary.path.unlink()
    # An unversioned lookup (as make("RootShadowOk") does first) loads the plugin of any of its versions.
    code = f"'RootShadowOk' in {HOST}.envs.registry\nprint('RootShadowOk-v0' in list({HOST}.envs.registry.keys()))"
    unversioned = run(venv, tmp_path, canary, code)
    assert unversioned.stdout.split() == ["True"], unversioned.stderr
    assert root_imports(canary) == ["gp_rootshadow"]


def test_learning_off_loads_every_root_plugin_as_before(venv, tmp_path: Path, canary) -> None:
    run(venv, tmp_path, canary, f"'Nothing-v0' in {HOST}.envs.registry")  # learn
    canary.path.unlink()
    run(venv, tmp_path, canary, f"'Nothing-v0' in {HOST}.envs.registry", GYMPLUG_LEARN="0")
    assert root_imports(canary) == ROOTS


def test_a_provider_that_does_not_deliver_falls_back_to_the_rest(venv, tmp_path: Path, canary) -> None:
    run(venv, tmp_path, canary, f"'Nothing-v0' in {HOST}.envs.registry")  # learn
    (store,) = (tmp_path / "cache").glob("learned-*.json")
    data = json.loads(store.read_text())
    entries = data["hosts"][HOST]
    shadow = next(key for key in entries if key.startswith("gp-fixture-root-shadow#"))
    legacy = next(key for key in entries if key.startswith("gp-fixture-rootlegacy#"))
    # A Form B plugin's entry has no metadata folder: "".
    entries[shadow][""]["ids"], entries[legacy][""]["ids"] = ["RootThing-v0"], []  # stale: the wrong provider
    store.write_text(json.dumps(data))
    canary.path.unlink()
    made = run(venv, tmp_path, canary, f"print({HOST}.spec('RootThing-v0').id)")
    assert made.stdout.split() == ["RootThing-v0"], made.stderr
    assert root_imports(canary) == ROOTS


def test_an_id_refused_in_an_earlier_process_says_why_in_a_fresh_one(venv, tmp_path: Path, canary) -> None:
    # gp-fixture-hooks' plugin of namespace Hooks registers Elsewhere/Gamma-v0, which gymplug refuses.
    run(venv, tmp_path, canary, f"'Hooks/Alpha-v0' in {HOST}.envs.registry")  # the Hooks plugin loads, and is learned
    proc = run(venv, tmp_path, canary, f"{HOST}.make('Elsewhere/Gamma-v0')")
    assert "PluginLoadError" in proc.stderr and "outside the namespace 'Hooks'" in proc.stderr, proc.stderr


def test_a_miss_loads_only_the_sources_not_learned_yet(venv, tmp_path: Path, canary) -> None:
    run(venv, tmp_path, canary, f"'Nothing-v0' in {HOST}.envs.registry")  # learn
    (store,) = (tmp_path / "cache").glob("learned-*.json")
    data = json.loads(store.read_text())
    entries = data["hosts"][HOST]
    del entries[next(key for key in entries if key.startswith("gp-fixture-rootlegacy#"))]  # as if never loaded
    store.write_text(json.dumps(data))
    canary.path.unlink()
    run(venv, tmp_path, canary, f"'Nothing-v0' in {HOST}.envs.registry")
    assert root_imports(canary) == ["gp_rootlegacy"]  # learned now; the others are known not to have it
