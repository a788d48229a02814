"""``gymplug list`` and ``gymplug info``: what is installed, and one environment in detail."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import fnmatch
import inspect
import sys
from typing import Any, Optional

from .. import _builtins
from .._entries import Form, normalize_name
from .._settings import current
from ._catalog import PROBLEMS, EnvRow, catalog, owner_of
from ._hosts import attach, find_env, selected_hosts
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

__all__ = ["add_parsers"]


def matches(row: EnvRow, pattern: Optional[str], plugin: Optional[str]) -> bool:
    if plugin and normalize_name(row.distribution or "") != normalize_name(plugin):
        return False
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(row.id.lower(), pattern.lower())
    return pattern.lower() in row.id.lower()


def installed_version(name: str) -> Optional[str]:
    """The version of the installed distribution ``name`` (any spelling), or None."""
    from importlib import metadata

    key = normalize_name(name)
    for dist in metadata.distributions():
        if normalize_name(dist.metadata["Name"] or "") == key:
            return dist.version
    return None


def no_plugin_envs(plugin: str, hosts: list[str], known: set[str]) -> str:
    """Why no environment of ``plugin`` is shown; CommandError if no such distribution is installed."""
    version = installed_version(plugin)
    if version is None:
        close = difflib.get_close_matches(plugin, sorted(known), n=3)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        raise CommandError(f"no distribution named '{plugin}' is installed{hint}")
    return f"{plugin} {version} is installed but declares no environments for {' or '.join(hosts)}"


def cmd_list(args: argparse.Namespace) -> int:
    hosts = selected_hosts(args.host)
    everything: list[EnvRow] = []
    for host in hosts:
        # --no-import runs no plugin code: then the host's own ids may be those kept from its last import
        kept = _builtins.stand_in(host, current(), bool(args.quiet)) if args.no_import else None
        if kept is not None:
            manager, printed = kept
            sys.stderr.write(printed)  # the host's notices, as its import would have printed them
        else:
            before = None if host in sys.modules else set(sys.modules)
            heard: list[str] = []
            manager = attach(host, heard)
            if args.no_import and before is not None:
                _builtins.remember(host, manager, before, current(), heard[0], bool(args.quiet))
        if not args.no_import:
            with stdout_to_stderr():
                manager.load_all()
        everything.extend(catalog(manager, builtins=args.all))
    rows = [r for r in everything if matches(r, args.pattern, args.plugin)]
    problems = [r for r in rows if r.status in PROBLEMS]
    status = EXIT_PROBLEM if problems else EXIT_OK
    if args.plugin and not any(matches(r, None, args.plugin) for r in everything):
        message = no_plugin_envs(args.plugin, hosts, {r.distribution for r in everything if r.distribution})
    else:
        message = "no environments found" + ("" if args.all else " (--all adds the hosts' own)")
    if args.json:
        emit_json({"format": JSON_FORMAT, "envs": [r.to_json() for r in rows]})
        return status
    if args.quiet:
        for r in problems:
            error_line(f"{r.status.value}: {r.id} ({r.host}) of {r.distribution} {r.version}: {r.detail}")
        return status
    if not rows:
        print(message, file=sys.stderr)
        return status
    headers = ["ID", "HOST", "STATUS", "DISTRIBUTION", "ENTRY POINT"]
    shown = [[r.id, r.host, r.status, f"{r.distribution} {r.version}" if r.distribution else "", _entry_point(r)]
             for r in rows]
    if any(r.detail for r in rows):  # why a row is broken, a conflict, disabled or shadowed
        headers.append("DETAIL")
        for line, r in zip(shown, rows):
            line.append(r.detail or "")
    print(table(headers, shown, color_column=2))
    return status


def _entry_point(row: EnvRow) -> str:
    """What ``make`` imports; for a plugin not loaded (or not loadable), the value of its entry."""
    if row.entry_point:
        return row.entry_point
    return (row.entry or "").partition(" = ")[2] or row.entry or ""


def _entry(declaration: Any) -> Optional[str]:
    """The metadata entry that declares the id, or how a package without one provides it."""
    if declaration is None:
        return None
    if declaration.form is Form.IMPORT:  # learned: no entry point, the package registers it when imported
        return f"none: registered when {declaration.value} is imported"
    return str(declaration.entry)


def _class_name(cls: type) -> str:
    """The importable name of ``cls``: a class made by a factory function is the module attribute it is bound to."""
    if "<locals>" in cls.__qualname__:
        return f"{cls.__module__}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def describe_env(host: str, manager: Any, env_id: str, kwargs: Optional[dict] = None) -> dict[str, Any]:
    host_module = sys.modules[host]
    spec = host_module.spec(env_id)
    with stdout_to_stderr():
        env = host_module.make(env_id, **(kwargs or {}))
    try:
        unwrapped = env.unwrapped
        declaration = owner_of(manager, spec.id)
        try:
            source = inspect.getfile(type(unwrapped))
        except (TypeError, OSError):
            source = None
        return {
            "id": spec.id,
            "host": host,
            "distribution": declaration.dist.name if declaration else None,
            "version": declaration.dist.version if declaration else None,
            "entry": _entry(declaration),
            "entry_point": spec.entry_point if isinstance(spec.entry_point, str) else repr(spec.entry_point),
            "max_episode_steps": spec.max_episode_steps,
            "reward_threshold": spec.reward_threshold,
            "nondeterministic": spec.nondeterministic,
            "kwargs": spec.kwargs,
            "observation_space": str(env.observation_space),
            "action_space": str(env.action_space),
            "render_modes": list(getattr(unwrapped, "metadata", {}).get("render_modes", [])),
            "class": _class_name(type(unwrapped)),
            "source": source,
        }
    finally:
        with contextlib.suppress(Exception):
            env.close()


def cmd_info(args: argparse.Namespace) -> int:
    found = find_env(args.id, args.host)
    info = describe_env(found.host, found.manager, found.env_id)
    if args.json:
        emit_json({"format": JSON_FORMAT, **info})
    elif not args.quiet:
        width = max(len(k) for k in info)
        for key, value in info.items():
            say(False, f"{key.replace('_', ' '):<{width}}  {'-' if value is None else value}")
    return EXIT_OK


def add_parsers(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "list",
        parents=parents,
        help="list environments and where they come from",
        description="One row per environment id: host, status, providing distribution and entry point. "
        "Never imports an environment's module; loads registration plugins (Form B) unless --no-import. "
        "Exit 1 if a row shown is broken or a conflict.",
        epilog="statuses: declared (registered, not imported), loaded, pending (plugin not loaded), broken,\n"
        "  conflict, disabled, shadowed (the host's id wins), learned, builtin (with --all)\n\n"
        "examples:\n  gymplug list\n  gymplug list 'Grid/*' --no-import\n"
        "  gymplug -q list      exit 1 if a plugin is broken",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("pattern", nargs="?", metavar="PATTERN", help="a substring of the id, or a glob such as 'Grid/*'")
    p.add_argument("--plugin", metavar="DIST", help="only the environments of this distribution")
    p.add_argument("--all", action="store_true", help="include the hosts' built-in environments")
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/cli.md says what each field is)")
    p.add_argument("--no-import", action="store_true", help="run no plugin code: registration plugins show as pending")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "info",
        parents=parents,
        help="make one environment and describe it",
        description="Resolve and make ID (this imports its code), then show its spec, spaces, render modes, "
        "the distribution it comes from and where its code lives.",
        epilog="examples:\n  gymplug info Grid/Maze-v0\n  gymplug info foo-v0 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("id", metavar="ID", help="an environment id, as for make(): foo-v0, Grid/Maze-v0, module:id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)
