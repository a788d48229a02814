"""The ledger: what gymplug knows about every env id and declaration of one host.

Everything else records into it (the claim policy, the loader, attach) and reads from it through
methods: :meth:`Ledger.explain` is the error a lookup raises, :meth:`Ledger.entries` the rows of
``gymplug list``, :meth:`Ledger.findings` the lines of ``gymplug doctor``.
"""

from __future__ import annotations

import enum
from typing import Callable, Iterable, Iterator, NamedTuple, Optional

from . import _locks
from ._entries import Declaration, EntryProblem, Form, printable
from ._errors import (
    EnvConflictError,
    InvalidEntryError,
    PluginDisabledError,
    PluginError,
    PluginLoadError,
    describe_exception,
    one_line,
)

__all__ = ["Entry", "Finding", "Ledger", "Status"]


class Status(str, enum.Enum):
    """Where an id stands. The values are part of ``gymplug list --json``."""

    DECLARED = "declared"  # registered from metadata; its module not imported
    LOADED = "loaded"  # registered, and its code imported
    PENDING = "pending"  # a Form B plugin not loaded yet: its ids are not known
    BROKEN = "broken"  # a malformed entry, or a plugin that failed to load
    CONFLICT = "conflict"  # declared by more than one distribution: not registered
    DISABLED = "disabled"  # its distribution is blocked by GYMPLUG_DISABLE
    SHADOWED = "shadowed"  # the host already had the id; the host's stays
    BUILTIN = "builtin"  # the host's own (or registered by user code)
    LEARNED = "learned"  # a package that registers on import provides it (learned); not imported yet
    EMPTY = "empty"  # a package that requires the host, learned to register no environment (list --all)


class Entry(NamedTuple):
    """One thing the ledger knows that is not a plain registered id: a row of ``gymplug list``."""

    env_id: str
    status: Status
    declaration: Optional[Declaration] = None
    detail: Optional[str] = None
    problem: Optional[EntryProblem] = None


class Finding(NamedTuple):
    """One line of ``gymplug doctor``: level "ok", "note", "warning" or "problem"."""

    level: str
    message: str


#: Builds the host-flavoured error: (gymplug error class, message, env_id=..., declarations=..., problem=...).
ErrorFactory = Callable[..., PluginError]


def plugin_id(declaration: Declaration) -> str:
    """How a Form B plugin whose ids are not known is shown: ``Namespace/*``, or ``*`` for the root."""
    return f"{declaration.namespace}/*" if declaration.namespace else "*"


class Ledger:
    """The record of one host's ids and declarations; safe to write from several threads."""

    def __init__(self, error: ErrorFactory) -> None:
        self._error = error
        #: Guards compound updates; held for dictionary work only, never while plugin code runs.
        self.lock = _locks.RLock()
        #: env id -> the declaration that registered it
        self.owners: dict[str, Declaration] = {}
        #: env id -> every declaration that claimed it (none of them is registered)
        self.conflicts: dict[str, list[Declaration]] = {}
        #: env id -> plugin declarations refused because the id was the host's (built-in or user's)
        self.shadowed: dict[str, list[Declaration]] = {}
        #: env id -> malformed entry that meant to declare it
        self.invalid: dict[str, EntryProblem] = {}
        #: every malformed entry, in discovery order
        self.problems: tuple[EntryProblem, ...] = ()
        #: declarations of distributions blocked by GYMPLUG_DISABLE
        self.disabled: list[Declaration] = []
        #: Form B declarations whose loading failed, with the cause
        self.failures: dict[Declaration, BaseException] = {}
        #: (declaration, id, reason) for ids a plugin tried to register and gymplug refused
        self.rejected: list[tuple[Declaration, str, str]] = []
        #: Form B declaration -> seconds its loading took
        self.load_times: dict[Declaration, float] = {}

    # -- recording --------------------------------------------------------------------------

    def add_problems(self, problems: tuple[EntryProblem, ...]) -> None:
        self.problems += problems
        for problem in problems:
            if problem.env_id is not None:
                self.invalid.setdefault(problem.env_id, problem)

    def refuse(self, declaration: Declaration, env_id: str, reason: str) -> None:
        with self.lock:
            self.rejected.append((declaration, env_id, reason))

    def shadow(self, env_id: str, declaration: Declaration) -> None:
        with self.lock:
            claims = self.shadowed.setdefault(env_id, [])
            if declaration not in claims:
                claims.append(declaration)

    def fail(self, declaration: Declaration, exc: BaseException) -> None:
        self.failures[declaration] = exc

    def owned_by(self, declaration: Declaration) -> list[str]:
        with self.lock:
            return [env_id for env_id, owner in self.owners.items() if owner == declaration]

    # -- reading ----------------------------------------------------------------------------

    def owner(self, env_id: str) -> Optional[Declaration]:
        return self.owners.get(env_id)

    def explain(self, env_id: str) -> Optional[PluginError]:
        """The gymplug error that says why ``env_id`` is missing, if the ledger knows one."""
        namespace = env_id.split("/", 1)[0] if "/" in env_id else None
        claims = self.conflicts.get(env_id)
        if claims:
            names = "; ".join(d.describe() for d in claims)
            return self._error(
                EnvConflictError,
                f"'{env_id}' is declared by more than one distribution: {names}. Nothing was registered; "
                f"uninstall one, or block one with GYMPLUG_DISABLE={claims[-1].dist.name}",
                env_id=env_id,
                declarations=tuple(claims),
            )
        problem = self.invalid.get(env_id)
        if problem is not None:
            return self._error(
                InvalidEntryError,
                f"cannot make '{env_id}': the entry point that declares it is malformed: {problem.describe()}",
                env_id=env_id,
                problem=problem,
            )
        for declaration in self.disabled:
            if declaration.env_id == env_id or (namespace is not None and declaration.namespace == namespace):
                return self._error(
                    PluginDisabledError,
                    f"'{env_id}' comes from {declaration.describe()}, "
                    f"and GYMPLUG_DISABLE blocks {declaration.dist.name}",
                    env_id=env_id,
                    declarations=(declaration,),
                )
        for declaration, refused, reason in list(self.rejected):
            if refused == env_id:
                return self._error(
                    PluginLoadError,
                    f"cannot make '{env_id}': {declaration.describe()} registered it, and gymplug refused it: {reason}",
                    env_id=env_id,
                    declarations=(declaration,),
                )
        for declaration, exc in list(self.failures.items()):
            if namespace is not None and declaration.namespace == namespace:
                error = self._error(
                    PluginLoadError,
                    f"cannot make '{env_id}': the plugin of namespace '{namespace}', {declaration.describe()}, "
                    f"failed to load: {one_line(exc)}",
                    env_id=env_id,
                    declarations=(declaration,),
                )
                error.__cause__ = exc
                return error
        return None

    def miss_note(self) -> Optional[str]:
        """A note for the host's own "not found" error: plugins that failed, or are disabled, and may have had it."""
        notes = []
        if self.failures:
            failed = "; ".join(f"{d.describe()}: {one_line(e)}" for d, e in list(self.failures.items()))
            notes.append(f"gymplug: plugins that failed to load, and may have provided it: {failed}")
        roots = sorted({str(d.dist) for d in self.disabled if d.form is Form.PLUGIN and d.namespace is None})
        if roots:
            blocked = ", ".join(roots)
            notes.append(f"gymplug: GYMPLUG_DISABLE blocks root-namespace plugins that may provide it: {blocked}")
        return "\n".join(notes) or None

    def entries(self, pending: Iterable[Declaration] = ()) -> Iterator[Entry]:
        """Everything but the plain registered ids: conflicts, shadowed, pending, broken, disabled, refused."""
        for env_id, claims in list(self.conflicts.items()):
            names = ", ".join(str(d.dist) for d in claims)
            yield from (Entry(env_id, Status.CONFLICT, d, f"declared by {names}") for d in claims)
        for env_id, claims in list(self.shadowed.items()):
            yield from (Entry(env_id, Status.SHADOWED, d, "the host already has this id") for d in claims)
        for declaration in pending:
            yield Entry(plugin_id(declaration), Status.PENDING, declaration)
        for declaration, exc in list(self.failures.items()):
            yield Entry(plugin_id(declaration), Status.BROKEN, declaration, describe_exception(exc))
        for declaration in self.disabled:
            yield Entry(declaration.env_id or plugin_id(declaration), Status.DISABLED, declaration, "GYMPLUG_DISABLE")
        for problem in self.problems:
            yield Entry(problem.env_id or problem.name or "?", Status.BROKEN, None, problem.reason, problem)
        for declaration, env_id, reason in list(self.rejected):
            yield Entry(env_id, Status.BROKEN, declaration, f"refused: {reason}")

    def findings(self) -> Iterator[Finding]:
        """What ``gymplug doctor`` says of the plugins: problems first, then notes."""
        for problem in self.problems:
            yield Finding("problem", f"malformed entry point of {problem.describe()}")
        for declaration, exc in list(self.failures.items()):
            yield Finding("problem", f"plugin {declaration.describe()} failed to load: {describe_exception(exc)}")
        for env_id, claims in list(self.conflicts.items()):
            names = " and ".join(str(d.dist) for d in claims)
            yield Finding("problem", f"'{env_id}' is declared by {names}: none is registered")
        for env_id, claims in list(self.shadowed.items()):
            names = ", ".join(str(d.dist) for d in claims)
            yield Finding("warning", f"'{env_id}' of {names} is shadowed by the host's own")
        for declaration, env_id, reason in list(self.rejected):
            yield Finding("warning", f"{declaration.describe()} registered '{printable(env_id)}', refused: {reason}")
        for declaration in self.disabled:
            yield Finding("note", f"disabled by GYMPLUG_DISABLE: {declaration.describe()}")
        for declaration, seconds in sorted(self.load_times.items(), key=lambda item: -item[1]):
            yield Finding("note", f"plugin {declaration.plugin_name} loaded in {seconds * 1000:.1f} ms")
        count = sum(1 for owner in list(self.owners.values()) if owner.form is not Form.IMPORT)  # learned: apart
        yield Finding("ok", f"{count} plugin environment{'s' if count != 1 else ''} registered")
