"""``gymplug new``: the command around :func:`gymplug._scaffold.scaffold`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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
        print(f"\nnext: pip install -e '{root}[test]' && pytest {root / 'tests'}", file=sys.stderr)
    return EXIT_OK


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "new",
        parents=parents,
        help="scaffold a plugin distribution",
        description="Write a complete plugin distribution in PATH/NAME (PATH: --dir): setup.cfg with the entry "
        "point and gymplug among the requirements, a package with a small working env, a README and conformance "
        "tests. Refuses to overwrite existing files, and names that are not valid, are Python keywords, or are "
        "those of gymplug, a host, or an installed distribution or package.",
    )
    p.add_argument("name", metavar="NAME",
                   help="the distribution name, e.g. gymplug-cartwheel (package: gymplug_cartwheel)")
    p.add_argument("--host", choices=sorted(HOST_REQUIREMENTS), default="gymnasium",
                   help="the host the env is written for (default gymnasium)")
    p.add_argument("--dir", default=".", metavar="PATH", help="where to create the NAME folder (default: here)")
    p.add_argument("--form", choices=FORMS, default="A",
                   help="A: env entry (default); B: registration plugin with per-id options")
    p.set_defaults(func=cmd_new)
