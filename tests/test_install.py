"""gymplug installs its startup hook from a wheel, from source and in editable mode, and each works."""

from __future__ import annotations

import pytest

from helpers import HOST, PLUGINS, ROOT, Venv, copy_source

pytestmark = pytest.mark.integration

MAKE_FOO = f"import json, sys\nimport {HOST} as host\nenv = host.make('foo-v0')\nenv.reset(seed=0)\nprint(json.dumps([env.spec.id, 'gymplug' in sys.modules]))"


@pytest.fixture(scope="module")
def host_venv_factory(tmp_path_factory):
    def make(name: str) -> Venv:
        env = Venv.create(tmp_path_factory.mktemp(name) / "env")
        env.install_host()
        return env

    return make


def startup_files(env: Venv) -> list[str]:
    return sorted(p.name for p in env.site_packages.iterdir() if p.name.startswith("gymplug.") and p.suffix in (".pth", ".start"))


def test_editable_install_carries_the_startup_hook(host_venv_factory, wheelhouse, tmp_path):
    env = host_venv_factory("editable")
    source = copy_source(ROOT, tmp_path)
    env.pip("install", "--no-build-isolation", "setuptools>=64", "wheel")
    env.pip("install", "--no-build-isolation", "--no-deps", "-e", source)
    env.install_wheels(wheelhouse, ["gymplug-foo"])
    assert startup_files(env) == ["gymplug.pth", "gymplug.start"]
    assert env.json(MAKE_FOO) == ["foo-v0", True]
    # editable means the source tree is what runs
    location = env.json("import json, gymplug; print(json.dumps(gymplug.__file__))")
    assert location.startswith(str(source))


def test_install_from_source_as_the_readme_says(host_venv_factory, tmp_path):
    env = host_venv_factory("source")
    source = copy_source(ROOT, tmp_path)
    env.pip("install", source, copy_source(PLUGINS / "gymplug-foo", tmp_path / "plugins"))
    assert startup_files(env) == ["gymplug.pth", "gymplug.start"]
    assert env.json(MAKE_FOO) == ["foo-v0", True]
