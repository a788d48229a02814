"""The shape of gymplug.cli (no import circle, small modules) and its in-process helpers."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import gymplug.cli
from gymplug.cli import _hosts

CLI = Path(gymplug.cli.__file__).parent


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.update(f"{node.module or ''}.{a.name}".strip(".") for a in node.names)
            found.add(node.module or "")
    return found


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_commands_never_import_main_and_modules_stay_small(path):
    if path.name not in ("__init__.py", "_main.py"):
        assert not {i for i in _imports(path) if i.endswith("_main")}, path.name
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 400
    assert max(len(line) for line in text.splitlines()) <= 120


def test_the_old_modules_are_gone():
    package = CLI.parent
    for name in ("_cli.py", "_cli_run.py", "_doctor.py", "_catalog.py"):
        assert not (package / name).exists(), name


def test_library_errors_are_gymplug_errors_not_the_commands():
    from gymplug import _scaffold, _video

    for module in (_scaffold, _video):
        assert "CommandError" not in Path(module.__file__).read_text(encoding="utf-8")
        assert "cli" not in {i.split(".")[0] for i in _imports(Path(module.__file__))}


def test_errors_name_the_numpy_fix_for_gym_0_26(monkeypatch):
    versions = {"numpy": "2.1.0", "gym": "0.26.2"}
    monkeypatch.setattr(_hosts, "dist_version", versions.get)
    line = _hosts.describe_error(AttributeError("module 'numpy' has no attribute 'bool8'"), "gym")
    assert line.startswith("AttributeError: module 'numpy' has no attribute 'bool8'")
    assert "pip install 'numpy<2'" in line
    versions["numpy"] = "1.26.4"
    assert "numpy<2" not in _hosts.describe_error(AttributeError("x"), "gym")


def test_main_returns_2_on_usage_errors(capsys):
    with pytest.raises(SystemExit) as exited:
        gymplug.cli.main(["run", "foo-v0", "--episodes", "0"])
    assert exited.value.code == 2
    assert "--episodes: must be 1 or more" in capsys.readouterr().err
    assert sys.modules["gymplug.cli._main"]


def test_the_cli_reference_gives_every_command_with_every_option():
    import re

    from helpers import ROOT  # the source tree: under tox, gymplug itself is installed elsewhere

    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    synopses = {m.group(1): m.group(2) for m in re.finditer(r"\*\*`gymplug (\w+)(.*?)`\*\*", reference, re.S)}
    parser = gymplug.cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        ignored = ("--help", "--verbose", "--quiet")
        options = {s for a in sub._actions for s in a.option_strings[-1:] if s not in ignored}
        for option in options:
            assert re.search(rf"{re.escape(option)}\b", synopses[name]), (name, option)


def test_a_reader_that_goes_away_is_no_error():
    """`gymplug list --all | head -1`: the pipe closes before gymplug is done writing."""
    import subprocess

    from helpers import HOST, NEUTRAL_CWD, clean_env

    args = [sys.executable, "-m", "gymplug", "list", "--all", "--host", HOST]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=NEUTRAL_CWD) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()  # before the command has written anything
            proc.wait(timeout=120)
            err = proc.stderr.read().decode()
        finally:
            proc.kill()
    assert "Error" not in err and proc.returncode == 141, (proc.returncode, err)


def test_the_exit_statuses_are_listed_once_in_the_help_and_the_reference():
    import re

    from gymplug.cli._main import EXIT_STATUSES
    from helpers import ROOT

    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \|", reference, re.M)
    assert rows == [code for code, _ in EXIT_STATUSES] == ["0", "1", "2", "130", "141"]


def test_a_command_imports_its_own_module_only():
    import subprocess

    code = ("import sys, gymplug.cli\nparser = gymplug.cli.build_parser('list')\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('gymplug.cli.'))))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                check=True).stdout.split())
    assert "gymplug.cli._list" in loaded
    assert not loaded & {f"gymplug.cli.{name}" for name in ("_check", "_run", "_index", "_gallery", "_doctor", "_new")}


@pytest.mark.parametrize("argv", [
    ["list"], ["-v", "list", "--json"], ["-q", "-v", "info", "CartPole-v1", "--json"], ["check", "--host", "gym"],
    ["run", "foo-v0", "--episodes", "2"], ["index", "--refresh"], ["gallery", "out"], ["doctor", "--json"],
    ["new", "gymplug-x"], ["-vv", "list", "--all"],
])
def test_the_parser_of_one_command_reads_its_arguments_as_the_whole_parser_does(argv):
    from gymplug.cli._main import _command

    command = _command(argv)
    assert command == next(arg for arg in argv if not arg.startswith("-"))
    assert vars(gymplug.cli.build_parser(command).parse_known_args(argv)[0]) == vars(
        gymplug.cli.build_parser().parse_known_args(argv)[0])


@pytest.mark.parametrize("argv", [[], ["-h"], ["--version"], ["nope"], ["--host", "gym", "list"], ["-h", "list"]])
def test_anything_but_a_command_after_top_level_options_gets_the_whole_parser(argv):
    from gymplug.cli._main import _command

    assert _command(argv) is None
