"""The discovery cache against real pip: every install, upgrade, uninstall and editable reinstall is seen."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

from helpers import HOST, Venv, run

pytestmark = pytest.mark.integration

GROUP = f"{HOST}.envs"
DISCOVER = f"""
import json, logging, sys
logging.basicConfig(level=logging.DEBUG, format="%(name)s %(message)s")
import gymplug
found = gymplug.discover({HOST!r})
print(json.dumps(sorted(d.name for d in found.declarations if d.name.startswith("probe-"))))
"""


def probe_source(root: Path, version: str, env_ids: list[str]) -> Path:
    """A real distribution that declares ``env_ids`` (listing them imports nothing, so no module is needed)."""
    source = root / f"probe-{version}"
    source.mkdir(parents=True, exist_ok=True)
    (source / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n')
    entries = "".join(f"    {env_id} = gp_cache_probe:Env\n" for env_id in env_ids)
    (source / "setup.cfg").write_text(
        f"[metadata]\nname = gp-cache-probe\nversion = {version}\n\n[options]\npy_modules = gp_cache_probe\n\n"
        f"[options.entry_points]\n{GROUP} =\n{entries}"
    )
    (source / "gp_cache_probe.py").write_text("Env = None\n")
    return source


def wheel(source: Path, wheelhouse: Path) -> Path:
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheelhouse, source])
    return next(wheelhouse.glob(f"gp_cache_probe-{source.name.split('-')[1]}-*.whl"))


class Probe:
    def __init__(self, env: Venv, cache: Path) -> None:
        self.env, self.cache = env, cache

    def discover(self) -> tuple[list[str], int]:
        """The probe ids this environment sees, and how many directories came from the cache."""
        proc = self.env.run_python(DISCOVER, env={"GYMPLUG_CACHE_DIR": str(self.cache)})
        hits = re.search(r"(\d+) directories from the discovery cache", proc.stderr)
        assert hits, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1]), int(hits.group(1))

    def settled(self, expected: list[str]) -> None:
        """After two seconds the state is stored, and the next discovery takes it from the cache."""
        time.sleep(2.1)
        assert self.discover()[0] == expected
        ids, hits = self.discover()
        assert ids == expected and hits >= 1


@pytest.fixture(scope="module")
def gymplug_venv(tmp_path_factory, wheelhouse):
    def make(name: str) -> Venv:
        env = Venv.create(tmp_path_factory.mktemp(name) / "env")
        env.pip("install", "pluggy>=1.2", "setuptools>=64", "wheel")
        env.install_wheels(wheelhouse, ["gymplug"])
        return env

    return make


def test_every_change_made_with_pip_is_seen_through_the_cache(gymplug_venv, tmp_path):
    env, cache = gymplug_venv("cache-pip"), tmp_path / "cache"
    probe = Probe(env, cache)
    probe.settled([])

    env.pip("install", "--no-deps", wheel(probe_source(tmp_path, "1.0", ["probe-one-v0"]), tmp_path / "wh"))
    assert probe.discover()[0] == ["probe-one-v0"]  # install
    probe.settled(["probe-one-v0"])

    env.pip("install", "--no-deps", wheel(probe_source(tmp_path, "2.0", ["probe-two-v0"]), tmp_path / "wh"))
    assert probe.discover()[0] == ["probe-two-v0"]  # upgrade
    probe.settled(["probe-two-v0"])

    env.pip("uninstall", "--yes", "gp-cache-probe")
    assert probe.discover()[0] == []  # uninstall
    probe.settled([])

    editable = probe_source(tmp_path / "editable", "3.0", ["probe-three-v0"])
    env.pip("install", "--no-deps", "--no-build-isolation", "-e", editable)
    assert probe.discover()[0] == ["probe-three-v0"]  # editable install
    probe.settled(["probe-three-v0"])

    probe_source(tmp_path / "editable", "3.0", ["probe-three-v0", "probe-four-v0"])
    env.pip("install", "--no-deps", "--no-build-isolation", "-e", editable)
    assert probe.discover()[0] == ["probe-four-v0", "probe-three-v0"]  # editable reinstall, same version
    probe.settled(["probe-four-v0", "probe-three-v0"])

    # another environment on the same cache directory sees its own plugins only, and has its own file
    other = Probe(gymplug_venv("cache-other"), cache)
    assert other.discover()[0] == []
    other.settled([])
    assert probe.discover()[0] == ["probe-four-v0", "probe-three-v0"]
    assert len(list(cache.glob("discovery-*.json"))) == 2
