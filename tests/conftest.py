"""Session fixtures: wheels built once, one real virtual environment per host under test."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from helpers import FIXTURES, HOST, PLUGINS, ROOT, Venv, build_wheels, distributions

LEARN = FIXTURES.parent / "learn"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of gymplug, of every distribution under plugins/ and of every fixture plugin."""
    house = tmp_path_factory.mktemp("wheelhouse")
    build_wheels([ROOT, *distributions(PLUGINS), *distributions(FIXTURES)], house, tmp_path_factory.mktemp("sources"))
    return house


def _project_name(wheel: Path) -> str:
    return re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()


@pytest.fixture(scope="session")
def learn_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of gymplug and of the distributions under fixtures/learn (which register when imported)."""
    house = tmp_path_factory.mktemp("learn-wheels")
    first, upgrade = [p for p in distributions(LEARN) if p.name != "gp-learn-versions-2"], LEARN / "gp-learn-versions-2"
    build_wheels([ROOT, FIXTURES / "gp-fixture-base", *first], house, tmp_path_factory.mktemp("learn-src"))
    build_wheels([upgrade], house, tmp_path_factory.mktemp("learn-src"))  # pip builds one version of a name per call
    return house


@pytest.fixture(scope="session")
def wheel_names(wheelhouse: Path) -> list[str]:
    names = sorted(_project_name(w) for w in wheelhouse.glob("*.whl"))
    if sys.version_info < (3, 11):  # pip reads entry points with pkg_resources there, and refuses this wheel
        names.remove("gp-fixture-corrupt-metadata")
    return names


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, wheel_names: list[str]) -> Venv:
    """The host, gymplug, the example plugins and every fixture plugin (broken ones too), together."""
    env = Venv.create(tmp_path_factory.mktemp("venv") / "env")
    env.install_host()
    env.install_wheels(wheelhouse, wheel_names)
    return env


@pytest.fixture(scope="session")
def bare_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Venv:
    """The host and gymplug alone: tests put their own distributions on PYTHONPATH (tests/sites.py)."""
    env = Venv.create(tmp_path_factory.mktemp("bare-venv") / "env")
    env.install_host()
    env.install_wheels(wheelhouse, ["gymplug"])
    return env


@pytest.fixture
def canary(tmp_path: Path) -> "Canary":
    return Canary(tmp_path / "canary.log")


class Canary:
    """The file fixture plugins append their module name to when imported (env GYMPLUG_CANARY)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def env(self) -> dict[str, str]:
        return {"GYMPLUG_CANARY": str(self.path)}

    def modules(self) -> list[str]:
        return self.path.read_text().split() if self.path.exists() else []


@pytest.fixture
def registration():
    """A private copy of the host's registration module (see tests/inproc.py), forgotten afterwards."""
    from inproc import private_registration

    module = private_registration()
    yield module
    del sys.modules[module.__name__]


@pytest.fixture(scope="session")
def host() -> str:
    return HOST
