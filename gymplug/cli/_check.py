"""``gymplug check``: the conformance rules of :mod:`gymplug.testing`, run on installed environments."""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from typing import Any, Callable, Optional

from .. import testing
from ._args import add_kwargs_options, make_kwargs, non_negative_int
from ._catalog import PROBLEMS, catalog, plugin_envs
from ._hosts import host_problem, attach, describe_error, find_env, selected_hosts
from ._list import matches, no_plugin_envs
from ._output import (
    EXIT_OK,
    EXIT_PROBLEM,
    JSON_FORMAT,
    CommandError,
    emit_json,
    error_line,
    say,
    stdout_to_stderr,
    table,
)

__all__ = ["add_parser", "check_one", "rules"]


def rules(steps: int) -> list[tuple[str, Callable[..., None]]]:
    """The rules ``check`` runs, in order: those of gymplug.testing that run in this process.

    The two that start processes (``makes_without_imports``, ``spawned_subprocess``) are left to
    ``ConformanceTests``: they cost a new interpreter per env.
    """
    return [
        ("env checker", testing.check_env_checker),
        ("reset/step API", testing.check_api),
        ("seeding", functools.partial(testing.check_seeding, steps=min(steps, 25))),
        ("observations in space", functools.partial(testing.check_observations_in_space, steps=steps)),
        ("render modes", testing.check_render_modes),
        ("spec pickles", lambda host, env_id, kwargs=None: testing.check_spec_pickles(host, env_id)),
    ]


def check_one(host: str, env_id: str, steps: int, kwargs: Optional[dict] = None) -> Optional[str]:
    """None if ``env_id`` passes every rule; else the first failure, on one line."""
    for name, rule in rules(steps):
        try:
            with stdout_to_stderr(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the rules that care about warnings record their own
                rule(host, env_id, kwargs=kwargs)
        except testing.ConformanceError as exc:
            line = str(exc).splitlines()[0].removeprefix(f"{env_id}: ")
            problem = host_problem(host)  # gym 0.26 with numpy 2 breaks its own checker: name the fix
            return f"{line} ({problem})" if problem else line
        except Exception as exc:
            return f"{name}: {describe_error(exc, host)}"
    return None


def _targets(args: argparse.Namespace) -> list[tuple[str, str, Optional[str]]]:
    """(host, id, failure known before making it) for every env to check."""
    if args.ids:
        return [(*_found(env_id, args.host), None) for env_id in args.ids]
    targets: list[tuple[str, str, Optional[str]]] = []
    known: set[str] = set()
    hosts = selected_hosts(args.host)
    for host in hosts:
        manager = attach(host)
        with stdout_to_stderr():
            manager.load_all()
        targets.extend((host, env_id, None) for env_id in plugin_envs(manager, args.plugin))
        # Broken plugins, malformed entries and conflicts are failures too: their envs cannot be made.
        for row in catalog(manager):
            known.update([row.distribution] if row.distribution else [])
            if row.status in PROBLEMS and matches(row, None, args.plugin):
                targets.append((host, row.id, f"{row.status.value}: {row.detail}"))
    if not targets:
        if args.plugin:
            raise CommandError(no_plugin_envs(args.plugin, hosts, known))
        raise CommandError("no plugin environments to check")
    return sorted(targets, key=lambda t: (t[1].lower(), t[0]))


def _found(env_id: str, host: Optional[str]) -> tuple[str, str]:
    return find_env(env_id, host)[0], env_id


def cmd_check(args: argparse.Namespace) -> int:
    kwargs = make_kwargs(args)
    results = []
    for host, env_id, known in _targets(args):
        results.append((host, env_id, known or check_one(host, env_id, args.steps, kwargs)))
    failed = [r for r in results if r[2] is not None]
    if args.json:
        emit_json({"format": JSON_FORMAT, "results": [{"id": i, "host": h, "ok": e is None, "error": e}
                                                      for h, i, e in results]})
    elif args.quiet:
        for host, env_id, error in failed:
            error_line(f"check failed: {env_id} ({host}): {error}")
    else:
        rows = [(i, h, "ok" if e is None else "FAIL", e or "") for h, i, e in results]
        say(False, table(("ID", "HOST", "RESULT", "DETAIL"), rows, color_column=2))
        say(False, f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.stdout.flush()
    return EXIT_PROBLEM if failed else EXIT_OK


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "check",
        parents=parents,
        help="make environments and check that they follow the API",
        description="For each env, the conformance rules of gymplug.testing that run in-process: the host's env "
        "checker, the reset/step API, seeding (two envs reset with one seed agree), N random steps with every "
        "observation inside the observation space, each render mode, and a spec that pickles. Without ID: every "
        "plugin env, and every broken plugin, malformed entry or conflict as a failure. Exit 1 if any fails.",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="environment ids (default: every plugin environment)")
    p.add_argument("--plugin", metavar="DIST", help="only the environments of this distribution")
    p.add_argument("--steps", type=non_negative_int, default=100, metavar="N",
                   help="random steps per environment (default 100)")
    add_kwargs_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_check)
