"""The documentation's examples run: python blocks marked `<!-- test: run -->` in README.md."""

from __future__ import annotations

import re

import pytest

from helpers import HOST, ROOT, Venv, run

MARKED = re.compile(r"<!-- test: run -->\s*```python\n(.*?)```", re.S)


def marked_blocks() -> list[str]:
    return MARKED.findall((ROOT / "README.md").read_text())


def test_readme_has_marked_examples():
    assert marked_blocks()


@pytest.mark.integration
@pytest.mark.parametrize("index", range(len(marked_blocks())))
def test_readme_example_runs(venv, index):
    code = marked_blocks()[index]
    if "import gymnasium" in code and HOST != "gymnasium":
        pytest.skip("a Gymnasium example")
    proc = venv.run_python(code)
    assert proc.returncode == 0


GUIDE = ROOT / "docs" / "authoring.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\s*```\w*\n(.*?)```", re.S)
RACETRACK_BLOCK = re.compile(r"<!-- test: racetrack -->\s*```python\n(.*?)```", re.S)


def test_readme_links_the_authoring_guide():
    assert "docs/authoring.md" in (ROOT / "README.md").read_text()


@pytest.mark.integration
def test_authoring_guide_example_installs_makes_and_conforms(tmp_path_factory, wheelhouse):
    """The guide's worked example, assembled from its file blocks, installed in a fresh venv."""
    if HOST != "gymnasium":
        pytest.skip("the guide's worked example is a Gymnasium plugin")
    guide = GUIDE.read_text()
    root = tmp_path_factory.mktemp("guide")
    files = FILE_BLOCK.findall(guide)
    assert {rel.split("/", 1)[1] for rel, _ in files} >= {"setup.cfg", "pyproject.toml", "gymplug_racetrack/envs.py", "gymplug_racetrack/plugin.py"}
    for rel, text in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    env = Venv.create(tmp_path_factory.mktemp("guide-venv") / "env")
    env.install_host()
    env.pip("install", "pytest", "setuptools>=70.1")
    env.install_wheels(wheelhouse, ["gymplug"])
    env.pip("install", "--no-deps", "--no-build-isolation", root / "gymplug-racetrack")
    snippets = RACETRACK_BLOCK.findall(guide)
    assert snippets
    for code in snippets:
        env.run_python(code)
    result = run([env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root / "gymplug-racetrack")
    assert "24 passed" in result.stdout  # 8 rules x (racetrack-v0, Track/Oval-v0, Track/Ring-v0)


def readme_test_command() -> str:
    """The command under "Run the tests": the one line of its sh block."""
    section = (ROOT / "README.md").read_text().split("## Run the tests", 1)[1]
    block = re.search(r"```sh\n(.*?)\n```", section, re.S).group(1)
    lines = block.splitlines()
    assert len(lines) == 1, "the test command is one line"
    return lines[0]


def test_ci_runs_exactly_the_readme_test_command():
    command = readme_test_command()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines


def test_the_test_command_needs_no_pip_outside_a_venv():
    # a Debian system Python refuses `python3 -m pip install` (externally-managed-environment)
    command = readme_test_command()
    assert command.startswith("python3 -m venv .venv-tox && ")
    assert "python3 -m pip" not in command
    assert ".venv-tox/" in (ROOT / ".gitignore").read_text().split() or ".venv-*/" in (ROOT / ".gitignore").read_text().split()


def test_internals_and_clients_guides_are_linked():
    readme = (ROOT / "README.md").read_text()
    assert "docs/internals.md" in readme and "docs/clients.md" in readme


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the gymplug authors" in text


def test_tox_passes_pyenv_version_to_interpreter_discovery():
    # .ci/run exports PYENV_VERSION; without it tox's discovery cannot run pyenv's python3.X shims
    # and skips every pyXY environment
    tox_ini = (ROOT / "tox.ini").read_text()
    assert "export PYENV_VERSION=" in (ROOT / ".ci" / "run").read_text()
    assert re.search(r"passenv =(\n    .*)*\n    PYENV_VERSION\n", tox_ini)
