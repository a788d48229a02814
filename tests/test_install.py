"""gymplug installs its startup hook from a wheel, from source and in editable mode, and each works."""

from __future__ import annotations

import re

import pytest

from helpers import HOST, ROOT, Venv, copy_source, run

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


@pytest.mark.smoke
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


def readme_quickstart(host: str) -> str:
    """The README's install-and-run commands for ``host``, less the ``git clone`` line."""
    for block in re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S):
        lines = [line for line in block.splitlines() if not line.startswith("git clone ")]
        if lines and lines[0].startswith("python3 -m venv ") and f"import {host};" in block:
            return "\n".join(lines)
    raise AssertionError(f"README has no quick-start command for {host}")


def test_readme_quickstart_starts_from_a_clone():
    readme = (ROOT / "README.md").read_text()
    assert "git clone <this repository's URL> gymplug && cd gymplug" in readme


def test_readme_quickstart_command_works(tmp_path):
    source = copy_source(ROOT, tmp_path / "checkout")
    command = readme_quickstart(HOST)
    venv_path = re.search(r"python3 -m venv (\S+)", command).group(1)
    command = command.replace(venv_path, str(tmp_path / "demo"))
    proc = run(["bash", "-ec", command], cwd=source, timeout=900)
    assert "foo-v0" in proc.stdout
    assert startup_files(Venv(tmp_path / "demo")) == ["gymplug.pth", "gymplug.start"]


def test_a_broken_gymplug_install_breaks_neither_python_nor_the_host(host_venv_factory, wheelhouse):
    env = host_venv_factory("sabotage")
    env.install_wheels(wheelhouse, ["gymplug", "gymplug-foo"])
    site = env.site_packages
    # gymplug's machinery is broken: the host still imports, the failure is logged, not raised
    (site / "gymplug" / "_manager.py").write_text("raise RuntimeError('sabotaged')\n")
    # (gymplug attaches on the first use of the registry that may see a plugin's id: the make of a built-in is
    # none when no plugin declares a version of it, the lookup of a plugin's id is one)
    proc = env.run_python(f"import logging; logging.basicConfig()\nimport {HOST}\n{HOST}.make('CartPole-v1')\n"
                          f"'foo-v0' in {HOST}.envs.registry\nprint('host ok')")
    assert proc.stdout.strip() == "host ok"
    assert "gymplug could not attach" in proc.stderr and "sabotaged" in proc.stderr
    # the startup module itself is gone: the .pth line must still not disturb the interpreter
    (site / "_gymplug_startup.py").unlink()
    proc = env.run_python("print('python ok')")
    assert proc.stdout.strip() == "python ok" and proc.stderr == ""
