"""Which hosts the command works with, attaching gymplug to them, and finding the host of an env id."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from typing import Any, NamedTuple, Optional

from .. import _activation
from .._entries import printable
from .._errors import safe_str
from .._hosts import GROUPS
from .._hosts import facts
from ._output import CommandError, stdout_to_stderr

__all__ = [
    "HOSTS",
    "NO_HOST",
    "Found",
    "attach",
    "describe_error",
    "dist_version",
    "find_env",
    "host_problem",
    "installed_hosts",
    "quiet_host_notices",
    "selected_hosts",
]

HOSTS = tuple(GROUPS)
#: What every command says when there is nothing to plug into.
NO_HOST = "neither gym nor gymnasium is installed here: pip install gymnasium (or 'gym==0.26.2' 'numpy<2')"


def installed_hosts() -> list[str]:
    return [h for h in HOSTS if importlib.util.find_spec(h) is not None]


def selected_hosts(choice: Optional[str]) -> list[str]:
    if choice:
        if importlib.util.find_spec(choice) is None:
            install = " ".join(f"'{r}'" for r in facts(choice).requirements)
            raise CommandError(f"{choice} is not installed here: pip install {install}")
        return [choice]
    hosts = installed_hosts()
    if not hosts:
        raise CommandError(NO_HOST)
    return hosts


def quiet_host_notices() -> None:
    """For ``-q``: gym 0.26.2 prints a notice of several lines on stderr when imported (from the gym_notices
    package, with no switch to turn it off); empty the table it reads, before gym is imported."""
    try:
        import gym_notices.notices as notices  # type: ignore[import-not-found]
    except Exception:  # not installed, or broken: nothing to quiet
        return
    notices.notices = {}


def dist_version(dist: str) -> Optional[str]:
    from importlib import metadata  # here: reading metadata costs a listing 30 ms to import

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def host_problem(host: str) -> Optional[str]:
    """A known incompatibility of ``host`` with what is installed (gym 0.26 with numpy 2), with its fix."""
    return facts(host).numpy_problem(dist_version("numpy"), dist_version(host))


def describe_error(exc: BaseException, host: Optional[str]) -> str:
    """``exc`` on one line; when the host is known not to work here, the line names the fix."""
    text = (safe_str(exc).splitlines() or [""])[0]
    line = f"{type(exc).__name__}: {text}".rstrip(": ") if not isinstance(exc, CommandError) else text
    problem = host_problem(host) if host else None
    return f"{line} ({problem})" if problem else line


class _Heard:
    """Stands for stderr while a host is imported: writes go on to it, and are kept (its notices)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def attach(host: str, heard: Optional[list[str]] = None) -> Any:
    """Import ``host`` (which attaches gymplug to it) and return its manager; ``heard`` gets what the import
    printed (the host's notices: gym's, Gymnasium's), which goes to stderr as ever."""
    saved = sys.stderr
    listener = _Heard(saved) if heard is not None else None
    if listener is not None:
        sys.stderr = listener
    try:
        with stdout_to_stderr():
            module = importlib.import_module(host)
    finally:
        if listener is not None and heard is not None:
            sys.stderr = saved
            heard.append("".join(listener.parts))
    manager = _activation.get_manager(host)
    if manager is None:
        raise CommandError(f"gymplug could not attach to {host} {getattr(module, '__version__', '')}".rstrip())
    return manager


class Found(NamedTuple):
    """Where an id given on the command line lives."""

    host: str
    manager: Any
    #: the id without its ``module:`` prefix (that module is imported): what ``spec`` and ``make`` take
    env_id: str


def find_env(env_id: str, choice: Optional[str]) -> Found:
    """The host that has ``env_id`` (gymnasium first), loading plugins as a lookup does.

    ``module:id`` (the host's own form) imports ``module`` first, as ``make`` would.
    """
    hosts = selected_hosts(choice)
    known: list[str] = []
    module, _, bare_id = env_id.rpartition(":")
    for host in sorted(hosts, key=lambda h: h != "gymnasium"):
        manager = attach(host)
        with stdout_to_stderr():
            if module:
                try:
                    importlib.import_module(module)
                except ImportError as exc:
                    raise CommandError(f"cannot import {module!r} (the module of '{printable(env_id)}'): "
                                       f"{type(exc).__name__}: {safe_str(exc)}") from exc
            manager.resolve(bare_id, import_entry=False)
            if bare_id in manager.host.registry:
                return Found(host, manager, bare_id)
            manager.load_all()
            if bare_id in manager.host.registry:
                return Found(host, manager, bare_id)
        known_error = manager.explain(bare_id)
        if known_error is not None:  # a refused, broken, disabled or conflicting id: say why
            raise known_error
        known.extend(dict.keys(manager.host.registry))
        known.extend(env for env, _, _ in manager.learning.learned_ids())
    close = difflib.get_close_matches(env_id, known, n=3)
    hint = f"; did you mean: {', '.join(close)}?" if close else "; see: gymplug list"
    raise CommandError(f"unknown environment '{printable(env_id)}' ({' or '.join(hosts)}){hint}")
