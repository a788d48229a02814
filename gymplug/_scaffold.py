"""Scaffolding a complete plugin distribution that works and tests itself (``gymplug new`` is its command)."""

from __future__ import annotations

import importlib.util
import keyword
import re
from pathlib import Path
from typing import Optional

from ._entries import normalize_name, split_env_id
from ._errors import ScaffoldError
from ._hosts import HOSTS

__all__ = ["FORMS", "HOST_REQUIREMENTS", "scaffold"]

FORMS = ("A", "B")

_DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_PREFIXES = ("gymplug_", "gymnasium_", "gym_")
# The env template imports numpy; gym's pins carry it already.
HOST_REQUIREMENTS = {
    name: [*f.requirements, *(() if any(r.startswith("numpy") for r in f.requirements) else ("numpy",))]
    for name, f in HOSTS.items()
}

ENV_TEMPLATE = '''"""{cls}: move a marker left or right until it reaches the target; a small working {host} env."""

from typing import Any, Optional

import numpy as np
import {host}
from {host} import spaces


class {cls}({host}.Env):
    """Observation: (position, target) in [-1, 1]. Actions: 0 left, 1 right. Reward 1 at the target."""

    metadata = {{"render_modes": ["rgb_array"], "render_fps": 15}}

    def __init__(self, step_size: float = 0.1, render_mode: Optional[str] = None) -> None:
        self.step_size = step_size
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.position, self.target = 0.0, 0.5

    def _obs(self) -> np.ndarray:
        return np.array([self.position, self.target], dtype=np.float32)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)  # seeds self.np_random: draw every random number from it
        self.position = 0.0
        self.target = float(self.np_random.choice([-0.5, 0.5]))
        return self._obs(), {{}}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        move = self.step_size if int(action) == 1 else -self.step_size
        self.position = float(np.clip(self.position + move, -1.0, 1.0))
        reached = abs(self.position - self.target) < self.step_size / 2
        return self._obs(), 1.0 if reached else -0.01, reached, False, {{}}

    def render(self) -> Optional[np.ndarray]:
        if self.render_mode != "rgb_array":
            return None
        frame = np.full((32, 64, 3), 255, dtype=np.uint8)
        column = lambda x: int(round((x + 1) / 2 * 63))  # noqa: E731
        frame[:, column(self.target)] = (40, 170, 60)
        frame[12:20, max(column(self.position) - 2, 0) : column(self.position) + 3] = (200, 40, 40)
        return frame
'''

PLUGIN_TEMPLATE = '''"""Registration plugin: gymplug imports it on the first lookup of a {namespace}/... id."""

from gymplug import hookimpl

ENTRY_POINT = "{package}.envs:{cls}"  # a string: the env module is imported only by make()


@hookimpl
def gymplug_register_envs(register):
    # Ids without a namespace go into this entry point's namespace: {namespace}/Easy-v0, ...
    register("Easy-v0", ENTRY_POINT, max_episode_steps=50, kwargs={{"step_size": 0.25}})
    register("Hard-v0", ENTRY_POINT, max_episode_steps=200, kwargs={{"step_size": 0.05}})
'''

TEST_TEMPLATE = '''"""Conformance tests: every rule of gymplug.testing, for every env this distribution declares."""

from gymplug.testing import ConformanceTests


class TestConformance(ConformanceTests):
    distribution = "{dist}"
    host = "{host}"
'''

SETUP_CFG = """[metadata]
name = {dist}
version = 0.1.0
description = Environments for {host}, declared for gymplug.
long_description = file: README.md
long_description_content_type = text/markdown

[options]
packages = find:
python_requires = >=3.9
install_requires =
{requires}

[options.packages.find]
exclude = tests

[options.extras_require]
test =
    pytest

[options.entry_points]
{host}.envs =
    {entry}
"""

README = """# {dist}

Environments for {host}, found by gymplug (the plugin loader for gym and Gymnasium): once this
distribution is installed, `{host}.make("{example}")` works with no import. The distribution requires
`gymplug` (see `setup.cfg`), so that installing it alone is enough.

With the Python of the environment that has gymplug (`python` below):

```sh
python -m pip install -e ".[test]"
python -c "import {host}; env = {host}.make('{example}'); print(env.reset(seed=0))"
python -m gymplug list --plugin {dist}
python -m pytest
```

{explain}
"""

EXPLAIN = {
    "A": "The env is declared as an env entry in `setup.cfg` (`{entry}`): gymplug registers the id from "
    "the metadata and imports `{package}.envs` only when the env is made. To give ids options such as "
    "`max_episode_steps`, use a registration plugin (`gymplug new --form B`).",
    "B": "`setup.cfg` declares a registration plugin for the namespace `{namespace}` (`{entry}`); "
    "`{package}/plugin.py` registers its ids with per-id options. Keep that module small: it is imported on "
    "the first lookup of a `{namespace}/...` id.",
}


def _installed_version(name: str) -> Optional[str]:
    key = normalize_name(name)
    from importlib import metadata

    for dist in metadata.distributions():
        if normalize_name(dist.metadata["Name"] or "") == key:
            return dist.version
    return None


def _refuse_shadowing(name: str, package: str) -> None:
    """Installing the scaffold must not replace gymplug, a host, or any installed distribution or package."""
    if normalize_name(name) in ("gymplug", *HOSTS) or package in ("gymplug", *HOSTS):
        raise ScaffoldError(f"'{name}' is the name of gymplug or of a host: installing the plugin would replace it")
    version = _installed_version(name)
    if version is not None:
        raise ScaffoldError(f"'{name}' is an installed distribution ({name} {version}): installing the plugin "
                            "would replace it; choose another name")
    if importlib.util.find_spec(package) is not None:
        raise ScaffoldError(f"'{name}' gives the package name '{package}', which would shadow the installed "
                            f"package '{package}'; choose another name")


def _names(name: str) -> dict[str, str]:
    if not _DIST_NAME.match(name):
        raise ScaffoldError(f"'{name}' is not a valid distribution name: use letters, digits, '-', '_' and '.', "
                            "starting and ending with a letter or digit")
    package = normalize_name(name).replace("-", "_")
    if keyword.iskeyword(package):
        raise ScaffoldError(f"'{name}' gives the package name '{package}', which is a Python keyword; "
                            "choose another name")
    if not package.isidentifier():
        raise ScaffoldError(f"'{name}' gives the package name '{package}', which is not a Python identifier; "
                            "start the name with a letter")
    _refuse_shadowing(name, package)
    base = package
    for prefix in _PREFIXES:
        if base.startswith(prefix) and len(base) > len(prefix):
            base = base[len(prefix) :]
            break
    words = [w for w in base.split("_") if w]
    env_name = "-".join(words)
    namespace = "".join(w[:1].upper() + w[1:] for w in words)
    if split_env_id(f"{env_name}-v0") is None or not namespace.isidentifier():
        raise ScaffoldError(f"cannot derive an environment id from '{name}'")
    return {"dist": name, "package": package, "env_name": env_name, "namespace": namespace, "cls": f"{namespace}Env"}


def scaffold(name: str, host: str, form: str, parent: Path) -> list[Path]:
    """Write the plugin's files under ``parent/name``; refuse if any of them exists. Returns the paths.

    ScaffoldError if the name is not usable (invalid, a keyword, or the name of something installed) or a
    file exists; OSError if a file cannot be written.
    """
    if host not in HOST_REQUIREMENTS or form not in FORMS:
        raise ScaffoldError(f"unknown host {host!r} or form {form!r}")
    names = _names(name)
    package = names["package"]
    if form == "A":
        example = f"{names['env_name']}-v0"
        entry = f"{example} = {package}.envs:{names['cls']}"
    else:
        example = f"{names['namespace']}/Easy-v0"
        entry = f"{names['namespace']} = {package}.plugin"
    fields = {**names, "host": host, "entry": entry, "example": example}
    # Every plugin requires gymplug: without it, gym 0.26's own loader would call a Form A class at import.
    requires = ["gymplug", *HOST_REQUIREMENTS[host]]
    root = parent / name
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n',
        "setup.cfg": SETUP_CFG.format(**fields, requires="\n".join(f"    {r}" for r in requires)),
        "README.md": README.format(**fields, explain=EXPLAIN[form].format(**fields)),
        f"{package}/__init__.py": f'"""{name}: environments for {host}, declared in metadata for gymplug '
        '(no register() on import)."""\n',
        f"{package}/envs.py": ENV_TEMPLATE.format(**fields),
        "tests/test_conformance.py": TEST_TEMPLATE.format(**fields),
    }
    if form == "B":
        files[f"{package}/plugin.py"] = PLUGIN_TEMPLATE.format(**fields)
    existing = [root / rel for rel in files if (root / rel).exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ScaffoldError(f"refusing to overwrite {existing[0]}{more}")
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:  # "x": never overwrite, even in a race
            handle.write(text)
        written.append(path)
    return written
