"""`pip install gymplug-foo` alone, in a venv with just the host, makes `make("foo-v0")` work."""

from __future__ import annotations

import configparser
import sys

import pytest

from helpers import HOST, PLUGINS, Venv, distributions

def install_requires(plugin) -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(plugin / "setup.cfg")
    return [line.strip() for line in cfg.get("options", "install_requires", fallback="").splitlines() if line.strip()]


@pytest.mark.parametrize("plugin", distributions(PLUGINS), ids=lambda p: p.name)
def test_every_example_plugin_requires_gymplug(plugin):
    assert "gymplug" in install_requires(plugin)


@pytest.mark.integration
@pytest.mark.smoke
def test_installing_the_plugin_alone_brings_gymplug(tmp_path, wheelhouse):
    env = Venv.create(tmp_path / "env")
    env.install_host()  # the host and what gymplug needs from the index; gymplug itself is not there
    if sys.version_info < (3, 10):
        env.pip("install", "importlib-metadata>=4.6")
    # no --no-deps: pip must find gymplug as gymplug-foo's requirement, in the wheelhouse
    env.pip("install", "--no-index", "--find-links", wheelhouse, "gymplug-foo")
    installed = env.run_python("import importlib.metadata as m; print(m.version('gymplug'))").stdout.strip()
    assert installed
    proc = env.run_python(f"import {HOST}\nenv = {HOST}.make('foo-v0')\nenv.reset(seed=0)\nprint(env.spec.id)")
    assert proc.stdout.strip() == "foo-v0"
