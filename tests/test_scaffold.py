"""gymplug new: unit checks of names and files, and the whole loop in a fresh virtual environment."""

from __future__ import annotations

import pytest

from gymplug._errors import ScaffoldError
from gymplug._scaffold import scaffold
from helpers import HOST, Venv, run


@pytest.mark.parametrize(
    ("name", "package", "env_id", "namespace"),
    [
        ("gymplug-cartwheel", "gymplug_cartwheel", "cartwheel-v0", "Cartwheel"),
        ("gym-maze-runner", "gym_maze_runner", "maze-runner-v0", "MazeRunner"),
        ("Robots.Arm", "robots_arm", "robots-arm-v0", "RobotsArm"),
    ],
)
def test_names(tmp_path, name, package, env_id, namespace):
    scaffold(name, "gymnasium", "A", tmp_path)
    setup = (tmp_path / name / "setup.cfg").read_text()
    assert f"{env_id} = {package}.envs:{namespace}Env" in setup
    scaffold(name + "-b", "gym", "B", tmp_path)
    assert f"= {package}_b.plugin" in (tmp_path / f"{name}-b" / "setup.cfg").read_text()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad name", "not a valid distribution name"),
        ("-leading", "not a valid distribution name"),
        ("9lives", "not a Python identifier"),
        ("class", "is a Python keyword"),
        ("gymplug", "the name of gymplug or of a host"),
        ("Gym", "the name of gymplug or of a host"),
        ("pluggy", "is an installed distribution"),
        ("pytest", "is an installed distribution"),
        ("json", "would shadow the installed package"),
        ("", "not a valid distribution name"),
    ],
)
def test_bad_names_are_refused(tmp_path, name, message):
    with pytest.raises(ScaffoldError, match=message):
        scaffold(name, "gymnasium", "A", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites(tmp_path):
    (tmp_path / "gymplug-x").mkdir()
    (tmp_path / "gymplug-x" / "README.md").write_text("mine")
    with pytest.raises(ScaffoldError, match="refusing to overwrite .*README.md"):
        scaffold("gymplug-x", "gymnasium", "A", tmp_path)
    assert (tmp_path / "gymplug-x" / "README.md").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "gymplug-x").iterdir()) == ["README.md"]


@pytest.mark.integration
@pytest.mark.parametrize("form", ["A", "B"])
def test_scaffold_install_make_and_its_own_tests_pass(tmp_path_factory, wheelhouse, form):
    """The whole loop: gymplug new -> pip install into a fresh venv -> make without imports -> its tests pass."""
    env = Venv.create(tmp_path_factory.mktemp(f"scaffold-{form}") / "env")
    env.install_host()
    env.pip("install", "pytest", "setuptools>=70.1")
    env.install_wheels(wheelhouse, ["gymplug"])
    where = tmp_path_factory.mktemp(f"src-{form}")
    program = env.path / "bin" / "gymplug"
    proc = run([program, "new", "gymplug-cartwheel", "--host", HOST, "--form", form], cwd=where)
    assert "gymplug-cartwheel/setup.cfg" in proc.stdout
    # The printed next step, as printed, from a shell where the venv is not activated (its bin/ not on PATH):
    # it names the venv's Python, installs the plugin (gymplug is there already) and runs the plugin's tests.
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("next: ")]
    command = line.removeprefix("next: ")
    assert command.startswith(f"{env.path / 'bin' / 'python'}")
    shell = {"PATH": "/usr/bin:/bin", "PYTEST_ADDOPTS": "-p no:cacheprovider -W error::pytest.PytestWarning"}
    result = run(["bash", "-c", command], cwd=where, env=shell, timeout=900)
    rules = 8 * (1 if form == "A" else 2)
    assert f"{rules} passed" in result.stdout, result.stdout
    env_id = "cartwheel-v0" if form == "A" else "Cartwheel/Hard-v0"
    out = env.json(f"import json, {HOST}; e = {HOST}.make({env_id!r}); e.reset(seed=0); print(json.dumps(e.spec.id))")
    assert out == env_id


@pytest.mark.parametrize("form", ["A", "B"])
def test_every_form_requires_gymplug(tmp_path, form):
    scaffold("gymplug-needs", "gymnasium", form, tmp_path)
    setup = (tmp_path / "gymplug-needs" / "setup.cfg").read_text()
    requires = setup.split("install_requires =\n", 1)[1].split("\n\n", 1)[0].split()
    assert requires[0] == "gymplug", requires
    assert "requires\n`gymplug`" in (tmp_path / "gymplug-needs" / "README.md").read_text()


def test_the_plugins_readme_links_nothing_that_does_not_exist_and_needs_no_activated_venv(tmp_path):
    scaffold("gymplug-readme", "gymnasium", "A", tmp_path)
    readme = (tmp_path / "gymplug-readme" / "README.md").read_text()
    assert "pypi.org" not in readme and "](http" not in readme  # gymplug is not on the package index
    commands = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert all(line.startswith("python ") for line in commands), commands
