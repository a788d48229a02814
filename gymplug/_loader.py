"""The loader: Form B sources waiting to load, loading them once, and undoing what a failed one did.

No gymplug lock is held while plugin code runs: a plugin's import may wait on an import lock that
another thread holds while it looks up an id (which would wait on gymplug: a deadlock). A source
being loaded is marked in flight instead; another thread that needs it waits for it, bounded, and
only if that thread is not itself in the middle of an import.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Iterator, Optional

from . import _locks
from ._entries import Declaration, Form, provides, split_env_id
from ._errors import GymplugError, one_line
from ._locks import held_import, importing
from ._log import get_logger
from ._plugins import PluginRunner

if TYPE_CHECKING:
    from ._adapter import HostAdapter
    from ._claims import ClaimPolicy
    from ._learning import PluginHints
    from ._ledger import Ledger
    from ._registry import RawRegistry

__all__ = ["Loader", "Loading"]

logger = get_logger(__name__)

#: How long a lookup waits for another thread's load of the source it needs.
WAIT_SECONDS = 20.0

_loaders: "weakref.WeakSet[Loader]" = weakref.WeakSet()


class Loading:
    """One load in progress, in one thread."""

    __slots__ = ("attempted", "declaration", "foreign", "legacy")

    def __init__(self, declaration: Declaration) -> None:
        self.declaration = declaration
        #: every id the source registered or tried to, refused ones included: what is learned of it
        self.attempted: list[str] = []
        #: ids written by threads other than the loading one: never "restored" over
        self.foreign: set[str] = set()
        #: True while a legacy registration function runs: the host's register() then puts the
        #: ids it is given in the declaration's namespace, as gym 0.26's namespace() did
        self.legacy = False


def _resolve(module: str, attr: Optional[str]) -> Any:
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


class Loader:
    """Pending Form B sources of one host, and the ``register`` their code is given."""

    def __init__(self, host: "HostAdapter", ledger: "Ledger", policy: "ClaimPolicy", raw: "RawRegistry") -> None:
        self.host = host
        self.ledger = ledger
        self.policy = policy
        self.raw = raw
        #: namespace (None: root) -> Form B declarations not loaded yet
        self.pending: dict[Optional[str], list[Declaration]] = {}
        #: declarations being loaded -> (set when done, the loading thread's ident)
        self._inflight: dict[Declaration, tuple[threading.Event, int]] = {}
        self._active: list[Loading] = []
        self._local = threading.local()  # .stack: this thread's loads; .quiet: no lazy loads
        self.plugins = PluginRunner()
        #: what Form B plugins registered when they last loaded (set at attach; None: load as if unknown)
        self.hints: Optional["PluginHints"] = None
        #: learned id -> the spec gymplug registered for it, until its package registers its own
        self.placeholders: dict[str, Any] = {}
        #: Form B sources whose module another thread was importing when this process was forked from it
        self._orphaned: set[Declaration] = set()
        self._lock = _locks.Lock()  # pending, in flight, active: dictionary work only
        _loaders.add(self)

    # -- context --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def loading(self, declaration: Declaration) -> Iterator[Loading]:
        """Within this block, this thread's registrations are ``declaration``'s."""
        state = Loading(declaration)
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(state)
        with self._lock:
            self._active.append(state)
        try:
            yield state
        finally:
            stack.pop()
            with self._lock:
                self._active.remove(state)

    def current(self) -> Optional[Loading]:
        stack = getattr(self._local, "stack", None)
        return stack[-1] if stack else None

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Within this block, registry misses load nothing (the host's register() checks)."""
        self._local.quiet = getattr(self._local, "quiet", 0) + 1
        try:
            yield
        finally:
            self._local.quiet -= 1

    def is_quiet(self) -> bool:
        return bool(getattr(self._local, "quiet", 0))

    def noted_write(self, key: str) -> None:
        """Someone other than a loading plugin wrote ``key``: no load in progress may undo it."""
        with self._lock:
            for state in self._active:
                state.foreign.add(key)

    # -- registration -----------------------------------------------------------------------

    def register_as(self, owner: Declaration, id: Any, entry_point: Any = None, **options: Any) -> None:
        """Register ``id`` for ``owner``, checked by the claim policy."""
        state = self.current()
        if state is not None and isinstance(id, str):
            namespace = owner.namespace if owner.form is Form.PLUGIN else None
            state.attempted.append(f"{namespace}/{id}" if namespace and "/" not in id else id)
        if owner.form is Form.ENV and id == owner.name:
            pass  # a Form A entry's own id: parse_entry has validated it
        elif (parsed := split_env_id(id) if isinstance(id, str) else None) is None:
            self.policy.refuse(owner, repr(id), "not an env id '[Namespace/]Name[-vN]'")
            return
        elif owner.form is Form.PLUGIN and owner.namespace is not None:
            if parsed[0] is None:
                id = f"{owner.namespace}/{id}"
            elif parsed[0] != owner.namespace:
                self.policy.refuse(owner, id, f"outside the namespace '{owner.namespace}' of its entry point")
                return
        try:
            spec = self.host.env_spec(id, entry_point, **options)
        except Exception as exc:
            self.policy.refuse(owner, id, f"invalid options: {one_line(exc)}")
            return
        if self.policy.claim(id, owner):
            self.raw.store(id, spec)

    def take_placeholder(self, env_id: object) -> None:
        """``env_id`` is being registered: a learned placeholder of it goes first, silently (no "Overriding")."""
        spec = self.placeholders.pop(env_id, None) if isinstance(env_id, str) else None
        if spec is not None and self.raw.peek(env_id) is spec:
            self.raw.drop(env_id)  # type: ignore[arg-type]

    def register(self, id: str, entry_point: Any = None, **options: Any) -> None:
        """Register an environment for the plugin being loaded (see ``gymplug_register_envs``)."""
        state = self.current()
        if state is None:
            raise GymplugError("register() may only be called from a gymplug_register_envs hook")
        self.register_as(state.declaration, id, entry_point, **options)

    # -- pending sources --------------------------------------------------------------------

    def add(self, declaration: Declaration) -> None:
        with self._lock:
            self.pending.setdefault(declaration.namespace, []).append(declaration)

    def pending_declarations(self) -> list[Declaration]:
        with self._lock:
            return [d for declarations in self.pending.values() for d in declarations] + list(self._inflight)

    def has_work(self) -> bool:
        return bool(self.pending or self._inflight)

    def _wanted(self, declaration: Declaration, key: Optional[str]) -> Optional[bool]:
        """Must ``declaration`` load for a miss of ``key``? None: nothing is known of it (load it)."""
        if key is None or self.hints is None:
            return None
        ids = self.hints.ids(declaration)
        return None if ids is None else provides(ids, key)

    def _registered(self, namespace: Optional[str], key: str) -> bool:
        hints = self.hints
        return hints is not None and any(key in (hints.ids(d) or ()) for d in self.pending.get(namespace, ()))

    def _take(
        self, namespaces: Optional[tuple[Optional[str], ...]], key: Optional[str] = None
    ) -> tuple[list[Declaration], list[threading.Event]]:
        """Pop what to load (of ``namespaces``, None: all; for a miss of ``key``, only the sources not
        known to lack it) and the events of those in flight in other threads."""
        wanted = {d: self._wanted(d, key) for n in (namespaces or ()) for d in self.pending.get(n, ())} if key else {}
        with self._lock:
            keys = list(self.pending) if namespaces is None else [n for n in namespaces if n in self.pending]
            todo = []
            for name in keys:
                keep = [d for d in self.pending[name] if wanted.get(d, None) is False]
                todo += [d for d in self.pending[name] if wanted.get(d, None) is not False]
                if keep:
                    self.pending[name] = keep
                else:
                    del self.pending[name]
            me = threading.get_ident()
            for declaration in todo:
                self._inflight[declaration] = (threading.Event(), me)
            waits = [  # never a load of this very thread (a plugin that looks ids up while it registers)
                event
                for declaration, (event, thread) in self._inflight.items()
                if thread != me
                and declaration not in todo
                and (namespaces is None or declaration.namespace in namespaces)
            ]
        return todo, waits

    def load_for(self, key: object) -> None:
        """A lookup of ``key`` missed: load the pending plugins of its namespace and the root ones."""
        if not isinstance(key, str) or self.is_quiet() or not self.has_work():
            return
        namespace = key.split("/", 1)[0] if "/" in key else None
        namespaces: tuple[Optional[str], ...] = (namespace, None) if namespace is not None else (None,)
        # A plugin of another namespace known to have registered this very id (refused there, so that
        # its refusal can be explained) loads too.
        namespaces += tuple(n for n in list(self.pending) if n not in namespaces and self._registered(n, key))
        todo, waits = self._take(namespaces, key)
        promised = [d for d in todo if self._wanted(d, key)]
        delivered = self._run((todo, waits))
        if promised and not provides(delivered, key) and any(self.pending.get(n) for n in namespaces):
            # A source known to provide it did not: the hints are stale; load the rest, as if unknown.
            self._run(self._take(namespaces))

    def load_all(self) -> None:
        """Load every pending plugin (a complete listing was asked for)."""
        while self.pending:
            self._run(self._take(None))
        self._run(([], self._take(None)[1]))  # and wait for other threads' loads in progress

    def _run(self, work: tuple[list[Declaration], list[threading.Event]]) -> list[str]:
        """Load ``todo``, then wait for the loads in flight elsewhere; the ids the loaded sources registered."""
        todo, waits = work
        delivered: list[str] = []
        for index, declaration in enumerate(todo):
            try:
                delivered += self._load(declaration)
            except BaseException:  # KeyboardInterrupt: this one and the rest stay pending, for a retry
                with self._lock:
                    for undone in todo[index:]:
                        self.pending.setdefault(undone.namespace, []).append(undone)
                        self._inflight.pop(undone)[0].set()
                raise
            with self._lock:
                self._inflight.pop(declaration)[0].set()
        if waits and not importing():
            for event in waits:
                if not event.wait(WAIT_SECONDS):
                    logger.warning("gave up waiting %.0f s for another thread's plugin load", WAIT_SECONDS)
                    break
        return delivered

    # -- loading one source -----------------------------------------------------------------

    def _load(self, declaration: Declaration) -> list[str]:
        """Load one Form B source; the ids it registered or tried to (recorded as hints on success)."""
        start = time.perf_counter()
        before = self.raw.snapshot()
        owners_before = dict(self.ledger.owners)
        plugin = None
        with self.loading(declaration) as state:
            try:
                if declaration in self._orphaned:
                    raise RuntimeError(
                        f"this process was forked while another thread was importing {declaration.module}; that "
                        "import can never finish here: make the environment before forking, or use the spawn "
                        "start method"
                    )
                obj = _resolve(declaration.module, declaration.attr)
                plugin = self.plugins.run(declaration, obj, self.register, state)
            except BaseException as exc:
                self._forget(declaration, plugin)
                self._restore(before, owners_before, state)
                if isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
                    raise
                # SystemExit from plugin code included: it must not end the process
                self.ledger.fail(declaration, exc)
                logger.warning("plugin %s failed to load: %s", declaration.describe(), one_line(exc))
            else:
                self._restore(before, owners_before, state)
                logger.debug("loaded plugin %s", declaration.describe())
                if self.hints is not None:  # a shadowed id stays the host's: loading the plugin never gives it
                    shadowed = self.ledger.shadowed
                    ids = [i for i in dict.fromkeys(state.attempted) if declaration not in shadowed.get(i, ())]
                    self.hints.record(declaration, ids, time.perf_counter() - start)
        self.ledger.load_times[declaration] = time.perf_counter() - start
        return state.attempted

    @property
    def pm(self) -> Any:
        """The pluggy plugin manager of the hook plugins, made when the first one loads."""
        return self.plugins.pm

    def _forget(self, declaration: Declaration, plugin: Any) -> None:
        """Drop what a plugin registered before its registration failed: all or nothing."""
        if plugin is not None:
            self.plugins.forget(plugin)
        with self.ledger.lock:
            for env_id in self.ledger.owned_by(declaration):
                del self.ledger.owners[env_id]
                self.raw.drop(env_id)

    def _restore(self, before: dict, owners_before: dict, state: Loading) -> None:
        """Undo what a plugin did, behind register(), to ids registered before it (deleted or replaced).

        An id of the plugin's own distribution may be re-registered; an id another thread wrote
        meanwhile is that thread's. A built-in stays the host's whatever the order of loads.
        """
        declaration = state.declaration
        for env_id, spec in before.items():
            if env_id in state.foreign or self.raw.peek(env_id) is spec or env_id in self.ledger.conflicts:
                continue
            previous = owners_before.get(env_id)
            if previous is not None and previous.dist.key == declaration.dist.key:
                continue
            with self.ledger.lock:
                self.raw.store(env_id, spec)
                if previous is None:
                    self.ledger.owners.pop(env_id, None)
                else:
                    self.ledger.owners[env_id] = previous
            if previous is None:
                self.ledger.shadow(env_id, declaration)
            reason = "it removed or replaced an environment registered before it; restored"
            self.policy.refuse(declaration, env_id, reason)

    def after_fork_in_child(self) -> None:
        """The threads that were loading do not exist here: their loads are pending again (locks: see _locks)."""
        mine = list(getattr(self._local, "stack", ()))  # the forking thread may itself be loading
        loading = {state.declaration for state in mine}
        for declaration in [d for d in self._inflight if d not in loading]:
            self.pending.setdefault(declaration.namespace, []).append(declaration)
            del self._inflight[declaration]
            self.plugins.forget_name(declaration.plugin_name)  # a hook plugin registered, its hook not done
            if held_import(declaration.module):  # its import lock is held for good here: fail, never hang
                self._orphaned.add(declaration)
        self._active = mine


def _after_fork_in_child() -> None:
    for loader in list(_loaders):
        loader.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
