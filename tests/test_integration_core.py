"""The core, end to end: real wheels in a real virtual environment, driven through subprocesses."""

from __future__ import annotations

import re

import pytest

from helpers import HOST, HOST_EAGER, HOST_RELEASE, run

pytestmark = pytest.mark.integration

# Code that every snippet starts with: the host under test, imported the way users do.
PRELUDE = f"import json, sys\nimport {HOST} as host\n"
FIXTURE_PACKAGES = ("gp_", "gym_foo", "gymplug_gridworlds")


def plugin_modules_snippet() -> str:
    return f"sorted(m for m in sys.modules if m.startswith({FIXTURE_PACKAGES!r}))"


def test_make_needs_no_import_in_user_code(venv):
    out = venv.json(
        PRELUDE
        + "env = host.make('foo-v0', render_mode='rgb_array')\n"
        + "obs, info = env.reset(seed=0)\n"
        + "step = env.step(env.action_space.sample())\n"
        + "print(json.dumps([len(step), bool(env.observation_space.contains(obs)), list(env.render().shape)]))"
    )
    assert out[0] == 5 and out[1]
    assert len(out[2]) == 3 and out[2][2] == 3


def test_importing_the_host_imports_no_plugin_code(venv, canary):
    out = venv.json(PRELUDE + f"print(json.dumps({plugin_modules_snippet()}))", env=canary.env)
    assert out == []
    assert canary.modules() == []


def test_make_imports_only_that_entry_points_modules(venv, canary):
    out = venv.json(
        PRELUDE + f"host.make('canary-v0').reset(seed=0)\nprint(json.dumps({plugin_modules_snippet()}))",
        env=canary.env,
    )
    assert out == ["gp_canary", f"gp_canary.envs_{HOST}"]
    assert canary.modules() == ["gp_canary", f"gp_canary.envs_{HOST}"]


def test_foo_make_imports_only_gym_foo_of_this_host(venv):
    out = venv.json(PRELUDE + f"host.make('foo-v0')\nprint(json.dumps({plugin_modules_snippet()}))")
    assert f"gym_foo.envs.{HOST}_env" in out
    assert all(m.startswith("gym_foo") for m in out), out
    other = "gym" if HOST == "gymnasium" else "gymnasium"
    assert f"gym_foo.envs.{other}_env" not in out


def test_namespaced_form_a_id(venv):
    out = venv.json(PRELUDE + "e = host.make('Canary/Space-v2'); print(json.dumps([e.spec.id, e.spec.namespace]))")
    assert out == ["Canary/Space-v2", "Canary"]


def test_legacy_registration_function_gets_its_namespace_lazily(venv, canary):
    out = venv.json(
        PRELUDE
        + "before = 'gp_legacy' in sys.modules\n"
        + "e = host.make('Legacy/Pong-v5')\n"
        + "print(json.dumps([before, e.spec.id, e.spec.max_episode_steps, e.spec.kwargs.get('difficulty'), 'gp_legacy.registration' in sys.modules]))",
        env=canary.env,
    )
    assert out == [False, "Legacy/Pong-v5", 100, 1, True]
    assert "gp_legacy.registration" in canary.modules()


def test_root_legacy_plugin_loads_on_any_miss(venv):
    out = venv.json(PRELUDE + "e = host.make('RootThing-v1'); print(json.dumps(e.spec.id))")
    assert out == "RootThing-v1"


def test_pluggy_hook_plugin_with_per_id_options(venv):
    out = venv.json(
        PRELUDE + "e = host.make('Hooks/Alpha-v0'); print(json.dumps([e.spec.max_episode_steps, e.spec.kwargs, host.spec('Hooks/Beta-v0').reward_threshold]))"
    )
    assert out == [7, {"n": 3}, 5.0]


def test_gridworlds_example_plugin(venv, canary):
    if HOST != "gymnasium":
        pytest.skip("gymplug-gridworlds is a Gymnasium plugin")
    out = venv.json(
        PRELUDE
        + "before = 'gymplug_gridworlds' in sys.modules\n"
        + "e = host.make('Grid/Maze-v0', render_mode='ansi')\n"
        + "e.reset(seed=0)\n"
        + "print(json.dumps([before, e.spec.max_episode_steps, e.spec.reward_threshold, e.render().count('A'), host.spec('Grid/Corridor-v1').max_episode_steps]))"
    )
    assert out == [False, 200, 0.9, 1, 30]


def test_plugin_ids_outside_their_namespace_are_refused(venv):
    out = venv.json(
        PRELUDE
        + "import gymplug\nhost.make('Hooks/Alpha-v0')\nm = gymplug.get_manager(host.__name__)\n"
        + "print(json.dumps([[d.dist.name, i, r] for d, i, r in m.rejected if d.dist.name == 'gp-fixture-hooks']))"
    )
    assert out == [["gp-fixture-hooks", "Elsewhere/Gamma-v0", "outside the namespace 'Hooks' of its entry point"]]


def test_lookup_miss_in_registry_loads_namespace(venv):
    out = venv.json(PRELUDE + "from gymplug import get_manager\nprint(json.dumps(['Legacy/Breakout-v5' in host.envs.registry, 'gp_legacy' in sys.modules]))")
    assert out == [True, True]


def test_registry_iteration_loads_nothing(venv, canary):
    venv.run_python(PRELUDE + "ids = list(host.envs.registry.keys()); assert 'foo-v0' in ids and 'canary-v0' in ids", env=canary.env)
    assert canary.modules() == []


def test_time_limit_override_and_host_wrappers(venv):
    out = venv.json(
        PRELUDE
        + "e = host.make('Legacy/Pong-v5', max_episode_steps=3)\n"
        + "e.reset(seed=0)\nn = 0\nwhile True:\n    n += 1\n    *_, term, trunc, _ = e.step(0)\n    if term or trunc: break\n"
        + "print(json.dumps([n, type(e).__name__]))"
    )
    assert out == [3, "TimeLimit"]


def test_did_you_mean_sees_plugin_ids(venv):
    proc = venv.run_python(PRELUDE + "host.make('fooo-v0')", check=False)
    assert proc.returncode == 1
    assert "NameNotFound" in proc.stderr and "Did you mean: `foo`" in proc.stderr


def test_version_suggestions_and_outdated_warning(venv):
    proc = venv.run_python(PRELUDE + "host.make('Legacy/Pong-v9')", check=False)
    assert "VersionNotFound" in proc.stderr and "v5" in proc.stderr
    proc = venv.run_python(PRELUDE + "import warnings\nwarnings.simplefilter('always')\nhost.make('Legacy/Breakout-v4')")
    assert "out of date" in proc.stderr and "v5" in proc.stderr


def test_specs_pickle_with_string_entry_points(venv):
    out = venv.json(
        PRELUDE
        + "import pickle\nids = ['foo-v0', 'Legacy/Pong-v5', 'Hooks/Alpha-v0']\n"
        + "specs = [pickle.loads(pickle.dumps(host.spec(i))) for i in ids]\n"
        + "print(json.dumps([[s.id, s.entry_point] for s in specs]))"
    )
    assert [s[0] for s in out] == ["foo-v0", "Legacy/Pong-v5", "Hooks/Alpha-v0"]
    assert all(isinstance(s[1], str) and ":" in s[1] for s in out)


def test_host_builtin_is_kept_when_a_plugin_declares_it(venv, canary):
    out = venv.json(
        PRELUDE
        + "from gymplug import get_manager\ne = host.make('CartPole-v1')\n"
        + "m = get_manager(host.__name__)\n"
        + "print(json.dumps([type(e.unwrapped).__module__, [d.dist.name for d in m.shadowed['CartPole-v1']], host.make('shadow-ok-v0').spec.id]))",
        env=canary.env,
    )
    assert out[0].startswith(f"{HOST}.envs")
    assert out[1] == ["gp-fixture-shadow"]
    assert out[2] == "shadow-ok-v0"
    assert f"gp_shadow.envs_{HOST}" in canary.modules()  # from shadow-ok-v0 only


# -- failure policy ---------------------------------------------------------------------------


def failing(venv, env_id: str, env=None) -> dict:
    """Make ``env_id`` where it must fail; return what the error says."""
    return venv.json(
        PRELUDE
        + f"""
import gymplug
try:
    host.make({env_id!r})
except Exception as exc:
    cause = exc.__cause__
    print(json.dumps({{
        "types": [c.__module__ + '.' + c.__qualname__ for c in type(exc).__mro__],
        "message": str(exc),
        "notes": getattr(exc, '__notes__', []),
        "cause": None if cause is None else [type(cause).__name__, str(cause)],
        "dists": [d.dist.name for d in getattr(exc, 'declarations', ())],
        "good": host.make('foo-v0').spec.id,
    }}))
else:
    print(json.dumps(None))
""",
        env=env,
    )


def test_broken_import_names_distribution_version_entry_and_cause(venv):
    err = failing(venv, "broken-import-v0")
    assert "gymplug._errors.PluginLoadError" in err["types"] and f"{HOST}.error.Error" in err["types"]
    for part in ("gp-fixture-broken-import", "1.0.0", "broken-import-v0 = gp_broken_import.envs:Env", "this_module_does_not_exist_gymplug"):
        assert part in err["message"]
    assert err["cause"][0] == "ModuleNotFoundError"
    assert err["good"] == "foo-v0"


def test_raising_registration_function(venv):
    err = failing(venv, "BrokenReg/Anything-v0")
    assert "gymplug._errors.PluginLoadError" in err["types"]
    assert "gp-fixture-broken-registration" in err["message"] and "BrokenReg" in err["message"]
    assert err["cause"] == ["RuntimeError", "registration exploded"]
    assert err["good"] == "foo-v0"


def test_two_distributions_one_id(venv):
    err = failing(venv, "clash-v0")
    assert "gymplug._errors.EnvConflictError" in err["types"]
    assert sorted(err["dists"]) == ["gp-fixture-conflict-a", "gp-fixture-conflict-b"]
    assert "gp-fixture-conflict-a" in err["message"] and "gp-fixture-conflict-b" in err["message"]
    out = venv.json(PRELUDE + "print(json.dumps([host.make('clash-a-only-v0').spec.id, host.make('clash-b-only-v0').spec.id]))")
    assert out == ["clash-a-only-v0", "clash-b-only-v0"]


def test_malformed_entry_is_skipped_and_named(venv):
    err = failing(venv, "bad-novalue-v0")
    assert "gymplug._errors.InvalidEntryError" in err["types"]
    assert "gp-fixture-malformed" in err["message"] and "bad-novalue-v0" in err["message"]
    out = venv.json(PRELUDE + "print(json.dumps(host.make('good-v0').spec.id))")
    assert out == "good-v0"


def test_env_init_error_keeps_its_type_and_names_the_plugin(venv):
    err = failing(venv, "init-raises-v0")
    assert err["types"][0] == "builtins.ValueError"
    assert "bad init" in err["message"]
    assert any("gp-fixture-init-raises" in note for note in err["notes"])


def test_registration_that_recurses_into_make_is_reported_not_hung(venv):
    err = failing(venv, "Recur/Self-v0")
    assert "gymplug._errors.PluginLoadError" in err["types"]
    assert "gp-fixture-recursive" in err["message"]


def test_disabled_distribution_runs_no_code(venv, canary):
    env = {**canary.env, "GYMPLUG_DISABLE": "gp-fixture-disabled, some-other-dist"}
    err = failing(venv, "disabled-v0", env=env)
    assert "gymplug._errors.PluginDisabledError" in err["types"]
    assert "GYMPLUG_DISABLE" in err["message"] and "gp-fixture-disabled" in err["message"]
    err = failing(venv, "Disabled/Anything-v0", env=env)
    assert "gymplug._errors.PluginDisabledError" in err["types"]
    venv.run_python(PRELUDE + "import gymplug\ngymplug.load_all()", env=env)
    assert not [m for m in canary.modules() if m.startswith("gp_disabled")]
    # and without the block the same distribution works
    out = venv.json(PRELUDE + "print(json.dumps(host.make('disabled-v0').spec.id))")
    assert out == "disabled-v0"


def test_import_host_survives_every_broken_plugin_and_stays_quiet(venv):
    proc = venv.run_python(PRELUDE + "import gymplug\ngymplug.load_all()\nprint('alive')")
    assert proc.stdout.strip().endswith("alive")
    assert "gymplug" not in proc.stderr


def test_problems_are_logged_through_the_gymplug_logger(venv):
    proc = venv.run_python("import logging\nlogging.basicConfig(level=logging.WARNING)\n" + PRELUDE + "import gymplug\ngymplug.load_all()")
    assert "WARNING:gymplug" in proc.stderr
    assert "gp-fixture-malformed" in proc.stderr and "gp-fixture-broken-registration" in proc.stderr


def test_first_makes_from_many_threads_load_each_plugin_once(venv, canary):
    out = venv.json(
        PRELUDE
        + """
import threading
ids = ['Legacy/Pong-v5', 'Legacy/Breakout-v5', 'Hooks/Alpha-v0', 'canary-v0', 'foo-v0', 'RootThing-v0'] * 3
errors, barrier = [], threading.Barrier(16)
def worker(i):
    barrier.wait()
    try:
        host.make(ids[i % len(ids)]).reset(seed=i)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(errors))
""",
        env=canary.env,
    )
    assert out == []
    modules = canary.modules()
    for name in ("gp_legacy.registration", "gp_hooks", "gp_rootlegacy", "gp_canary"):
        assert modules.count(name) == 1, modules


def test_host_eager_loader_is_replaced(venv):
    if not HOST_EAGER:
        pytest.skip("gym 0.26 and Gymnasium 0.26-0.29 only")
    # the host's own loader would import every entry at `import host`; broken-import would kill it.
    names = ("load_env_plugins", "load_plugin_envs")  # gym and Gymnasium 0.26-0.27, Gymnasium 0.28-0.29
    loaders = f"[getattr(host.envs.registration, n).__module__ for n in {names} if hasattr(host.envs.registration, n)]"
    out = venv.json(PRELUDE + f"print(json.dumps([{loaders}, {plugin_modules_snippet()}]))")
    assert out == [["gymplug._patch"], []]  # the host patch's replacement (gymplug/_patch.py)


def test_pprint_registry_lists_form_b_ids(venv):
    if HOST != "gymnasium" or HOST_RELEASE < (0, 27):
        pytest.skip("Gymnasium 0.27 and later have pprint_registry")
    out = venv.json(PRELUDE + "text = host.pprint_registry(disable_print=True)\nprint(json.dumps(['Pong-v5' in text, 'Alpha-v0' in text, 'foo-v0' in text]))")
    assert out == [True, True, True]


def test_make_vec_spawned_workers(venv):
    if HOST == "gymnasium" and HOST_RELEASE >= (0, 28):  # make_vec is new in 0.28
        code = PRELUDE + (
            "if __name__ == '__main__':\n"
            "    v = host.make_vec('foo-v0', num_envs=2, vectorization_mode='async', vector_kwargs={'context': 'spawn'})\n"
            "    obs, _ = v.reset(seed=0)\n    v.step(v.action_space.sample())\n    v.close()\n    print(json.dumps(list(obs.shape)))\n"
        )
    else:
        code = PRELUDE + (
            "if __name__ == '__main__':\n"
            "    v = host.vector.AsyncVectorEnv([lambda: host.make('foo-v0')] * 2, context='spawn')\n"
            "    obs, _ = v.reset(seed=0)\n    v.step(v.action_space.sample())\n    v.close()\n    print(json.dumps(list(obs.shape)))\n"
        )
    assert venv.json(code) == [2, 2]


def test_spawned_pool_with_autoload_off_and_explicit_import_in_parent(venv, tmp_path):
    if HOST_EAGER:
        pytest.skip("with the hook off, the host's own eager loader runs in the workers; see test_autoload_off_*")
    script = tmp_path / "pool.py"
    script.write_text(
        "import json, multiprocessing as mp\n"
        "import gymplug\n"
        f"import {HOST} as host\n"
        "def rollout(spec):\n"
        "    env = host.make(spec)\n"  # the worker gets the spec; it has no registration code
        "    env.reset(seed=0)\n"
        "    return env.spec.id\n"
        "if __name__ == '__main__':\n"
        "    spec = host.spec('Legacy/Pong-v5')\n"
        "    with mp.get_context('spawn').Pool(2) as pool:\n"
        "        print(json.dumps(pool.map(rollout, [spec, spec])))\n"
    )
    proc = run([venv.python, script], env={"GYMPLUG_AUTOLOAD": "0"})
    assert proc.stdout.strip().splitlines()[-1] == '["Legacy/Pong-v5", "Legacy/Pong-v5"]'


def test_autoload_off_then_explicit_import(venv, canary):
    env = {**canary.env, "GYMPLUG_AUTOLOAD": "0"}
    proc = venv.run_python(PRELUDE + "host.make('foo-v0')", env=env, check=False)
    assert proc.returncode == 1
    if HOST_EAGER:
        # the host's own loader runs every entry at `import host`: one broken plugin kills it.
        assert re.search(r"in load_(env_plugins|plugin_envs)\b", proc.stderr), proc.stderr
        assert "Traceback" in proc.stderr
    else:
        assert "NameNotFound" in proc.stderr
    out = venv.json("import json, gymplug\n" + f"import {HOST} as host\n" + "print(json.dumps(host.make('canary-v0').spec.id))", env=env)
    assert out == "canary-v0"


def test_late_activation_after_host_import(venv):
    if HOST_EAGER:
        pytest.skip("this host cannot be imported before gymplug here: its eager loader meets the broken fixtures")
    out = venv.json(
        PRELUDE + "import gymplug\nprint(json.dumps([host.make('foo-v0').spec.id, host.make('Hooks/Alpha-v0').spec.max_episode_steps]))",
        env={"GYMPLUG_AUTOLOAD": "0"},
    )
    assert out == ["foo-v0", 7]


def test_startup_hook_runs_no_plugin_code(venv, canary):
    venv.run_python("import sys\nassert 'gymplug' not in sys.modules", env=canary.env)
    assert canary.modules() == []


def test_startup_hook_is_installed_and_cheap(venv):
    out = venv.json(
        "import json, sys\n"
        "print(json.dumps([type(sys.meta_path[0]).__name__, 'gymplug' in sys.modules, 'pluggy' in sys.modules]))"
    )
    assert out == ["HostFinder", False, False]
    off = venv.json("import json, sys\nprint(json.dumps(any(type(f).__name__ == 'HostFinder' for f in sys.meta_path)))", env={"GYMPLUG_AUTOLOAD": "0"})
    assert off is False
    files = sorted(p.name for p in venv.site_packages.iterdir() if p.name.startswith("gymplug."))
    assert files == ["gymplug.pth", "gymplug.start"]
