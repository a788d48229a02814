"""In-process tests of the ledger, the claim policy, the loader and the host patch, on a private copy
of the real host's registration module (its own registry; the host's code), undone after each test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest

from helpers import HOST
from inproc import attach, declare

from gymplug._errors import EnvConflictError, PluginLoadError
from gymplug._ledger import Status
from gymplug._registry import LazyRegistry


@pytest.fixture
def plugin_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write modules of plugin code on a temporary sys.path; forget them afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def write(name: str, source: str) -> None:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)

    yield write
    for name in written:
        sys.modules.pop(name, None)


ENV_MODULE = f"""
import {HOST}
class TinyEnv({HOST}.Env):
    observation_space = {HOST}.spaces.Discrete(2)
    action_space = {HOST}.spaces.Discrete(2)
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {{}}
    def step(self, action):
        return 0, 0.0, True, False, {{}}
"""


def test_form_a_ids_are_registered_without_import_and_made_by_the_host(registration, plugin_modules):
    plugin_modules("tiny_envs", ENV_MODULE)
    manager = attach(registration, declare("tiny", "Tiny-v0", "tiny_envs:TinyEnv"))
    assert "tiny_envs" not in sys.modules
    assert manager.ledger.owner("Tiny-v0").dist.name == "tiny"
    env = registration.make("Tiny-v0", disable_env_checker=True)
    assert type(env.unwrapped).__name__ == "TinyEnv"


def test_the_claim_policy_reports_conflicts_and_keeps_builtins(registration):
    manager = attach(
        registration,
        declare("a", "Both-v0", "a_envs:Env"),
        declare("b", "Both-v0", "b_envs:Env"),
        declare("c", "Builtin-v0", "c_envs:Env"),
        builtins=("Builtin-v0",),
    )
    assert "Both-v0" not in dict.keys(registration.registry)
    assert manager.raw.peek("Builtin-v0").entry_point == "builtin_envs:Env"
    statuses = {(e.env_id, e.status, e.declaration.dist.name) for e in manager.ledger.entries()}
    assert ("Both-v0", Status.CONFLICT, "a") in statuses and ("Both-v0", Status.CONFLICT, "b") in statuses
    assert ("Builtin-v0", Status.SHADOWED, "c") in statuses
    error = manager.ledger.explain("Both-v0")
    assert isinstance(error, EnvConflictError) and "a 1.0" in str(error) and "b 1.0" in str(error)
    with pytest.raises(EnvConflictError):
        registration.make("Both-v0")


def test_a_miss_loads_only_its_namespace_and_the_root(registration, plugin_modules):
    plugin_modules("ns_alpha", "from gymplug import hookimpl\n@hookimpl\ndef gymplug_register_envs(register):\n    register('A-v0', 'x:Y')\n")
    plugin_modules("ns_beta", "from gymplug import hookimpl\n@hookimpl\ndef gymplug_register_envs(register):\n    register('B-v0', 'x:Y')\n")
    manager = attach(registration, declare("alpha", "Alpha", "ns_alpha"), declare("beta", "Beta", "ns_beta"))
    assert "Alpha/Typo-v0" not in registration.registry
    assert "ns_alpha" in sys.modules and "ns_beta" not in sys.modules
    assert "Alpha/A-v0" in registration.registry
    assert [d.name for d in manager.pending_declarations()] == ["Beta"]


def test_a_legacy_function_sets_its_namespace_for_its_own_thread_only(registration, plugin_modules):
    plugin_modules(
        "legacy_reg",
        f"""
        import threading
        from {HOST}.envs import registration
        started, go_on = threading.Event(), threading.Event()
        def register_envs():
            started.set()
            go_on.wait(10)
            registration.register(id="Pong-v5", entry_point="x:Y")
        def failing():
            registration.register(id="Half-v0", entry_point="x:Y")
            raise RuntimeError("boom")
        """,
    )
    import legacy_reg

    legacy_reg.registration = registration  # the plugin's host is the private copy
    manager = attach(registration, declare("leg", "Leg", "legacy_reg:register_envs"), declare("bad", "Bad", "legacy_reg:failing"))
    loader = threading.Thread(target=lambda: "Leg/Pong-v5" in registration.registry)
    loader.start()
    assert legacy_reg.started.wait(10)
    registration.register(id="Mine-v0", entry_point="x:Y")  # another thread, mid-load
    legacy_reg.go_on.set()
    loader.join(10)
    assert not loader.is_alive()
    assert "Leg/Pong-v5" in dict.keys(registration.registry)
    assert "Mine-v0" in dict.keys(registration.registry) and "Leg/Mine-v0" not in dict.keys(registration.registry)
    assert "Bad/X-v0" not in registration.registry  # the failing plugin loads, and fails
    assert "Bad/Half-v0" not in dict.keys(registration.registry)  # all or nothing
    registration.register(id="After-v0", entry_point="x:Y")
    assert "After-v0" in dict.keys(registration.registry)
    assert registration.current_namespace is None
    assert isinstance(manager.ledger.explain("Bad/X-v0"), PluginLoadError)


def test_a_plugin_cannot_replace_a_builtin_whatever_the_order(registration, plugin_modules):
    # What shimmy 1.3.0's registration function does to GymV26Environment-v0.
    plugin_modules(
        "replacer",
        """
        registration = None  # the test's private host module
        def register_envs():
            registration.registry.pop('Builtin-v0')
            registration.register(id='Builtin-v0', entry_point='replacer:Other')
        """,
    )
    import replacer

    replacer.registration = registration
    manager = attach(registration, declare("shim", "__root__", "replacer:register_envs"), builtins=("Builtin-v0",))
    assert "Unrelated-v0" not in registration.registry  # a miss loads the root plugin
    assert manager.raw.peek("Builtin-v0").entry_point == "builtin_envs:Env"
    assert manager.ledger.owner("Builtin-v0") is None
    assert [d.dist.name for d in manager.ledger.shadowed["Builtin-v0"]] == ["shim"]


def test_the_patch_undoes_itself(registration):
    originals = {name: getattr(registration, name) for name in ("make", "spec", "register", "registry")}
    manager = attach(registration, declare("tiny", "Tiny-v0", "tiny_envs:TinyEnv"))
    assert isinstance(registration.registry, LazyRegistry)
    assert registration.make is not originals["make"]
    registration.register(id="User-v0", entry_point="x:Y")
    manager.link.detach()
    for name, original in originals.items():
        assert getattr(registration, name) is original
    assert "User-v0" in registration.registry and "Tiny-v0" not in registration.registry


def test_the_lazy_registry_does_not_load_on_iteration(registration, plugin_modules):
    plugin_modules("ns_lazy", "from gymplug import hookimpl\n@hookimpl\ndef gymplug_register_envs(register):\n    register('A-v0', 'x:Y')\n")
    attach(registration, declare("lazy", "Lazy", "ns_lazy"))
    list(registration.registry.values())
    len(registration.registry)
    assert "ns_lazy" not in sys.modules
    assert registration.registry.get("Lazy/A-v0") is not None


def test_a_plugin_re_registering_ids_the_user_registered_by_hand_warns_nothing(registration, plugin_modules):
    # minigrid 2.3.1's documented workaround: `import minigrid` by hand, then its entry point loads too.
    plugin_modules(
        "by_hand",
        """
        registration = None
        def register_envs():
            for n in range(5):
                registration.register(id=f"Hand{n}-v0", entry_point="by_hand:Env")
        """,
    )
    import by_hand

    by_hand.registration = registration
    manager = attach(registration, declare("hand", "__root__", "by_hand:register_envs"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the host's "Overriding environment" would fail the test
        by_hand.register_envs()  # the user's own import: not a plugin load
        assert "Unknown-v0" not in registration.registry  # a miss loads the root plugin, which re-registers
    assert "by_hand" in [d.module for d in manager.ledger.load_times]
    assert sorted(manager.ledger.shadowed) == [f"Hand{n}-v0" for n in range(5)]


def test_the_startup_loader_never_hides_the_hosts_own_error(tmp_path):
    # A host whose registration module raises must fail loudly, gymplug's hook or not.
    package = tmp_path / "gymnasium"
    (package / "envs").mkdir(parents=True)
    (package / "__init__.py").write_text("from gymnasium.envs import registration\n")
    (package / "envs" / "__init__.py").write_text("")
    (package / "envs" / "registration.py").write_text("raise RuntimeError('the host is broken')\n")
    code = "import _gymplug_startup; _gymplug_startup.install(force=True)\nimport gymnasium\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert proc.returncode != 0
    assert "RuntimeError: the host is broken" in proc.stderr
