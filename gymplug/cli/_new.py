"""``gymplug new``: the command around :func:`gymplug._scaffold.scaffold`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Optional

from .._errors import ScaffoldError
from .._scaffold import FORMS, HOST_REQUIREMENTS, scaffold
from ._output import EXIT_OK, CommandError, say

__all__ = ["add_parser"]


def cmd_new(args: argparse.Namespace) -> int:
    try:
        written = scaffold(args.name, args.host, args.form, Path(args.dir))
    except ScaffoldError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write the plugin: {exc}") from None
    root = Path(args.dir) / args.name
    for path in written:
        say(args.quiet, str(path))
    if not args.quiet:
        print(f"\nnext: {next_step(root)}", file=sys.stderr)
    return EXIT_OK


def _source_tree() -> Optional[Path]:
    """The source tree gymplug runs from when no installed distribution provides it (PYTHONPATH, a checkout)."""
    from importlib import metadata  # here: the other commands never read metadata through it

    try:
        metadata.distribution("gymplug")
        return None
    except metadata.PackageNotFoundError:
        tree = Path(__file__).resolve().parents[2]
        return tree if (tree / "setup.cfg").is_file() else None


def next_step(root: Path) -> str:
    """Install the new plugin and run its tests, with the Python that runs gymplug (a venv need not be active).

    The plugin requires gymplug, which that Python already has; from a source tree that is not installed,
    the line installs gymplug from it too (gymplug is not on the package index).
    """
    python = shlex.quote(sys.executable or "python3")
    source = _source_tree()
    gymplug = f" {shlex.quote(str(source))}" if source else ""
    tests = shlex.quote(str(root / "tests"))
    return f"{python} -m pip install{gymplug} -e {shlex.quote(f'{root}[test]')} && {python} -m pytest {tests}"


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "new",
        parents=parents,
        help="scaffold a plugin distribution",
        description="Write a complete plugin distribution in PATH/NAME (PATH: --dir): setup.cfg with the entry "
        "point and gymplug among the requirements, a package with a small working env, a README and conformance "
        "tests. Refuses to overwrite existing files, and names that are not valid, are Python keywords, or are "
        "those of gymplug, a host, or an installed distribution or package. Then prints the command that "
        "installs it and runs its tests, with this Python.",
        epilog="examples:\n  gymplug new gymplug-cartwheel\n  gymplug new gymplug-mazes --form B --dir plugins",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME",
                   help="the distribution name, e.g. gymplug-cartwheel (package: gymplug_cartwheel)")
    p.add_argument("--host", choices=sorted(HOST_REQUIREMENTS), default="gymnasium",
                   help="the host the env is written for (default gymnasium)")
    p.add_argument("--dir", default=".", metavar="PATH", help="where to create the NAME folder (default: here)")
    p.add_argument("--form", choices=FORMS, default="A",
                   help="A: env entry (default); B: registration plugin with per-id options")
    p.set_defaults(func=cmd_new)
