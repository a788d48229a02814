"""The parser of the ``gymplug`` command and its entry point; the one module that knows every command."""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import os
import sys
from typing import Optional, Sequence

from .._entries import printable
from .._errors import GymplugError, safe_str
from .._settings import VARIABLES
from .._version import __version__
from ._hosts import HOSTS, quiet_host_notices
from ._output import EXIT_OK, EXIT_PROBLEM

__all__ = ["build_parser", "main"]


#: Each command, in the order of ``--help``, and its module: the module defines its parser and runs it. A run
#: imports only its own command's module (the others cost ``gymplug list`` 15 to 20 ms).
COMMANDS = {"list": "_list", "info": "_list", "check": "_check", "run": "_run", "index": "_index",
            "gallery": "_gallery", "doctor": "_doctor", "new": "_new"}
_TOP_OPTIONS = frozenset({"-v", "--verbose", "-q", "--quiet", "-vv", "-vvv"})  # the top level's: they take no value

#: The exit statuses of every command, listed once: in ``gymplug --help`` (and docs/cli.md).
EXIT_STATUSES = (
    ("0", "ok"),
    ("1", "a problem was found (an error is one line on stderr; -v shows its traceback)"),
    ("2", "usage error: an unknown option, a missing or bad value (--episodes 0, --kwargs '[1]')"),
    ("130", "interrupted (Ctrl-C)"),
    ("141", "the reader of the output went away (gymplug list | head -1)"),
)

EXAMPLES = """\
examples:
  gymplug list                      what the installed plugins provide
  gymplug info Grid/Maze-v0         make one environment and describe it
  gymplug check                     run the conformance rules on every plugin environment
  gymplug run foo-v0 --episodes 3   random-policy episodes (--record DIR saves videos)
  gymplug doctor                    is gymplug active here, and what is broken
  gymplug new gymplug-cartwheel     start a plugin of your own
  gymplug COMMAND --help            each command's options, with examples"""


def _epilog() -> str:
    width = max(len(name) for name in VARIABLES)
    variables = "\n".join(f"  {name:<{width}}  {text}" for name, text in VARIABLES.items())
    statuses = "\n".join(f"  {code:<3}  {text}" for code, text in EXIT_STATUSES)
    return (
        f"{EXAMPLES}\n\n"
        f"exit status:\n{statuses}\n\n"
        "output: tables and summaries on stdout, errors on stderr; -q prints errors only (and what --json asks\n"
        "for). Colour only on a terminal; NO_COLOR turns it off.\n\n"
        f"environment variables (read when a host is imported):\n{variables}"
    )


def _verbosity(*, top: bool) -> argparse.ArgumentParser:
    # Subcommands get SUPPRESS defaults, or `gymplug -v list` would lose its -v to the subparser's default.
    parent = argparse.ArgumentParser(add_help=False)
    verbose, quiet = (0, False) if top else (argparse.SUPPRESS, argparse.SUPPRESS)
    parent.add_argument("-v", "--verbose", action="count", default=verbose,
                        help="log what gymplug does (-vv: debug); show tracebacks")
    parent.add_argument("-q", "--quiet", action="store_true", default=quiet,
                        help="print errors only (and what --json asks for)")
    return parent


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``command`` (one of :data:`COMMANDS`), the parser of that command alone
    (what the others would add is only their usage, shown when no command is given or it is unknown)."""
    common = _verbosity(top=False)
    host_option = argparse.ArgumentParser(add_help=False)
    host_option.add_argument("--host", choices=HOSTS, help="only this host (default: every installed one)")
    parser = argparse.ArgumentParser(
        prog="gymplug",
        description="See and try the reinforcement-learning environments that installed plugins provide.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_verbosity(top=True)],
    )
    parser.add_argument("--version", action="version", version=f"gymplug {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        module = importlib.import_module(f".{name}", __package__)
        parents = [common] if name in ("_doctor", "_new") else [common, host_option]
        add = getattr(module, "add_parsers", None) or module.add_parser
        add(sub, parents)
    return parser


def _command(argv: Sequence[str]) -> Optional[str]:
    """The command ``argv`` names, if nothing before it but the top level's options (else None: parse it all)."""
    for arg in argv:
        if arg in COMMANDS:
            return arg
        if arg not in _TOP_OPTIONS:
            return None
    return None


def _escaped(text: str) -> str:
    """Plugin text with terminal control characters escaped, line breaks kept (tracebacks are lines)."""
    return "\n".join(printable(line) for line in text.split("\n"))


class _EscapingFormatter(logging.Formatter):
    """Log lines and tracebacks carry plugin text: escape it before it reaches a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return _escaped(super().format(record))


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else None)
    if level is not None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_EscapingFormatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("gymplug")
        logger.addHandler(handler)
        logger.setLevel(level)


def _unrecognized(parser: argparse.ArgumentParser, command: str, extra: list[str]) -> None:
    """Exit 2 with the usage of ``command`` and, for a misspelt option, the one meant."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    options = [s for a in sub._actions for s in a.option_strings if s.startswith("--")]
    close = [difflib.get_close_matches(e.partition("=")[0], options, n=1, cutoff=0.75) for e in extra]
    hints = [match[0] for match in close if match]
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    sub.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command; return its exit status (errors are one line on stderr, usage errors exit 2)."""
    parser = build_parser(_command(sys.argv[1:] if argv is None else argv))
    args, extra = parser.parse_known_args(argv)
    if args.command is None:  # `gymplug` alone: what it can do
        parser.print_help()
        return EXIT_OK
    if extra:  # the subcommand's own usage, not the top level's
        _unrecognized(parser, args.command, extra)
    configure_logging(args.verbose, args.quiet)
    if args.quiet:
        quiet_host_notices()
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # a reader that went away shows here, not as Python's complaint at exit
        return status
    except KeyboardInterrupt:
        print("gymplug: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`gymplug list | head`): no error of ours
        # Python would complain again while flushing stdout at exit: point it at devnull (as its docs advise).
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except Exception as exc:
        if args.verbose:
            import traceback

            sys.stderr.write(_escaped(traceback.format_exc()))
        text = safe_str(exc)
        message = text.splitlines()[0] if text.strip() else type(exc).__name__
        if not isinstance(exc, GymplugError):
            message = f"{type(exc).__name__}: {message}"
        print(f"gymplug: error: {printable(message)}", file=sys.stderr)
        return EXIT_PROBLEM
