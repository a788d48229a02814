"""Conformance checks for plugin environments, for plugin authors' tests.

In a test module::

    from gymplug.testing import ConformanceTests

    class TestMyEnvs(ConformanceTests):
        distribution = "gymplug-foo"

pytest then runs every rule below for every environment id the distribution declares (found
through the same discovery as gymplug itself). Each rule is also a plain function taking
``(host, env_id)`` that raises :class:`ConformanceError` with a message naming the id and the rule.
"""

from __future__ import annotations

import importlib
import multiprocessing
import pickle
import re
import subprocess
import sys
import warnings
from typing import Any, Callable, Mapping, Optional

from ._activation import get_manager
from ._entries import normalize_name
from ._hosts import GROUPS

__all__ = [
    "RULES",
    "ConformanceError",
    "ConformanceTests",
    "MissingDependency",
    "declared_envs",
    "env_checker_warnings",
    "is_missing_dependency",
]


class ConformanceError(AssertionError):
    """An environment breaks a conformance rule."""


class MissingDependency(ConformanceError):
    """A rule could not run because an optional dependency of the env is not installed (pygame, box2d...)."""


def is_missing_dependency(exc: BaseException) -> bool:
    """Whether ``exc`` says that an optional dependency is not installed: the host's DependencyNotInstalled,
    or an import of a module that is not there."""
    return type(exc).__name__ == "DependencyNotInstalled" or isinstance(exc, ModuleNotFoundError)


def _fail(env_id: str, rule: str, problem: str, hint: str = "") -> ConformanceError:
    return ConformanceError(f"{env_id}: rule '{rule}': {problem}" + (f"\n  hint: {hint}" if hint else ""))


def declared_envs(distribution: str, host: Optional[str] = None) -> list[tuple[str, str]]:
    """(host, env id) of every environment ``distribution`` provides, for each installed host."""
    found = []
    key = normalize_name(distribution)
    for name in [host] if host else GROUPS:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        manager = get_manager(name)
        if manager is None:
            continue
        manager.load_all()
        found += [(name, env_id) for env_id, d in sorted(manager.owners.items()) if d.dist.key == key]
    return found


def _make(host: str, env_id: str, kwargs: Optional[Mapping[str, Any]] = None, **options: Any) -> Any:
    """Make ``env_id``; ``kwargs`` are the env's constructor arguments (``gymplug check --kwargs``)."""
    return importlib.import_module(host).make(env_id, **{**(kwargs or {}), **options})


def _same(a: Any, b: Any) -> bool:
    import numpy as np

    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def check_makes_without_imports(host: str, env_id: str) -> None:
    """A fresh interpreter makes the env with nothing but ``import host``."""
    code = f"import {host}\nenv = {host}.make({env_id!r})\nenv.reset(seed=0)\nenv.close()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        made = f"`import {host}; {host}.make('{env_id}')`"
        raise _fail(env_id, "makes without imports", f"{made} failed in a new interpreter: {last}",
                    "declare the env in the distribution's entry points; do not rely on importing your package")


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _plain(text: str) -> str:
    """A host's message without its terminal colours (Gymnasium's logger paints warnings yellow)."""
    return _COLOUR.sub("", text)


def env_checker_warnings(host: str, env_id: str, *, kwargs: Optional[Mapping[str, Any]] = None) -> list[str]:
    """What the host's own env checker warns about the env, each once and without colour codes.

    Raises :class:`ConformanceError` if the checker finds an error.
    """
    checker = importlib.import_module(f"{host}.utils.env_checker").check_env
    env = _make(host, env_id, kwargs, disable_env_checker=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            checker(env.unwrapped, skip_render_check=True)
    except Exception as exc:
        raised = f"{type(exc).__name__}: {_plain(str(exc))}"
        raise _fail(env_id, "env checker", f"{host}'s check_env raised {raised}") from exc
    finally:
        env.close()
    # The host reports env problems as UserWarnings; its own deprecations are not the env's fault.
    complaints = [_plain(str(w.message)).strip().removeprefix("WARN: ") for w in caught
                  if issubclass(w.category, UserWarning)]
    return list(dict.fromkeys(complaints))


def check_env_checker(host: str, env_id: str, *, kwargs: Optional[Mapping[str, Any]] = None) -> None:
    """The host's own env checker finds nothing wrong (errors or warnings about the env)."""
    complaints = env_checker_warnings(host, env_id, kwargs=kwargs)
    if complaints:
        raise _fail(env_id, "env checker", f"{host}'s check_env warns: {complaints[0]}")


def check_api(host: str, env_id: str, *, kwargs: Optional[Mapping[str, Any]] = None) -> None:
    """reset() returns (obs, info: dict); step() returns (obs, reward, terminated, truncated: bool, info: dict)."""
    env = _make(host, env_id, kwargs)
    try:
        result = env.reset(seed=0)
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
            returned = type(result).__name__
            raise _fail(env_id, "reset/step API", f"reset() returned {returned}, not (observation, info dict)")
        result = env.step(env.action_space.sample())
        if not (isinstance(result, tuple) and len(result) == 5):
            raise _fail(env_id, "reset/step API", "step() must return (obs, reward, terminated, truncated, info)",
                        "the 0.26+ API splits done into terminated and truncated")
        _, reward, terminated, truncated, info = result
        if not isinstance(reward, (int, float)) and not hasattr(reward, "__float__"):
            raise _fail(env_id, "reset/step API", f"the reward is a {type(reward).__name__}, not a number")
        for name, flag in (("terminated", terminated), ("truncated", truncated)):
            if not isinstance(flag, bool) and type(flag).__name__ != "bool_":
                raise _fail(env_id, "reset/step API", f"{name} is a {type(flag).__name__}, not a bool")
        if not isinstance(info, dict):
            raise _fail(env_id, "reset/step API", f"info is a {type(info).__name__}, not a dict")
    finally:
        env.close()


def _rollout(host: str, env_id: str, steps: int, kwargs: Optional[Mapping[str, Any]] = None) -> list:
    env = _make(host, env_id, kwargs)
    try:
        obs, _ = env.reset(seed=123)
        env.action_space.seed(123)
        trajectory = [obs]
        for _ in range(steps):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            trajectory.append(obs)
            if terminated or truncated:
                break
        return trajectory
    finally:
        env.close()


def check_seeding(host: str, env_id: str, steps: int = 25, *, kwargs: Optional[Mapping[str, Any]] = None) -> None:
    """The same seed and actions give the same observations, in two separate envs."""
    first, second = _rollout(host, env_id, steps, kwargs), _rollout(host, env_id, steps, kwargs)
    for i, (a, b) in enumerate(zip(first, second)):
        if not _same(a, b):
            where = "their first observation" if i == 0 else f"their observation after step {i}"
            raise _fail(env_id, "seeding", f"two envs reset with seed=123 differ in {where}",
                        "draw every random number from self.np_random and call super().reset(seed=seed) in reset()")
    if len(first) != len(second):
        raise _fail(env_id, "seeding", "two seeded rollouts ended after different numbers of steps")


def check_observations_in_space(
    host: str, env_id: str, steps: int = 50, *, kwargs: Optional[Mapping[str, Any]] = None
) -> None:
    """Every observation of reset() and of random steps lies in the observation space."""
    env = _make(host, env_id, kwargs)
    try:
        obs, _ = env.reset(seed=0)
        env.action_space.seed(0)
        for i in range(steps + 1):
            if not env.observation_space.contains(obs):
                when = "reset()" if i == 0 else f"step {i}"
                outside = f"the observation of {when} is outside {env.observation_space}: {obs!r}"
                raise _fail(env_id, "observations in space", outside,
                            "check dtype and bounds (a float64 array is not in a float32 Box)")
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                obs, _ = env.reset()
    finally:
        env.close()


def check_render_modes(host: str, env_id: str, *, kwargs: Optional[Mapping[str, Any]] = None) -> None:
    """Every declared render mode (but "human") renders what the mode promises."""
    import numpy as np

    probe = _make(host, env_id, kwargs)
    modes = list(getattr(probe.unwrapped, "metadata", {}).get("render_modes", []))
    probe.close()
    missing: list[str] = []
    for mode in modes:
        if mode == "human":
            continue
        env = _make(host, env_id, kwargs, render_mode=mode)
        try:
            env.reset(seed=0)
            frame = env.render()
        except Exception as exc:
            if is_missing_dependency(exc):  # not the env's fault: check the other modes, then say so
                missing.append(f"render_mode={mode!r} skipped, a dependency is missing: {_plain(str(exc))}")
                continue
            raise _fail(env_id, "render modes", f"render_mode={mode!r} raised {type(exc).__name__}: {exc}") from exc
        finally:
            env.close()
        image = isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
        if mode == "rgb_array" and not image:
            gave = f"{type(frame).__name__} {getattr(frame, 'shape', '')}"
            raise _fail(env_id, "render modes", f"rgb_array render gave {gave}, not a uint8 HxWx3 array")
        if mode == "ansi" and not isinstance(frame, str):
            raise _fail(env_id, "render modes", f"ansi render gave {type(frame).__name__}, not a str")
    if missing:
        raise MissingDependency(f"{env_id}: rule 'render modes': {'; '.join(missing)}")


def check_spec_pickles(host: str, env_id: str) -> None:
    """The spec pickles, with its entry point as a string (worker processes rebuild envs from it)."""
    spec = importlib.import_module(host).spec(env_id)
    if not isinstance(spec.entry_point, str):
        raise _fail(env_id, "spec pickles", "the entry point is an object, not a 'module:attr' string")
    again = pickle.loads(pickle.dumps(spec))
    if again.id != spec.id or again.entry_point != spec.entry_point:
        raise _fail(env_id, "spec pickles", "the unpickled spec differs from the original")


def _make_in_worker(host: str, spec: Any) -> str:
    env = importlib.import_module(host).make(spec)
    env.reset(seed=0)
    env.close()
    return spec.id


def check_spawned_subprocess(host: str, env_id: str) -> None:
    """A worker started with the 'spawn' method makes the env from its spec, with no registration code."""
    spec = importlib.import_module(host).spec(env_id)
    try:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            made = pool.apply(_make_in_worker, (host, spec))
    except Exception as exc:
        raise _fail(env_id, "spawned subprocess", f"making it in a spawned worker failed: {type(exc).__name__}: {exc}",
                    "the env and everything it imports must be importable in a fresh process") from exc
    if made != env_id:
        raise _fail(env_id, "spawned subprocess", f"the worker made {made!r}")


RULES: dict[str, Callable[[str, str], None]] = {
    "makes_without_imports": check_makes_without_imports,
    "env_checker": check_env_checker,
    "api": check_api,
    "seeding": check_seeding,
    "observations_in_space": check_observations_in_space,
    "render_modes": check_render_modes,
    "spec_pickles": check_spec_pickles,
    "spawned_subprocess": check_spawned_subprocess,
}


class ConformanceTests:
    """Subclass it in a test module and set ``distribution``: one test per rule and env id.

    The ``gymplug_env`` fixture, ``(host, env_id)``, is parametrized by gymplug's pytest plugin.
    Set ``host = "gym"`` or ``"gymnasium"`` to test one host only.
    """

    distribution: str = ""
    host: Optional[str] = None

    def test_makes_without_imports(self, gymplug_env: tuple[str, str]) -> None:
        check_makes_without_imports(*gymplug_env)

    def test_env_checker(self, gymplug_env: tuple[str, str]) -> None:
        check_env_checker(*gymplug_env)

    def test_api(self, gymplug_env: tuple[str, str]) -> None:
        check_api(*gymplug_env)

    def test_seeding(self, gymplug_env: tuple[str, str]) -> None:
        check_seeding(*gymplug_env)

    def test_observations_in_space(self, gymplug_env: tuple[str, str]) -> None:
        check_observations_in_space(*gymplug_env)

    def test_render_modes(self, gymplug_env: tuple[str, str]) -> None:
        check_render_modes(*gymplug_env)

    def test_spec_pickles(self, gymplug_env: tuple[str, str]) -> None:
        check_spec_pickles(*gymplug_env)

    def test_spawned_subprocess(self, gymplug_env: tuple[str, str]) -> None:
        check_spawned_subprocess(*gymplug_env)
