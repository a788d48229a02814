"""Learning as the manager sees it: which import source provides an id, and importing it on demand.

Import sources are installed distributions that declare no entry point and register envs when imported.
Which ids each provides is learned in child processes (:mod:`._children`) and kept in the learned
store (:mod:`._store`). Learned ids whose specs are plain data become registry entries at attach
(:meth:`Learning.entries`); making one imports only its package. A lookup that misses imports only the
distribution known to provide the id; a miss that no source explains imports nothing. Nothing here runs
at host import: only at attach (the store, when it holds something), on a miss, or when a listing asks.

One miss has one time budget (:data:`MISS_BUDGET`), for waiting on another process's learning and for
the children together: a ``make()`` that looks an id up three times waits at most that long in all.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, TextIO

from .. import _locks
# Imported here, not on the first miss: a lookup must import nothing of gymplug's, or a child forked
# while another thread imports it would wait on that module's import lock forever.
from .._entries import Declaration, Distribution, Form, provides
from .._errors import one_line
from .._ledger import Finding
from .._log import get_logger
from .._settings import Settings, current
from ._learn import learn_missing
from ._record import DEFAULT_TIMEOUT, Learned
from ._sources import Source, find_sources
from ._store import known

if TYPE_CHECKING:
    from .._loader import Loader

__all__ = ["MISS_BUDGET", "Learning"]

logger = get_logger(__name__)

#: Seconds one miss may spend on learning in all: waiting for another process's lock, and the children.
MISS_BUDGET = 30.0
#: How long a thread waits for another thread's import of the provider it needs.
WAIT_SECONDS = 20.0

_instances: "weakref.WeakSet[Learning]" = weakref.WeakSet()


def declaration_of(group: str, source: Source, item: Optional[Learned] = None) -> Declaration:
    """The declaration that stands for an import source: its value is the modules a lookup imports."""
    modules = ",".join(item.modules if item is not None and item.modules else source.modules)
    return Declaration(Distribution(source.key, source.version), group, "__import__", modules, Form.IMPORT)


class Learning:
    """The import sources of one host, what is known of them, and importing a provider on demand."""

    def __init__(self, host: str, group: str, loader: "Loader", settings: Optional[Settings] = None) -> None:
        self.host = host
        self.group = group
        self.loader = loader
        self.settings = settings
        self._lock = _locks.Lock()
        self._sources: Optional[tuple[list[Source], list[Source]]] = None  # (usable, disabled)
        self._learned: dict[str, Learned] = {}
        self._all_learned = False
        self._store_read = False
        #: distribution keys imported in this process (or whose import failed: recorded in the ledger)
        self._done: set[str] = set()
        #: distribution key -> (set when its import ends, the importing thread)
        self._importing: dict[str, tuple[threading.Event, int]] = {}
        self._local = threading.local()  # .deadline: the budget of the miss this thread is in
        #: sources whose child timed out or was killed in this process: not tried again here
        self._gave_up: set[str] = set()
        #: how many results this process has learned (a change means new registry entries to make)
        self.learned = 0
        #: distribution key -> the thread that was importing it when this process was forked from another
        self._orphaned: dict[str, int] = {}
        _instances.add(self)

    def _settings(self) -> Settings:
        return current() if self.settings is None else self.settings

    # -- what is installed and known ------------------------------------------------------------

    def sources(self) -> tuple[list[Source], list[Source]]:
        """(usable, disabled) import sources on sys.path now (a stat per path entry when nothing changed)."""
        found = find_sources(self.host, list(sys.path), self._settings().disable)
        with self._lock:
            if found != self._sources:  # sys.path changed, or a distribution was installed or removed
                self._sources = found
                self._all_learned = self._store_read = False
            return found

    def forget_sources(self) -> None:
        """What is installed changed: find the sources again on the next use."""
        with self._lock:
            self._sources = None

    def known(self) -> dict[str, Learned]:
        """What the learned store holds for the sources installed now (learns nothing)."""
        usable, disabled = self.sources()
        found = known(self.host, usable + disabled, self._settings())
        with self._lock:
            self._learned.update(found)
            self._store_read = True
        return found

    def _known_once(self) -> None:
        if not self._store_read:  # once per set of sources: a miss must not read the file each time
            self.known()

    def learn(
        self,
        stream: Optional[TextIO] = None,
        first: Optional[str] = None,
        on_result: Optional[Callable[[Source, Learned], None]] = None,
        whole: bool = False,
    ) -> dict[str, Learned]:
        """Learn the usable sources not learned yet (children; once between concurrent processes), within
        the budget of the miss in progress (or a budget of its own). ``first``: the id a lookup asked for.

        A source whose child timed out or was killed is not tried again in this process (it is, in the
        next one: such a result is never stored); one that a round stopped before it ran is. ``whole``
        (``gymplug index``): every source, with time for each, not the budget of a lookup.
        """
        usable, _ = self.sources()
        todo = [s for s in usable if whole or s.key not in self._gave_up]

        def seen(source: Source, item: Learned) -> None:
            if item.transient and not item.error.startswith(("not learned", "cut short")):  # type: ignore[union-attr]
                self._gave_up.add(source.key)
            if on_result is not None:
                on_result(source, item)

        with self.budget() as deadline:
            if whole:  # time for every source: the children's limit each, two at a time at worst
                deadline = max(deadline, time.monotonic() + DEFAULT_TIMEOUT * (len(todo) + 1) / 2)
            found = learn_missing(self.host, todo, self._settings(), deadline=deadline, stream=stream,
                                  first=first, on_result=seen)
        with self._lock:
            self.learned += sum(1 for key, item in found.items() if self._learned.get(key) is not item)
            self._learned.update(found)
            self._all_learned = all(s.key in self._learned or s.key in self._gave_up for s in usable)
        return found

    @contextlib.contextmanager
    def budget(self) -> Iterator[float]:
        """The deadline (``time.monotonic()``) of the miss this thread is in; the outermost one sets it."""
        outer = getattr(self._local, "deadline", None)
        if outer is not None:
            yield outer
            return
        self._local.deadline = time.monotonic() + MISS_BUDGET
        try:
            yield self._local.deadline
        finally:
            self._local.deadline = None

    def spent(self) -> bool:
        """Has the miss this thread is in used up its budget?"""
        deadline = getattr(self._local, "deadline", None)
        return deadline is not None and time.monotonic() >= deadline

    # -- registry entries and providers ------------------------------------------------------

    def entries(self) -> tuple[list[tuple[Declaration, str, Mapping[str, Any]]], dict[str, list[Declaration]]]:
        """Registry entries and clashes of the learned ids of the usable sources.

        Entries: (declaration, id, spec fields) of each learned id whose spec is plain data. Clashes: id ->
        the declarations of the sources that each provide it (flappy-bird-env and flappy-bird-gymnasium
        both register ``FlappyBird-v0``); an id that a source's own requirement also provides is the
        requirement's alone, since importing a package imports what it requires. Read from the store
        only: attach learns nothing.
        """
        if not self._settings().learn:
            return [], {}
        usable, _ = self.sources()
        if not usable:
            return [], {}
        self._known_once()
        return learned_entries(self.group, {s.key: (s, self._learned[s.key]) for s in usable if s.key in self._learned})

    def providers(self, env_id: str) -> tuple[list[Declaration], list[Declaration]]:
        """(usable, disabled) declarations of the sources known to provide ``env_id``."""
        usable, disabled = self.sources()
        if not usable and not disabled:  # the common case: nothing to ask the store about
            return [], []
        self._known_once()

        def providing(sources: list[Source]) -> list[Declaration]:
            found = []
            for source in sources:
                item = self._learned.get(source.key)
                if item is not None and provides(item.ids, env_id):
                    found.append(declaration_of(self.group, source, item))
            return found

        return providing(usable), providing(disabled)

    def declaration(self, source: Source, item: Optional[Learned] = None) -> Declaration:
        """The declaration that stands for ``source`` in this host's ledger and listings."""
        return declaration_of(self.group, source, item)

    def learned_sources(self) -> list[tuple[Source, Learned]]:
        """(source, what is known of it) for each usable source learned so far (failed ones included)."""
        usable, _ = self.sources()
        self._known_once()
        return [(s, self._learned[s.key]) for s in usable if s.key in self._learned]

    def miss_note(self) -> Optional[str]:
        """A note for the host's "not found" error: packages that failed to learn, and may have had the id."""
        if not self._settings().learn or not self._store_read:
            return None
        failed = [(s, item) for s, item in self.learned_sources() if item.error]
        if not failed:
            return None
        lines = [f"gymplug: {s.key} {s.version} could not be imported to learn its environments: {item.error}"
                 for s, item in failed]
        names = " ".join(s.key for s, _ in failed)
        lines.append(f"gymplug: fix that, then `gymplug index --refresh {names}` (a failure is also tried again "
                     "after ten minutes)")
        return "\n".join(lines)

    # -- a miss -----------------------------------------------------------------------------------

    def load_for(self, env_id: str) -> None:
        """A miss that nothing declared explains: import the known provider, learning first if need be."""
        settings = self._settings()
        if not settings.learn:  # GYMPLUG_LEARN=0: gymplug imports no package that declares nothing
            return
        sources, blocked = self.sources()
        if not sources and not blocked:
            return
        with self.budget():
            usable, disabled = self.providers(env_id)
            if not usable and not disabled and not self._all_learned and not self.spent():
                self.learn(first=env_id)
                usable, disabled = self.providers(env_id)
            for declaration in usable:
                self.load(declaration)

    def load(self, declaration: Declaration) -> bool:
        """Import a provider's modules in this process, its registrations checked as a plugin's.

        Once per process, and once between threads: a thread that needs a provider another thread is
        importing waits for it (bounded, and not while it holds an import lock itself). A failure is
        recorded in the ledger (SystemExit included: plugin code must not end the process); a
        KeyboardInterrupt leaves the provider to import again. True if it is imported.
        """
        key = declaration.dist.key
        me = threading.get_ident()
        if key in self._orphaned:
            modules = ", ".join(declaration.value.split(","))
            self.loader.ledger.fail(declaration, RuntimeError(
                f"this process was forked while another thread was importing {modules}; that import can never "
                "finish here: make the environment before forking, or use the spawn start method"
            ))
            self._done.add(key)
            del self._orphaned[key]
        with self._lock:
            if key in self._done:
                return declaration not in self.loader.ledger.failures
            busy = self._importing.get(key)
            if busy is None:
                self._importing[key] = (threading.Event(), me)
        if busy is not None:
            event, thread = busy
            if thread != me and not _locks.importing() and not event.wait(WAIT_SECONDS):
                logger.warning("gave up waiting %.0f s for another thread's import of %s", WAIT_SECONDS, key)
            return key in self._done and declaration not in self.loader.ledger.failures
        ok = False
        try:
            with self.loader.loading(declaration):
                for module in declaration.value.split(","):
                    importlib.import_module(module)
            ok = True
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - plugin code, SystemExit included: recorded, never raised here
            self.loader.ledger.fail(declaration, exc)
            logger.warning("importing %s failed: %s", declaration.describe(), one_line(exc))
        finally:
            with self._lock:
                event, _ = self._importing.pop(key)
                if ok or key not in self._done and declaration in self.loader.ledger.failures:
                    self._done.add(key)
            event.set()
        return ok

    # -- listings ---------------------------------------------------------------------------------

    def findings(self) -> list[Finding]:
        """What ``gymplug doctor`` says of learning: failed packages first, then what is known."""
        usable, _ = self.sources()
        self._known_once()
        found: list[Finding] = []
        counts: dict[str, int] = {}
        for source in usable:
            item = self._learned.get(source.key)
            if item is None:
                continue
            if item.error:
                found.append(Finding("problem", f"{source.key} {source.version} could not be imported to learn its "
                                     f"environments: {item.error}"))
            elif item.ids:
                counts[source.key] = len(item.ids)
            else:
                found.append(Finding("note", f"{source.key} {source.version} requires {self.host} and registers "
                                     "no environment when imported"))
        waiting = [s.key for s in usable if s.key not in self._learned]
        if waiting:
            found.append(Finding("note", f"not learned yet (the next lookup that misses, or `gymplug index`, learns "
                                 f"them): {', '.join(waiting)}"))
        if counts:
            total = sum(counts.values())
            each = ", ".join(f"{key} ({count})" for key, count in sorted(counts.items()))
            packages = f"{len(counts)} package{'s' if len(counts) != 1 else ''}"
            found.append(Finding("ok", f"{total} learned environment{'s' if total != 1 else ''} from {packages} "
                                 f"that register on import: {each}"))
        return found


    def learned_ids(self) -> list[tuple[str, Declaration, Optional[str]]]:
        """(id, declaration, entry point) of every learned id of an installed source, for listings."""
        usable, disabled = self.sources()
        known = self.known()
        rows: list[tuple[str, Declaration, Optional[str]]] = []
        for source in usable + disabled:
            item = known.get(source.key)
            if item is None:
                continue
            declaration = declaration_of(self.group, source, item)
            rows.extend((env_id, declaration, item.specs.get(env_id, {}).get("entry_point")) for env_id in item.ids)
        return rows

    def after_fork_in_child(self) -> None:
        """The threads that were importing do not exist here. Their modules' import locks are held for
        good (CPython's, not gymplug's): importing such a provider again would hang, so it fails at once."""
        me = threading.get_ident()
        self._orphaned.update((key, thread) for key, (_, thread) in self._importing.items() if thread != me)
        self._importing = {key: busy for key, busy in self._importing.items() if busy[1] == me}
        self._local = threading.local()


def learned_entries(
    group: str, learned: Mapping[str, tuple[Source, Learned]]
) -> tuple[list[tuple[Declaration, str, Mapping[str, Any]]], dict[str, list[Declaration]]]:
    """Registry entries and clashes of ``learned`` (source key -> (source, what it registered)): see
    :meth:`Learning.entries`, which reads them from the store; ``_quick`` reads them at attach."""
    providers: dict[str, list[str]] = {}
    for key, (_, item) in learned.items():
        for env_id in item.ids:
            providers.setdefault(env_id, []).append(key)
    entries: list[tuple[Declaration, str, Mapping[str, Any]]] = []
    clashes: dict[str, list[Declaration]] = {}
    for env_id, keys in providers.items():
        if len(keys) > 1:  # drop a provider that has it only because it requires another provider
            keys = [k for k in keys if not any(name in keys for name, _ in learned[k][0].depends)] or keys
        if len(keys) > 1:
            clashes[env_id] = [declaration_of(group, *learned[key]) for key in sorted(keys)]
            continue
        source, item = learned[keys[0]]
        fields = item.specs.get(env_id)
        if fields is not None:
            entries.append((declaration_of(group, source, item), env_id, fields))
    return entries, clashes


def _after_fork_in_child() -> None:
    for learning in list(_instances):
        learning.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
