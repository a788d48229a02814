"""``gymplug check``: the conformance rules of :mod:`gymplug.testing`, run on installed environments."""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from .._errors import GymplugError
from ._args import add_kwargs_options, make_kwargs, non_negative_int
from ._catalog import PROBLEMS, catalog, plugin_envs
from ._hosts import attach, describe_error, find_env, host_problem, selected_hosts
from ._list import matches, no_plugin_envs
from ._output import (
    EXIT_OK,
    EXIT_PROBLEM,
    JSON_FORMAT,
    CommandError,
    Progress,
    emit_json,
    error_line,
    say,
    stdout_to_stderr,
    table,
)

if TYPE_CHECKING:
    from .. import testing

__all__ = ["Result", "add_parser", "check_one", "rules"]


def rules(steps: int) -> list[tuple[str, Callable[..., None]]]:
    """The rules ``check`` runs, in order: those of gymplug.testing that run in this process.

    The two that start processes (``makes_without_imports``, ``spawned_subprocess``) are left to
    ``ConformanceTests``: they cost a new interpreter per env. The env checker is run apart
    (:func:`check_one`): what it warns about is shown, and fails nothing.
    """
    from .. import testing  # here: it imports multiprocessing and subprocess, which other commands never need

    return [
        ("reset/step API", testing.check_api),
        ("seeding", functools.partial(testing.check_seeding, steps=min(steps, 25))),
        ("observations in space", functools.partial(testing.check_observations_in_space, steps=steps)),
        ("render modes", testing.check_render_modes),
        ("spec pickles", lambda host, env_id, kwargs=None: testing.check_spec_pickles(host, env_id)),
    ]


@dataclass
class Result:
    """One row of ``check``: an error fails it; warnings (the host checker's, a missing optional dependency) do not."""

    env_id: str
    host: Optional[str]
    error: Optional[str] = None
    warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "FAIL" if self.error is not None else "warn" if self.warnings else "ok"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.env_id, "host": self.host, "ok": self.error is None, "error": self.error,
                "warnings": self.warnings}


def _rule_line(env_id: str, exc: testing.ConformanceError) -> str:
    return str(exc).splitlines()[0].removeprefix(f"{env_id}: ")


def check_one(host: str, env_id: str, steps: int, kwargs: Optional[dict] = None) -> Result:
    """Every rule on ``env_id``: the first failure, on one line, and the warnings."""
    from .. import testing

    result = Result(env_id, host)
    problem = host_problem(host)  # gym 0.26 with numpy 2 breaks its own checker: name the fix
    checks = [("env checker", None), *rules(steps)]
    for name, rule in checks:
        try:
            with stdout_to_stderr(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the rules that care about warnings record their own
                if rule is None:
                    found = testing.env_checker_warnings(host, env_id, kwargs=kwargs)
                    result.warnings += [f"rule 'env checker': {w}" for w in found]
                else:
                    rule(host, env_id, kwargs=kwargs)
        except testing.MissingDependency as exc:
            result.warnings.append(_rule_line(env_id, exc))
        except testing.ConformanceError as exc:
            line = _rule_line(env_id, exc)
            result.error = f"{line} ({problem})" if problem else line
            break
        except Exception as exc:
            if testing.is_missing_dependency(exc):
                result.error = f"cannot be made here, an optional dependency is missing: {describe_error(exc, None)}"
            else:
                result.error = f"{name}: {describe_error(exc, host)}"
            break
    return result


def _targets(args: argparse.Namespace) -> list[Result]:
    """A result for every env to check: to be run (no error yet), or failed before making it."""
    hosts = selected_hosts(args.host)
    if args.ids:
        found = []
        for env_id in args.ids:  # one row per id given, in the order given, unknown ones too
            try:
                where = find_env(env_id, args.host)
            except GymplugError as exc:
                found.append(Result(env_id, None, error=str(exc).splitlines()[0]))
            else:
                found.append(Result(where.env_id, where.host))
        return found
    targets: list[Result] = []
    known: set[str] = set()
    for host in hosts:
        manager = attach(host)
        with stdout_to_stderr():
            manager.load_all()
        targets.extend(Result(env_id, host) for env_id in plugin_envs(manager, args.plugin))
        # Broken plugins, malformed entries and conflicts are failures too: their envs cannot be made.
        for row in catalog(manager):
            known.update([row.distribution] if row.distribution else [])
            if row.status in PROBLEMS and matches(row, None, args.plugin):
                targets.append(Result(row.id, host, error=f"{row.status.value}: {row.detail}"))
    if not targets:
        if args.plugin:
            raise CommandError(no_plugin_envs(args.plugin, hosts, known))
        raise CommandError("no plugin environments to check")
    return sorted(targets, key=lambda t: (t.env_id.lower(), t.host or ""))


def cmd_check(args: argparse.Namespace) -> int:
    kwargs = make_kwargs(args)
    results = _targets(args)
    progress = Progress(quiet=args.quiet, json=args.json)
    for number, result in enumerate(results, 1):
        if result.error is None and result.host is not None:
            if len(results) > 1:
                progress.show(f"checking {number}/{len(results)}: {result.env_id}")
            done = check_one(result.host, result.env_id, args.steps, kwargs)
            result.error, result.warnings = done.error, done.warnings
    progress.clear()
    failed = [r for r in results if r.error is not None]
    if args.json:
        emit_json({"format": JSON_FORMAT, "results": [r.to_json() for r in results]})
    elif args.quiet:
        for r in failed:
            error_line(f"check failed: {r.env_id} ({r.host or '-'}): {r.error}")
    else:
        rows = [(r.env_id, r.host or "-", r.status, r.error or "; ".join(r.warnings)) for r in results]
        say(False, table(("ID", "HOST", "RESULT", "DETAIL"), rows, color_column=2))
        warned = sum(1 for r in results if r.error is None and r.warnings)
        with_warnings = f" ({warned} with warnings)" if warned else ""
        say(False, f"{len(results) - len(failed)} passed{with_warnings}, {len(failed)} failed")
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
        "plugin env, and every broken plugin, malformed entry or conflict as a failure. The host's own envs are "
        "checked the same way. What the host's checker warns about, and a render mode whose optional dependency "
        "is not installed, are warnings (RESULT warn): they fail nothing. Exit 1 if any fails.",
        epilog="examples:\n  gymplug check                       every plugin env\n"
        "  gymplug check Grid/Maze-v0 --steps 20\n  gymplug check Grid/Empty-v0 -k layout=maze",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="environment ids (default: every plugin environment)")
    p.add_argument("--plugin", metavar="DIST", help="only the environments of this distribution")
    p.add_argument("--steps", type=non_negative_int, default=100, metavar="N",
                   help="random steps per environment (default 100)")
    add_kwargs_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_check)
