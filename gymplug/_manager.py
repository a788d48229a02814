"""The gymplug side of one host: its plugin manager, declarations, lazy loading and the checks on every id."""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from typing import Any, Iterator, Optional

import pluggy

from . import hookspecs
from ._discovery import Discovery, discover, paused_gc
from ._entries import GROUPS, Declaration, EntryProblem, Form, split_env_id
from ._errors import (
    EnvConflictError,
    GymplugError,
    InvalidEntryError,
    PluginDisabledError,
    PluginError,
    PluginLoadError,
)
from ._log import get_logger
from .hookspecs import hookimpl

__all__ = ["HostManager"]

logger = get_logger(__name__)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _resolve(module: str, attr: Optional[str]) -> Any:
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


class _EnvEntries:
    """The built-in plugin of every Form A entry: registers their ids, imports nothing.

    One plugin for all of them, not one per distribution: pluggy's register() inspects every
    attribute of a plugin (about a millisecond each), which would dominate ``import gym`` with
    many plugins installed. The entries still register one by one, each as its own distribution's.
    """

    NAME = "gymplug.env-entries"

    def __init__(self, declarations: list[Declaration], local: threading.local) -> None:
        self.declarations = declarations
        self._local = local

    @hookimpl
    def gymplug_register_envs(self, register: hookspecs.Register) -> None:
        for declaration in self.declarations:
            self._local.owner = declaration
            register(declaration.name, declaration.value)


class _LegacyRegistration:
    """A gym 0.22-0.26 / gymnasium 0.26-0.29 registration function, run as those hosts ran it."""

    def __init__(self, function: Any, namespace: Optional[str], host: Any) -> None:
        self.function = function
        self.namespace = namespace
        self.host = host

    @hookimpl
    def gymplug_register_envs(self, register: hookspecs.Register) -> None:
        # The host's namespace() context does not restore the namespace on error; this does.
        previous = self.host.set_namespace(self.namespace)
        try:
            self.function()
        finally:
            self.host.set_namespace(previous)


class HostManager:
    """Declarations of one host's group, turned into native specs in the host's registry.

    Form A ids are inserted at :meth:`attach`; Form B plugins stay pending until a lookup misses
    in their namespace (root plugins: any miss) or :meth:`load_all` is called.
    """

    def __init__(self, host: Any) -> None:
        self.host = host
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.discovery = Discovery(GROUPS[host.name])
        self.attached = False
        #: env id -> the declaration that registered it
        self.owners: dict[str, Declaration] = {}
        #: env id -> every declaration that claimed it (none of them is registered)
        self.conflicts: dict[str, list[Declaration]] = {}
        #: env id -> plugin declarations refused because the id was the host's (built-in or user's)
        self.shadowed: dict[str, list[Declaration]] = {}
        #: env id -> malformed entry that meant to declare it
        self.invalid: dict[str, EntryProblem] = {}
        #: declarations of distributions blocked by GYMPLUG_DISABLE
        self.disabled: list[Declaration] = []
        #: namespace (None: root) -> Form B declarations not loaded yet
        self.pending: dict[Optional[str], list[Declaration]] = {}
        #: Form B declarations whose loading failed, with the cause
        self.failures: dict[Declaration, BaseException] = {}
        #: (declaration, id, reason) for ids a plugin tried to register and gymplug refused
        self.rejected: list[tuple[Declaration, str, str]] = []
        #: Form B declaration -> seconds its loading took
        self.load_times: dict[Declaration, float] = {}
        self._lock = threading.RLock()
        self._local = threading.local()  # .owner: declaration being loaded; .quiet: no lazy loads
        #: namespace -> the distribution whose Form B entry declares it: no one else registers there
        self._namespaces: dict[str, str] = {}
        self._checked: set[str] = set()
        self._register = self._make_register()
        self.pm.hook.gymplug_register_envs.call_historic(kwargs={"register": self._register})

    # -- setting up -------------------------------------------------------------------------

    def attach(self, discovery: Optional[Discovery] = None, *, load_plugins: bool = True) -> None:
        """Read the declarations (or take ``discovery``, the test seam) and register the Form A ids.

        Called once the host has registered its built-ins, so that ids equal to them are seen.
        """
        with self._lock, paused_gc():
            if self.attached:
                return
            self.attached = True
            self.discovery = discovery if discovery is not None else discover(self.host.name)
            for problem in self.discovery.problems:
                if problem.env_id is not None:
                    self.invalid.setdefault(problem.env_id, problem)
            env_entries: list[Declaration] = []
            for declaration in self.discovery.declarations:
                if self.discovery.is_disabled(declaration.dist):
                    self.disabled.append(declaration)
                elif declaration.form is Form.ENV:
                    env_entries.append(declaration)
                else:
                    if declaration.namespace is not None:
                        self._namespaces.setdefault(declaration.namespace, declaration.dist.key)
                    if load_plugins:
                        self.pending.setdefault(declaration.namespace, []).append(declaration)
            if env_entries:
                self._add_plugin(_EnvEntries(env_entries, self._local), env_entries[0], _EnvEntries.NAME)
            if self.disabled:
                logger.info("disabled by GYMPLUG_DISABLE: %s", ", ".join(sorted({str(d.dist) for d in self.disabled})))

    def _add_plugin(self, plugin: Any, declaration: Declaration, name: Optional[str] = None) -> None:
        """Register ``plugin`` with pluggy; the historic hook call runs its registration now."""
        previous = getattr(self._local, "owner", None)
        self._local.owner = declaration
        try:
            self.pm.register(plugin, name=name or declaration.plugin_name)
        finally:
            self._local.owner = previous

    # -- registration -----------------------------------------------------------------------

    def _make_register(self) -> hookspecs.Register:
        # Bound once: this runs for every env id at every host import.
        local, env_spec, registration, env = self._local, self.host.env_spec, self.host.registration, Form.ENV

        def register(id: str, entry_point: Any = None, **options: Any) -> None:
            """Register an environment for the plugin being loaded (see ``gymplug_register_envs``)."""
            owner: Optional[Declaration] = getattr(local, "owner", None)
            if owner is None:
                raise GymplugError("register() may only be called from a gymplug_register_envs hook")
            if owner.form is env and id == owner.name:
                pass  # the built-in plugin's id: parse_entry has validated it
            elif (parsed := split_env_id(id) if isinstance(id, str) else None) is None:
                self._reject(owner, repr(id), "not an env id '[Namespace/]Name[-vN]'")
                return
            elif owner.form is Form.PLUGIN and owner.namespace is not None:
                if parsed[0] is None:
                    id = f"{owner.namespace}/{id}"
                elif parsed[0] != owner.namespace:
                    self._reject(owner, id, f"outside the namespace '{owner.namespace}' of its entry point")
                    return
            try:
                spec = env_spec(id, entry_point, **options)
            except Exception as exc:
                self._reject(owner, id, f"invalid options: {_one_line(exc)}")
                return
            if self._claim(id, owner):
                dict.__setitem__(registration.registry, id, spec)

        return register

    def _reject(self, declaration: Declaration, env_id: str, reason: str) -> None:
        self.rejected.append((declaration, env_id, reason))
        logger.warning("%s: refused to register %s: %s", declaration.describe(), env_id, reason)

    def _claim(self, env_id: str, declaration: Declaration) -> bool:
        """May ``declaration`` register ``env_id``? Records shadowing and conflicts on the way."""
        registry = self.host.registry
        namespace = env_id.split("/", 1)[0] if "/" in env_id else None
        keeper = self._namespaces.get(namespace) if namespace else None
        if keeper is not None and keeper != declaration.dist.key:
            self._reject(declaration, env_id, f"the namespace '{namespace}' belongs to the distribution {keeper}")
            return False
        if env_id in self.conflicts:
            self.conflicts[env_id].append(declaration)
            return False
        previous = self.owners.get(env_id)
        if previous is None and dict.__contains__(registry, env_id):
            self.shadowed.setdefault(env_id, []).append(declaration)
            logger.warning("%s declares %s, which the host already has; the host's stays", declaration.describe(), env_id)
            return False
        if previous is not None and previous.dist.key != declaration.dist.key:
            self.conflicts[env_id] = [previous, declaration]
            del self.owners[env_id]
            dict.pop(registry, env_id, None)
            logger.warning("%s is declared by both %s and %s; neither is registered", env_id, previous.dist, declaration.dist)
            return False
        self.owners[env_id] = declaration
        return True

    def allow_set(self, key: object) -> bool:
        """Registry write hook: a plugin being loaded is checked; anyone else's register() is theirs."""
        owner = getattr(self._local, "owner", None)
        if owner is None or not isinstance(key, str):
            if isinstance(key, str):
                self.owners.pop(key, None)
            return True
        return self._claim(key, owner)

    # -- lazy loading -----------------------------------------------------------------------

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Within this block, registry misses load nothing (the host's register() checks)."""
        self._local.quiet = getattr(self._local, "quiet", 0) + 1
        try:
            yield
        finally:
            self._local.quiet -= 1

    def on_miss(self, key: object) -> None:
        """A lookup of ``key`` missed: load the pending plugins of its namespace and the root ones."""
        if not self.pending or not isinstance(key, str) or getattr(self._local, "quiet", 0):
            return
        namespace = key.split("/", 1)[0] if "/" in key else None
        with self._lock:
            todo = self.pending.pop(namespace, []) if namespace is not None else []
            todo += self.pending.pop(None, [])
            for declaration in todo:
                self._load(declaration)

    def load_all(self) -> None:
        """Load every pending plugin (a complete listing was asked for)."""
        with self._lock:
            while self.pending:
                for declaration in self.pending.popitem()[1]:
                    self._load(declaration)

    def _load(self, declaration: Declaration) -> None:
        start = time.perf_counter()
        plugin = None
        before = dict(self.host.registry)
        try:
            plugin = self._as_plugin(declaration, _resolve(declaration.module, declaration.attr))
            self._add_plugin(plugin, declaration)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from plugin code included: it must not end the process
            self.failures[declaration] = exc
            if plugin is not None and self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self._forget(declaration)
            logger.warning("plugin %s failed to load: %s", declaration.describe(), _one_line(exc))
        else:
            logger.debug("loaded plugin %s", declaration.describe())
        finally:
            self._restore(before, declaration)
            self.load_times[declaration] = time.perf_counter() - start

    def _restore(self, before: dict, declaration: Declaration) -> None:
        """Undo what a plugin did to ids registered before it (deleted or replaced behind register())."""
        registry = self.host.registry
        for env_id, spec in before.items():
            owner = self.owners.get(env_id)
            if owner is not None and owner.dist.key == declaration.dist.key:
                continue  # its own distribution's id: allowed, like re-registering
            if dict.get(registry, env_id) is not spec and env_id not in self.conflicts:
                dict.__setitem__(registry, env_id, spec)
                self._reject(declaration, env_id, "it removed or replaced an environment registered before it; restored")

    def _forget(self, declaration: Declaration) -> None:
        """Drop what a plugin registered before its registration failed: all or nothing."""
        for env_id in [i for i, owner in self.owners.items() if owner == declaration]:
            del self.owners[env_id]
            dict.pop(self.host.registry, env_id, None)

    def _as_plugin(self, declaration: Declaration, obj: Any) -> Any:
        if hasattr(obj, "gymplug_register_envs"):
            return obj
        if isinstance(obj, type):
            raise TypeError(
                f"'{declaration.value}' is a class, not a registration function; "
                f"an env entry needs a versioned id, such as '{declaration.name}-v0 = {declaration.value}'"
            )
        if callable(obj):
            return _LegacyRegistration(obj, declaration.namespace, self.host)
        raise TypeError(f"'{declaration.value}' has no gymplug_register_envs hook and is not a registration function")

    # -- lookups (make, spec, make_vec) -----------------------------------------------------

    def _present(self, env_id: str) -> bool:
        registry = self.host.registry
        if dict.__contains__(registry, env_id):
            return True
        self.on_miss(env_id)
        return dict.__contains__(registry, env_id)

    def resolve(self, env: Any, *, import_entry: bool) -> Optional[Declaration]:
        """Prepare a lookup of ``env``: load what it needs; raise a PluginError if its plugin is broken.

        Returns the declaration that provides the env, or None when it is not a plugin's.
        """
        if isinstance(env, str):
            if ":" in env:  # "module:id": the host imports the module itself
                return None
            env_id = env
        else:
            env_id = getattr(env, "id", None)
            if not isinstance(env_id, str):
                return None
        if not self._present(env_id):
            parsed = split_env_id(env_id)
            latest = None
            if parsed is not None and parsed[2] is None:
                latest = self.host.latest_version(parsed[0], parsed[1])
            if latest is None:
                self._raise_if_known(env_id, parsed[0] if parsed else None)
                self.load_all()  # so that the host's "did you mean" sees every plugin's ids
                if not dict.__contains__(self.host.registry, env_id):
                    return None
            else:
                env_id = f"{parsed[0]}/{parsed[1]}-v{latest}" if parsed[0] else f"{parsed[1]}-v{latest}"
        declaration = self.owners.get(env_id)
        if declaration is not None and import_entry:
            self._check_entry_point(env_id, declaration)
        return declaration

    def _check_entry_point(self, env_id: str, declaration: Declaration) -> None:
        """Import the env's entry point before the host does, to name the plugin if it fails."""
        if env_id in self._checked:
            return
        entry_point = getattr(dict.get(self.host.registry, env_id), "entry_point", None)
        if isinstance(entry_point, str):
            try:
                creator = self.host.load(entry_point)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                raise self._error(
                    PluginLoadError,
                    f"cannot make '{env_id}': {declaration.describe()} failed to import "
                    f"'{entry_point}': {_one_line(exc)}",
                    env_id,
                    (declaration,),
                ) from exc
            if not callable(creator):
                raise self._error(
                    PluginLoadError,
                    f"cannot make '{env_id}': {declaration.describe()} names '{entry_point}', "
                    f"which is not an Env class or factory but a {type(creator).__name__} object",
                    env_id,
                    (declaration,),
                )
        self._checked.add(env_id)

    def _error(self, base: type, message: str, env_id: str, declarations: tuple, **details: Any) -> PluginError:
        return self.host.error(base, message, env_id=env_id, declarations=declarations, **details)

    def _raise_if_known(self, env_id: str, namespace: Optional[str]) -> None:
        """Raise the gymplug error that explains why ``env_id`` is missing, if gymplug knows one."""
        if env_id in self.conflicts:
            claims = self.conflicts[env_id]
            names = "; ".join(d.describe() for d in claims)
            raise self._error(
                EnvConflictError,
                f"'{env_id}' is declared by more than one distribution: {names}. Nothing was registered; "
                f"uninstall one, or block one with GYMPLUG_DISABLE={claims[-1].dist.name}",
                env_id,
                tuple(claims),
            )
        problem = self.invalid.get(env_id)
        if problem is not None:
            raise self._error(
                InvalidEntryError,
                f"cannot make '{env_id}': the entry point that declares it is malformed: {problem.describe()}",
                env_id,
                (),
                problem=problem,
            )
        for declaration in self.disabled:
            if declaration.env_id == env_id or (namespace is not None and declaration.namespace == namespace):
                raise self._error(
                    PluginDisabledError,
                    f"'{env_id}' comes from {declaration.describe()}, and GYMPLUG_DISABLE blocks {declaration.dist.name}",
                    env_id,
                    (declaration,),
                )
        for declaration, refused, reason in self.rejected:
            if refused == env_id:
                raise self._error(
                    PluginLoadError,
                    f"cannot make '{env_id}': {declaration.describe()} registered it, and gymplug refused it: {reason}",
                    env_id,
                    (declaration,),
                )
        for declaration, exc in self.failures.items():
            if namespace is not None and declaration.namespace == namespace:
                raise self._error(
                    PluginLoadError,
                    f"cannot make '{env_id}': the plugin of namespace '{namespace}', {declaration.describe()}, "
                    f"failed to load: {_one_line(exc)}",
                    env_id,
                    (declaration,),
                ) from exc

    def annotate(self, exc: BaseException, env: Any, declaration: Optional[Declaration]) -> None:
        """Add a note to an error raised by the host's make() or spec(), naming the plugin involved."""
        if isinstance(exc, PluginError) or not hasattr(exc, "add_note"):
            return
        if declaration is not None:
            exc.add_note(f"gymplug: this environment comes from {declaration.describe()}")
        elif self.failures and isinstance(exc, self.host.base_error):
            failed = "; ".join(f"{d.describe()}: {_one_line(e)}" for d, e in self.failures.items())
            exc.add_note(f"gymplug: plugins that failed to load, and may have provided it: {failed}")
