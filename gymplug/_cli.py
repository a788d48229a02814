"""The ``gymplug`` command: see and try the environments that installed plugins provide."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import fnmatch
import importlib
import importlib.util
import json
import logging
import os
import sys
from typing import Any, Iterator, Optional, Sequence

from . import _activation
from ._catalog import EnvRow, Status, catalog
from ._entries import GROUPS, normalize_name, printable
from ._errors import GymplugError
from ._version import __version__

__all__ = ["main"]

HOSTS = tuple(GROUPS)
EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
JSON_FORMAT = 1  # bumped only on incompatible changes of the --json output


class CommandError(GymplugError):
    """An error the command reports on one line, exiting 1."""


# -- output -----------------------------------------------------------------------------------

_COLORS = {
    Status.DECLARED: "36",
    Status.LOADED: "32",
    Status.PENDING: "33",
    Status.BROKEN: "31",
    Status.CONFLICT: "31",
    Status.DISABLED: "90",
    Status.SHADOWED: "33",
    Status.BUILTIN: "90",
    "ok": "32",
    "FAIL": "31",
    "problem": "31",
    "warning": "33",
}


def use_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, key: Any, color: bool) -> str:
    code = _COLORS.get(key)
    return f"\033[{code}m{text}\033[0m" if color and code else text


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, color_column: Optional[int] = None) -> str:
    """An aligned text table; the status column is coloured on a terminal (not when piped, nor with NO_COLOR)."""
    color = use_color()
    cells = [[("" if c is None else getattr(c, "value", c)) for c in row] for row in rows]
    cells = [[printable(str(c)) for c in row] for row in cells]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for row, raw in zip(cells, rows):
        parts = []
        for i, (cell, width) in enumerate(zip(row, widths)):
            padded = cell.ljust(width)
            parts.append(paint(padded, raw[i], color) if i == color_column else padded)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send anything written to stdout (by plugins or hosts, even at the fd level) to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout: Python-level redirection is all there is to do
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


# -- hosts ------------------------------------------------------------------------------------


def installed_hosts() -> list[str]:
    return [h for h in HOSTS if importlib.util.find_spec(h) is not None]


def selected_hosts(choice: Optional[str]) -> list[str]:
    if choice:
        if importlib.util.find_spec(choice) is None:
            raise CommandError(f"{choice} is not installed here; pip install 'gymplug[{choice}]'")
        return [choice]
    hosts = installed_hosts()
    if not hosts:
        raise CommandError("neither gym nor gymnasium is installed; pip install 'gymplug[gymnasium]'")
    return hosts


def attach(host: str) -> Any:
    """Import ``host`` (which attaches gymplug to it) and return its manager."""
    with stdout_to_stderr():
        module = importlib.import_module(host)
    manager = _activation.get_manager(host)
    if manager is None:
        raise CommandError(f"gymplug could not attach to {host} {getattr(module, '__version__', '')}".rstrip())
    return manager


def find_env(env_id: str, choice: Optional[str]) -> tuple[str, Any]:
    """The host that has ``env_id`` (gymnasium first), loading plugins as a lookup does."""
    hosts = selected_hosts(choice)
    known: list[str] = []
    for host in sorted(hosts, key=lambda h: h != "gymnasium"):
        manager = attach(host)
        with stdout_to_stderr():
            manager.resolve(env_id, import_entry=False)
            if env_id in manager.host.registry:
                return host, manager
            manager.load_all()
        known.extend(dict.keys(manager.host.registry))
    close = difflib.get_close_matches(env_id, known, n=3)
    hint = f"; did you mean: {', '.join(close)}?" if close else "; see: gymplug list"
    raise CommandError(f"unknown environment '{env_id}' ({' or '.join(hosts)}){hint}")


# -- commands ---------------------------------------------------------------------------------


def matches(row: EnvRow, pattern: Optional[str], plugin: Optional[str]) -> bool:
    if plugin and normalize_name(row.distribution or "") != normalize_name(plugin):
        return False
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(row.id.lower(), pattern.lower())
    return pattern.lower() in row.id.lower()


def cmd_list(args: argparse.Namespace) -> int:
    rows: list[EnvRow] = []
    for host in selected_hosts(args.host):
        manager = attach(host)
        if not args.no_import:
            with stdout_to_stderr():
                manager.load_all()
        rows.extend(r for r in catalog(manager, builtins=args.all) if matches(r, args.pattern, args.plugin))
    if args.json:
        emit_json({"format": JSON_FORMAT, "envs": [r.to_json() for r in rows]})
        return EXIT_OK
    if not rows:
        print("no environments found" + ("" if args.all else " (--all adds the hosts' own)"), file=sys.stderr)
        return EXIT_OK
    headers = ("ID", "HOST", "STATUS", "DISTRIBUTION", "ENTRY POINT")
    print(
        table(
            headers,
            [(r.id, r.host, r.status, f"{r.distribution} {r.version}" if r.distribution else "", r.detail if r.status in (Status.BROKEN, Status.CONFLICT) else r.entry_point or r.entry) for r in rows],
            color_column=2,
        )
    )
    return EXIT_OK


def describe_env(host: str, manager: Any, env_id: str) -> dict[str, Any]:
    import inspect

    host_module = sys.modules[host]
    spec = host_module.spec(env_id)
    with stdout_to_stderr():
        env = host_module.make(env_id)
    try:
        unwrapped = env.unwrapped
        declaration = manager.owners.get(spec.id)
        try:
            source = inspect.getfile(type(unwrapped))
        except (TypeError, OSError):
            source = None
        return {
            "id": spec.id,
            "host": host,
            "distribution": declaration.dist.name if declaration else None,
            "version": declaration.dist.version if declaration else None,
            "entry": declaration.entry if declaration else None,
            "entry_point": spec.entry_point if isinstance(spec.entry_point, str) else repr(spec.entry_point),
            "max_episode_steps": spec.max_episode_steps,
            "reward_threshold": spec.reward_threshold,
            "nondeterministic": spec.nondeterministic,
            "kwargs": spec.kwargs,
            "observation_space": str(env.observation_space),
            "action_space": str(env.action_space),
            "render_modes": list(getattr(unwrapped, "metadata", {}).get("render_modes", [])),
            "class": f"{type(unwrapped).__module__}.{type(unwrapped).__qualname__}",
            "source": source,
        }
    finally:
        with contextlib.suppress(Exception):
            env.close()


def cmd_info(args: argparse.Namespace) -> int:
    host, manager = find_env(args.id, args.host)
    info = describe_env(host, manager, args.id)
    if args.json:
        emit_json({"format": JSON_FORMAT, **info})
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key.replace('_', ' '):<{width}}  {'-' if value is None else value}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from . import _cli_run, _doctor, _scaffold

    def verbosity(*, top: bool) -> argparse.ArgumentParser:
        # Subcommands get SUPPRESS defaults, or `gymplug -v list` would lose its -v to the subparser's default.
        parent = argparse.ArgumentParser(add_help=False)
        verbose, quiet = (0, False) if top else (argparse.SUPPRESS, argparse.SUPPRESS)
        parent.add_argument("-v", "--verbose", action="count", default=verbose, help="log what gymplug does (-vv: debug); show tracebacks")
        parent.add_argument("-q", "--quiet", action="store_true", default=quiet, help="print errors only")
        return parent

    common = verbosity(top=False)
    host_option = argparse.ArgumentParser(add_help=False)
    host_option.add_argument("--host", choices=HOSTS, help="only this host (default: every installed one)")

    parser = argparse.ArgumentParser(
        prog="gymplug",
        description="See and try the reinforcement-learning environments that installed plugins provide.",
        epilog="Exit status: 0 ok, 1 a problem was found, 2 usage error. NO_COLOR turns colour off. "
        "Environment: GYMPLUG_DISABLE=dist[,dist] blocks distributions; GYMPLUG_AUTOLOAD=0 turns the startup hook off.",
        parents=[verbosity(top=True)],
    )
    parser.add_argument("--version", action="version", version=f"gymplug {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "list",
        parents=[common, host_option],
        help="list environments and where they come from",
        description="One row per environment id: host, status, providing distribution and entry point. "
        "Never imports an environment's module; loads registration plugins (Form B) unless --no-import.",
        epilog="Statuses: declared (registered, not imported), loaded, pending (plugin not loaded), broken, "
        "conflict, disabled, shadowed (the host's id wins), builtin (with --all).",
    )
    p.add_argument("pattern", nargs="?", metavar="PATTERN", help="a substring of the id, or a glob such as 'Grid/*'")
    p.add_argument("--plugin", metavar="DIST", help="only the environments of this distribution")
    p.add_argument("--all", action="store_true", help="include the hosts' built-in environments")
    p.add_argument("--json", action="store_true", help="machine-readable output (see README: 'gymplug list --json')")
    p.add_argument("--no-import", action="store_true", help="run no plugin code: registration plugins show as pending")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "info",
        parents=[common, host_option],
        help="make one environment and describe it",
        description="Resolve and make ID (this imports its code), then show its spec, spaces, render modes, "
        "the distribution it comes from and where its code lives.",
    )
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    _cli_run.add_parsers(sub, [common, host_option])
    _doctor.add_parser(sub, [common])
    _scaffold.add_parser(sub, [common])
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else None)
    if level is not None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("gymplug")
        logger.addHandler(handler)
        logger.setLevel(level)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("gymplug: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            import traceback

            traceback.print_exc()
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not isinstance(exc, GymplugError):
            message = f"{type(exc).__name__}: {message}"
        print(f"gymplug: error: {printable(message)}", file=sys.stderr)
        return EXIT_PROBLEM
