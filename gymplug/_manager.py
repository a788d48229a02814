"""The gymplug side of one host: discovery, ledger, claim policy and loader, put together.

:class:`HostManager` is what the host patch calls: :meth:`~HostManager.resolve` before a lookup,
:meth:`~HostManager.annotate` after a failed one, :meth:`~HostManager.on_miss` and
:meth:`~HostManager.allow_set` from the lazy registry. What it knows lives in its ledger.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from . import _bulk, _locks
from ._claims import ClaimPolicy
from ._discovery import Discovery, discover, path_state, paused_gc
from ._entries import Declaration, Form, split_env_id
from ._errors import PluginDisabledError, PluginError, PluginLoadError, one_line
from ._ledger import Ledger
from ._loader import Loader
from ._log import get_logger
from ._registry import RawRegistry
from ._settings import Settings, current

if TYPE_CHECKING:
    from ._adapter import HostAdapter
    from ._learning import Learning, PluginHints

__all__ = ["HostManager"]

logger = get_logger(__name__)


class HostManager:
    """Declarations of one host's group, turned into native specs in the host's registry.

    Form A ids are inserted at :meth:`attach`; Form B plugins stay pending until a lookup misses
    in their namespace (root plugins: any miss) or :meth:`load_all` is called.
    """

    def __init__(self, host: "HostAdapter", settings: Optional[Settings] = None) -> None:
        self.host = host
        self.settings = settings
        self.raw = RawRegistry(host.registration)
        self.ledger = Ledger(host.error)
        self.policy = ClaimPolicy(self.ledger, self.raw)
        self.loader = Loader(host, self.ledger, self.policy, self.raw)
        self._learning: Optional["Learning"] = None  # made on first use: see the learning property
        self._learning_lock = _locks.Lock()
        #: True while the learning machinery has not read the store that attaching found entries in
        self._store_unread = False
        self._local = threading.local()  # .open: the lookup in progress before learning was made
        self.discovery = Discovery(host.facts.group)
        self.attached = False
        #: the stats of the sys.path directories when discovery last read them (None: the test seam)
        self._path_state: Optional[tuple] = None
        self._lock = _locks.Lock()
        self._checked: set[str] = set()

    # -- the documented state, read from where it lives ------------------------------------------

    owners = property(lambda self: self.ledger.owners, doc="env id -> the declaration that registered it")
    conflicts = property(lambda self: self.ledger.conflicts, doc="env id -> every declaration that claimed it")
    shadowed = property(lambda self: self.ledger.shadowed, doc="env id -> declarations refused for the host's id")
    invalid = property(lambda self: self.ledger.invalid, doc="env id -> the malformed entry that meant it")
    disabled = property(lambda self: self.ledger.disabled, doc="declarations blocked by GYMPLUG_DISABLE")
    failures = property(lambda self: self.ledger.failures, doc="Form B declaration -> why it failed to load")
    rejected = property(lambda self: self.ledger.rejected, doc="(declaration, id, reason) refused by gymplug")
    load_times = property(lambda self: self.ledger.load_times, doc="Form B declaration -> seconds to load")
    pending = property(lambda self: self.loader.pending, doc="namespace -> Form B declarations not loaded yet")
    pm = property(lambda self: self.loader.pm, doc="the pluggy PluginManager of the hook plugins")

    @property
    def learning(self) -> "Learning":
        """Distributions that register on import: learned, and imported only as providers.

        Made on first use (a miss, a listing, a learned id made): attaching needs it only when the
        learned store holds something for this host, and then rarely (see ``_register_learned``).
        """
        learning = self._learning
        if learning is None:
            with self._learning_lock:
                if self._learning is None:
                    from ._learning import Learning

                    self._learning = Learning(self.host.name, self.host.facts.group, self.loader, self.settings)
                learning = self._learning
        return learning

    # -- setting up -------------------------------------------------------------------------

    def attach(self, discovery: Optional[Discovery] = None, *, load_plugins: bool = True) -> None:
        """Read the declarations (or take ``discovery``, the test seam) and register the Form A ids.

        Called once the host has registered its built-ins, so that ids equal to them are seen.
        """
        with self._lock, paused_gc():
            if self.attached:
                return
            self.attached = True
            if discovery is None:
                self._path_state = path_state(sys.path)  # before reading: an install meanwhile is seen next miss
                discovery = discover(self.host.name, settings=self.settings)
            self.discovery = discovery
            self.loader.hints = self._hints(discovery)
            self._take_in(discovery.declarations, discovery.problems, load_plugins=load_plugins)
            self._register_learned()
            if self.ledger.disabled:
                names = ", ".join(sorted({str(d.dist) for d in self.ledger.disabled}))
                logger.info("disabled by GYMPLUG_DISABLE: %s", names)

    def _take_in(self, declarations: Iterable[Declaration], problems: tuple, *, load_plugins: bool = True) -> None:
        """Record what discovery found: Form A ids registered, Form B plugins pending, blocked ones disabled."""
        discovery = self.discovery
        self.ledger.add_problems(problems)
        env_entries: list[Declaration] = []
        blocking = bool(discovery.disabled)  # hot: 10,000s of declarations, and most processes block none
        for declaration in declarations:
            if blocking and discovery.is_disabled(declaration.dist):
                self.ledger.disabled.append(declaration)
            elif declaration.form is Form.ENV:
                env_entries.append(declaration)
            else:
                if declaration.namespace is not None:
                    self.policy.reserve(declaration.namespace, declaration.dist.key)
                if load_plugins:
                    self.loader.add(declaration)
        _bulk.register_entries(self.loader, env_entries)

    def _take_in_installs(self) -> None:
        """A miss: if a sys.path directory changed since attach (a distribution installed into the running
        process, as ``%pip install`` in a notebook does), read what the new distributions declare. A stat
        per directory when nothing changed; only the changed directories are read (the discovery cache)."""
        if self._path_state is None:
            return
        state = path_state(sys.path)
        if state == self._path_state:
            return
        with self._lock, paused_gc():
            if state == self._path_state:
                return
            self._path_state = state
            known = set(self.discovery.declarations)
            known_problems = set(self.discovery.problems)
            discovery = discover(self.host.name, settings=self.settings)
            self.discovery = discovery
            self.loader.hints = self._hints(discovery)
            new = [d for d in discovery.declarations if d not in known]
            problems = tuple(p for p in discovery.problems if p not in known_problems)
            logger.info("sys.path changed: %d new declarations", len(new))
            self._take_in(new, problems)
        if self._learning is not None:
            self._learning.forget_sources()
        self._register_learned()

    def _hints(self, discovery: Discovery) -> Optional["PluginHints"]:
        """What registration plugins registered when they last loaded; None when there is none (the same to
        the loader as hints that know nothing, without importing the store)."""
        if not discovery.signatures:
            return None
        from ._learning import PluginHints

        return PluginHints(self.host.name, discovery.signatures, self.settings or current())

    def _register_learned(self) -> None:
        """Learned ids whose specs are plain data become registry entries, as Form A ids are."""
        try:
            entries, clashes = self._learned_entries()
        except Exception as exc:  # noqa: BLE001 - a broken store or metadata must not break attaching
            logger.info("learned environments not registered: %s", one_line(exc))
            return
        _bulk.register_learned(self.loader, entries, clashes)

    def _learned_entries(self) -> tuple[list, dict]:
        """``Learning.entries()``, read as cheaply as is exact: nothing more than the store when it holds
        nothing for this host; only the distributions it names when discovery listed every folder."""
        if self._learning is not None:
            return self._learning.entries()
        settings = self.settings or current()
        if not settings.learn:
            return [], {}
        from ._learning import _quick

        keys = _quick.stored_keys(self.host.name, settings)
        if not keys:
            return [], {}  # what entries() finds too: no source has an entry to give
        self._store_unread = True
        folders = self.discovery.folders()
        if folders is None or settings.disable:
            return self.learning.entries()
        return _quick.learned_at_attach(self.host.name, keys, folders, settings)

    def activate_registry(self) -> None:
        """Attached: the registry's reads are the dict's own again, and only misses load (see _registry)."""
        from ._registry import LazyRegistry, PendingRegistry

        registry = self.host.registration.registry
        if type(registry) is PendingRegistry:
            registry.__class__ = LazyRegistry  # type: ignore[assignment] # the same layout: a switch of behaviour

    # -- called by the lazy registry and the host patch -------------------------------------------

    def on_miss(self, key: object) -> None:
        """A lookup of ``key`` missed: load the pending plugins of its namespace and the root ones;
        if that does not register it, import the distribution known to provide it (learning first)."""
        if not isinstance(key, str) or self.loader.is_quiet():
            return
        learning = self.learning
        opened = getattr(self._local, "open", None)
        if opened is not None:  # a lookup began before learning was made: its budget starts now, for all of it
            self._local.open = None
            opened.enter_context(learning.budget())
        with learning.budget():
            if self.attached:
                self._take_in_installs()
            self.loader.load_for(key)
            if not self.raw.has(key) and self.attached and key not in self.ledger.conflicts:
                learned = self.learning.learned
                self.learning.load_for(key)
                if self.learning.learned != learned:  # what was just learned is in the registry from now on
                    self._register_learned()

    def load_all(self) -> None:
        """Load every pending plugin (a complete listing was asked for)."""
        self.loader.load_all()

    @contextlib.contextmanager
    def lookup(self) -> Iterator[None]:
        """A context for one lookup (``make``, ``spec``): its misses share one time budget for learning.

        The budget is the learning machinery's, which a hit never needs: until a miss makes it, the
        lookup only marks itself open, and the first miss starts the budget for the rest of it.
        """
        learning = self._learning
        if learning is not None:
            with learning.budget():
                yield
            return
        if getattr(self._local, "open", None) is not None:
            yield
            return
        with contextlib.ExitStack() as stack:
            self._local.open = stack
            try:
                yield
            finally:
                self._local.open = None

    def quiet(self) -> Any:
        """A context in which registry misses load nothing."""
        return self.loader.quiet()

    def allow_set(self, key: object) -> bool:
        """Registry write hook: a plugin being loaded is checked; anyone else's register() is theirs."""
        state = self.loader.current()
        if state is None or not isinstance(key, str):
            if isinstance(key, str):
                self.ledger.owners.pop(key, None)
                self.loader.noted_write(key)
            return True
        state.attempted.append(key)
        return self.policy.claim(key, state.declaration)

    def already_known(self, env_id: object, declaration: Declaration) -> bool:
        """Does a loading plugin register an id the host already has from someone else? Then it is shadowed."""
        if not isinstance(env_id, str) or not self.raw.has(env_id):
            return False
        state = self.loader.current()
        if state is not None:
            state.attempted.append(env_id)
        owner = self.ledger.owner(env_id)
        if owner is not None and owner.dist.key == declaration.dist.key:
            return False
        return not self.policy.claim(env_id, declaration)

    # -- lookups (make, spec, make_vec) -----------------------------------------------------

    def _present(self, env_id: str) -> bool:
        if self.raw.has(env_id):
            return True
        self.on_miss(env_id)
        return self.raw.has(env_id)

    def resolve(self, env: Any, *, import_entry: bool) -> Optional[Declaration]:
        """Prepare a lookup of ``env``: load what it needs; raise a PluginError if its plugin is broken.

        Returns the declaration that provides the env, or None when it is not a plugin's. A miss
        loads only the plugins of the id's namespace and the root ones. Making a learned id imports
        its package first, which registers the id's real spec in place of gymplug's.
        """
        env_id = env if isinstance(env, str) else getattr(env, "id", None)
        if not isinstance(env_id, str) or ":" in env_id:  # "module:id": the host imports the module itself
            return None
        with self.lookup():
            if not self._present(env_id):
                parsed = split_env_id(env_id)
                latest = None
                if parsed is not None and parsed[2] is None:
                    namespace, name, _ = parsed
                    latest = self.host.latest_version(namespace, name)
                    if latest is not None:
                        env_id = f"{namespace}/{name}-v{latest}" if namespace else f"{name}-v{latest}"
                if latest is None:
                    error = self.ledger.explain(env_id) or self._explain_disabled_provider(env_id)
                    if error is not None:
                        raise error
                    return None
        declaration = self.ledger.owner(env_id)
        if declaration is not None and import_entry:
            if declaration.form is Form.IMPORT:
                self._import_provider(env_id, declaration)
            self._check_entry_point(env_id, declaration)
        return declaration

    def _import_provider(self, env_id: str, declaration: Declaration) -> None:
        if self.learning.load(declaration):
            return
        cause = self.ledger.failures.get(declaration)
        reason = one_line(cause) if cause is not None else "another thread's import of it did not finish"
        error = self.host.error(
            PluginLoadError,
            f"cannot make '{env_id}': {declaration.describe()}, and importing it failed: {reason}",
            env_id=env_id,
            declarations=(declaration,),
        )
        raise error from cause

    def _explain_disabled_provider(self, env_id: str) -> Optional[PluginError]:
        """PluginDisabledError when a blocked distribution is known to provide ``env_id``: a package that
        registers on import, or a registration plugin (root namespace included) that registered it before."""
        hints = self.loader.hints
        plugins = [
            d for d in self.ledger.disabled
            if d.form is Form.PLUGIN and hints is not None and env_id in (hints.ids(d) or ())
        ]
        disabled = plugins or self.learning.providers(env_id)[1]
        if not disabled:
            return None
        declaration = disabled[0]
        return self.host.error(
            PluginDisabledError,
            f"'{env_id}' comes from {declaration.describe()}, and GYMPLUG_DISABLE blocks {declaration.dist.name}",
            env_id=env_id,
            declarations=(declaration,),
        )

    def _check_entry_point(self, env_id: str, declaration: Declaration) -> None:
        """Import the env's entry point before the host does, to name the plugin if it fails."""
        if env_id in self._checked:
            return
        entry_point = getattr(self.raw.peek(env_id), "entry_point", None)
        if isinstance(entry_point, str):
            try:
                creator = self.host.load(entry_point)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                raise self.host.error(
                    PluginLoadError,
                    f"cannot make '{env_id}': {declaration.describe()} failed to import "
                    f"'{entry_point}': {one_line(exc)}",
                    env_id=env_id,
                    declarations=(declaration,),
                ) from exc
            if not callable(creator):
                raise self.host.error(
                    PluginLoadError,
                    f"cannot make '{env_id}': {declaration.describe()} names '{entry_point}', "
                    f"which is not an Env class or factory but a {type(creator).__name__} object",
                    env_id=env_id,
                    declarations=(declaration,),
                )
        self._checked.add(env_id)

    def explain(self, env_id: str) -> Optional[PluginError]:
        """The gymplug error that says why ``env_id`` cannot be made, if one is known."""
        return self.ledger.explain(env_id)

    def annotate(self, exc: BaseException, env: Any, declaration: Optional[Declaration]) -> None:
        """Add a note to an error raised by the host's make() or spec(), naming the plugin involved."""
        if isinstance(exc, PluginError) or not hasattr(exc, "add_note"):
            return
        if declaration is not None:
            exc.add_note(f"gymplug: this environment comes from {declaration.describe()}")
        elif isinstance(exc, self.host.base_error):
            learning = self.learning
            if self._store_unread:  # attaching read the store itself: the learning machinery reads it now
                self._store_unread = False
                learning.known()
            for note in (self.ledger.miss_note(), learning.miss_note()):
                if note:
                    exc.add_note(note)

    def pending_declarations(self) -> Iterator[Declaration]:
        return iter(self.loader.pending_declarations())
