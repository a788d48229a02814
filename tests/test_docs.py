"""The documentation's examples run: every console block, compared with what really comes out, and the
python blocks marked `<!-- test: run -->`, in README.md and the pages under docs/."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import HOST, ROOT, Venv, clean_env, copy_source, run

MARKED = re.compile(r"<!-- test: run -->\s*```python\n(.*?)```", re.S)
#: README first: its "Try it" builds the venv every other page's examples run in.
PAGES = ["README.md", "docs/cli.md", "docs/configuration.md", "docs/troubleshooting.md", "docs/authoring.md",
         "docs/learning.md", "docs/gallery.md", "docs/hosts.md"]


def marked_blocks() -> list[str]:
    return [code for page in PAGES for code in MARKED.findall((ROOT / page).read_text())]


def test_docs_have_marked_examples():
    assert marked_blocks()


def test_every_page_is_linked_from_the_readme_and_checked_here():
    readme = (ROOT / "README.md").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in readme, page.name
        assert f"docs/{page.name}" in PAGES or page.name in ("clients.md", "internals.md"), page.name


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, len(lines)


@pytest.mark.integration
@pytest.mark.parametrize("index", range(len(marked_blocks())))
def test_marked_example_runs(venv, index):
    code = marked_blocks()[index]
    if "import gymnasium" in code and HOST != "gymnasium":
        pytest.skip("a Gymnasium example")
    proc = venv.run_python(code)
    assert proc.returncode == 0


GUIDE = ROOT / "docs" / "authoring.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\s*```\w*\n(.*?)```", re.S)
RACETRACK_BLOCK = re.compile(r"<!-- test: racetrack -->\s*```python\n(.*?)```", re.S)


# ---- console blocks: `<!-- console: SETUP -->` before each; every `$ ` line is run, its output compared

CONSOLE = re.compile(r"(?:<!-- console: ([\w-]+) -->\s*\n)?```console\n(.*?)```", re.S)
#: The venvs console blocks run in: the README's "Try it" for each host, as a reader makes them.
SETUPS = {"demo": "gymnasium", "demo-gym": "gym"}


def console_blocks(page: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(setup, [(command, expected output lines)]) of each console block of ``page``."""
    blocks = []
    for setup, body in CONSOLE.findall((ROOT / page).read_text()):
        steps: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        blocks.append((setup, steps))
    return blocks


def test_every_console_block_is_run_by_a_test():
    for page in [*PAGES, *(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]:
        for setup, steps in console_blocks(page):
            assert setup in SETUPS, f"{page}: a console block without <!-- console: SETUP --> ({sorted(SETUPS)})"
            assert steps and all(command for command, _ in steps), f"{page}: a console block without a command"


def quickstart(host: str) -> tuple[list[str], list[str]]:
    """The README's "Try it" commands for ``host``, less `git clone`: (setup, the ones its console block shows)."""
    shown = {command for setup, steps in console_blocks("README.md") if SETUPS[setup] == host for command, _ in steps}
    for block in re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S):
        lines = [line for line in block.splitlines() if not line.startswith("git clone ")]
        if lines and lines[0].startswith("python3 -m venv ") and f"import {host};" in block:
            return [line for line in lines if line not in shown], [line for line in lines if line in shown]
    raise AssertionError(f"README has no quick-start command for {host}")


@dataclass
class Site:
    """A clone of the repository with the "Try it" venv of one host, as a reader makes it."""

    clone: Path
    venv: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    clone = copy_source(ROOT, tmp_path_factory.mktemp("reader"))
    setup, shown = quickstart(HOST)
    run(["bash", "-ec", "\n".join(setup)], cwd=clone, timeout=900)
    venv = clone / re.search(r"python3 -m venv (\S+)", setup[0]).group(1)
    if HOST == "gymnasium":  # for `run --record` (docs/cli.md) and `gallery` (docs/gallery.md), as the pages say
        run([venv / "bin" / "pip", "install", "--quiet", "imageio-ffmpeg>=0.4.9", f"{clone}[gallery]"], timeout=900)
    return Site(clone, venv)


def normalize(text: str, here: Path, site: Site, home: Path) -> list[str]:
    """Output as the docs print it: paths relative to the clone, ~ for home, no durations, columns by content."""
    for path, shown in ((here, ""), (site.clone, ""), (home, "~")):
        text = text.replace(f"{path}/", f"{shown}/" if shown else "").replace(str(path), shown or ".")
    text = re.sub(r"python3\.\d+", "python3.X", text)
    text = re.sub(r"\b\d+(\.\d+)? (ms|s)\b", "N s", text)
    text = re.sub(r"\b[0-9a-f]{24}\b", "HASH", text)
    return [re.sub(r" +", " ", line.rstrip()) for line in text.rstrip("\n").splitlines()]


@pytest.mark.integration
@pytest.mark.parametrize("page", PAGES)
def test_console_blocks_print_what_the_docs_say(site, page, tmp_path):
    """Each page from a fresh working folder and cache, its blocks in order; every difference is reported."""
    blocks = [steps for setup, steps in console_blocks(page) if SETUPS[setup] == HOST]
    if not blocks:
        pytest.skip(f"no console block for {HOST} in {page}")
    here, home = tmp_path / "work", tmp_path / "home"
    here.mkdir()
    home.mkdir()
    (here / site.venv.name).symlink_to(site.venv)  # `.venv-demo/bin/gymplug` works from here
    env = clean_env({"PATH": f"{site.venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "HOME": str(home),
                     "PYTHONUNBUFFERED": "1", "COLUMNS": "100"})
    for name in ("GYMPLUG_CACHE_DIR", "XDG_CACHE_HOME", "NO_COLOR", "TERM"):
        env.pop(name, None)
    report = []
    for steps in blocks:
        for command, expected in steps:
            proc = subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env=env, cwd=here, timeout=600)
            got = normalize(proc.stdout, here, site, home)
            want = normalize("\n".join(expected), here, site, home) if expected else []
            if got != want:
                shown = proc.stdout.replace(f"{here}/", "").replace(f"{site.clone}/", "").replace(str(home), "~")
                report.append(f"$ {command}\n--- the docs say\n" + "\n".join(expected) + f"\n--- it printed\n{shown}")
    assert not report, f"{page}:\n\n" + "\n\n".join(report)


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


def test_every_test_security_md_names_exists():
    """SECURITY.md's tables name the test behind each claim: each of them is a real test."""
    import re

    from helpers import ROOT

    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:tests/)?(?:[\w]+\.py)?(?:::)?(test_\w+)(?:\[[^\]]*\])?`", text))
    named |= set(re.findall(r"::(test_\w+)", text))
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    defined = set(re.findall(r"^def (test_\w+)", sources, re.M))
    files = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    missing = sorted(n for n in named if n not in defined and n not in files)
    assert len(named) > 30 and missing == []
