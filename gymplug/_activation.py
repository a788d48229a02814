"""Activation: patch a host as its registry module runs, and attach gymplug when the registry is first used.

At host import only the host patch (:mod:`gymplug._patch`) and a :class:`HostLink` are put in
place: nothing is discovered, no manager is built, pluggy is not imported. The link builds the
:class:`~gymplug._manager.HostManager` and attaches it on the first use of the registry or of a
wrapped function, once the host's built-ins are registered.

The startup shim (``_gymplug_startup``) and this module import each other, deliberately: the shim
must stay importable without gymplug (it imports this module only once a host module has run), and
this module asks the shim to install its finder and which host modules went through it.
"""

from __future__ import annotations

import builtins
import importlib
import os
import sys
from types import FunctionType, ModuleType
from typing import TYPE_CHECKING, Any, Callable, Optional

import _gymplug_startup

from . import _locks
from ._hosts import facts
from ._patch import apply
from ._registry import PendingRegistry
from ._settings import current

if TYPE_CHECKING:
    from ._manager import HostManager
    from ._patch import HostPatch

__all__ = ["HostLink", "activate", "get_manager", "load_all", "module_executed"]

_links: dict[str, "HostLink"] = {}
_lock = _locks.Lock()
#: What a lookup imports on first use: a fork must not copy one of them half imported (see _before_fork). The
#: children's machinery, the scan and csv are imported only by a miss that learns or reads a RECORD.
LOOKUP_MODULES = ("gymplug._adapter", "gymplug._manager", "gymplug._learning._lookups", "gymplug._learning._quick",
                  "gymplug._learning._children", "gymplug._learning._scan", "csv")


class HostLink:
    """One patched host and its gymplug, built and attached on first use."""

    def __init__(self, host: str, registration: ModuleType) -> None:
        self.host = host
        self.registration = registration
        #: True once the host's built-ins are registered: attaching is allowed from then on
        self.ready = False
        #: the manager, once something needed it
        self.manager: Optional["HostManager"] = None
        #: what gymplug replaced on the host's modules
        self.patch: Optional["HostPatch"] = None
        #: True once building or attaching the manager failed: gymplug stays out of the way
        self.failed = False
        #: the GYMPLUG_* settings as the host was imported: attaching later reads the same
        self.settings = current()
        self._lock = _locks.RLock()
        #: the host's find_highest_version run over a view of the registry that attaches nothing
        self._unattached_versions: Optional[Callable[..., Any]] = None

    def get(self) -> Optional["HostManager"]:
        """The manager, built now if need be, and attached if the host is ready.

        None if gymplug itself is broken (a failed install, a bug): that is logged once, and the
        host goes on as if gymplug were not there. A plugin's failure never gets here.
        """
        manager = self.manager
        if manager is None or (self.ready and not manager.attached):
            if self.failed:
                return None
            with self._lock:
                try:
                    if self.manager is None:
                        from ._adapter import adapter_for
                        from ._manager import HostManager

                        self.manager = HostManager(adapter_for(self.host, self.registration), self.settings)
                    manager = self.manager
                    if self.ready and not manager.attached:
                        manager.attach()
                        manager.activate_registry()
                except Exception:
                    self._give_up()
                    return None
        return manager

    def _give_up(self) -> None:
        self.failed = True
        registry = self.registration.registry
        if getattr(registry, "manager", None) is self:
            registry.manager = None  # a plain dict from now on
        import logging

        logging.getLogger("gymplug").exception("gymplug could not attach to %s", self.host)

    def detach(self) -> None:
        """Undo the patch; the registry keeps every id but the plugins'."""
        with self._lock:
            owned = set(self.manager.ledger.owners) if self.manager is not None else set()
            registry = self.registration.registry
            kept = {k: v for k, v in dict.items(registry) if k not in owned}
            if self.patch is not None:
                self.patch.undo()
                self.patch = None
            registry = self.registration.registry
            dict.clear(registry)
            dict.update(registry, kept)

    # -- lookups that need no plugin: answered without attaching ----------------------------------

    def unattached(self) -> bool:
        """Is the host ready, and nothing of gymplug built yet (the registry holds the host's ids only)?

        A manager built but not attached (the test seam's, which reads no metadata) takes the long way.
        """
        return (
            self.ready
            and self.manager is None
            and not self.failed
            and type(self.registration.registry) is PendingRegistry
        )

    def unattached_hit(self, env: object) -> bool:
        """Is ``env`` an id the host has, gymplug not attached yet? A lookup of it then needs no plugin: no
        plugin's id replaces the host's (it is reported as shadowed), so it is the host's either way."""
        return isinstance(env, str) and self.unattached() and dict.__contains__(self.registration.registry, env)

    def highest_version(self, original: Callable[..., Any], ns: Optional[str], name: str) -> Any:
        """The host's ``find_highest_version(ns, name)``, which reads every value of the registry (so any first
        ``make`` would attach): before attaching, answered over the host's own ids when no plugin declares an
        id that names ``name`` (Form A entries, learned ids), for attaching would then add no version of it."""
        if self.unattached() and isinstance(name, str):
            try:
                if not _plugins_mention(self.host, name, self.settings):
                    return self._builtins_only(original)(ns, name)
            except Exception:  # noqa: BLE001 - a broken cache or an unexpected host: the host's own way
                pass
        return original(ns, name)

    def _builtins_only(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """``original`` (the host's function) with its ``registry`` a view of the dict that attaches nothing."""
        function = self._unattached_versions
        if function is None:
            registration = self.registration

            class _Values:
                def values(self) -> Any:
                    return dict.values(registration.registry)

            scope = {"registry": _Values(), "__builtins__": builtins}
            function = FunctionType(original.__code__, scope, original.__name__, original.__defaults__)
            self._unattached_versions = function
        return function

    # -- the registry's hooks (see gymplug._registry) ----------------------------------------

    def attach_registry(self) -> None:
        if self.ready:
            self.get()

    def on_miss(self, key: object) -> None:
        manager = self.get() if self.ready else None
        if manager is not None:
            manager.on_miss(key)

    def allow_set(self, key: object) -> bool:
        manager = self.get() if self.ready else None
        return manager.allow_set(key) if manager is not None else True


def _plugins_mention(host: str, name: str, settings: Any) -> bool:
    """Does any id that attaching could register hold ``name``: an entry of the host's group, or a learned id?

    Read from the discovery cache where it holds every directory of the path (discovery otherwise).
    """
    from ._cache import cached_names

    names = cached_names(facts(host).group, sys.path, settings)
    if names is None:
        from ._discovery import discover

        names = [declaration.name for declaration in discover(host, settings=settings).declarations]
    if any(name in declared for declared in names):
        return True
    if not settings.learn or not _learned_store_near(settings):
        return False
    from ._learning import _quick

    return any(name in env_id for env_id in _quick.stored_ids(host, settings))


def _learned_store_near(settings: Any) -> bool:
    """Is there a learned store in the cache directory at all? (A listing, not a read: most have none.)"""
    try:
        return settings.cache and any(name.startswith("learned-") for name in os.listdir(settings.default_cache_dir()))
    except (OSError, ValueError):
        return False


def get_manager(host: str) -> Optional["HostManager"]:
    """The manager of ``host`` ("gym" or "gymnasium") in this process (attached now), if gymplug patched it."""
    facts(host)  # ValueError for an unknown host
    link = _links.get(host)
    return link.get() if link is not None else None


def load_all(host: Optional[str] = None) -> None:
    """Load every pending Form B plugin (of ``host``, or of every patched host)."""
    for name, link in list(_links.items()):
        manager = link.get() if host is None or name == host else None
        if manager is not None:
            manager.load_all()


def _prepare(host: str, registration: ModuleType, *, lazy_registry: bool, rebind: tuple = ()) -> HostLink:
    link = HostLink(host, registration)
    link.patch = apply(link, registration, lazy_registry=lazy_registry, rebind=rebind)
    _links[host] = link
    return link


def module_executed(fullname: str, module: ModuleType) -> None:
    """Called by the startup hook right after a hooked host module has run."""
    host, part = _gymplug_startup.HOOKED[fullname]
    with _lock:
        if part == "registration":
            _prepare(host, module, lazy_registry=True)
        elif host in _links:
            # The host's built-ins are registered now: plugin ids equal to them will stay the host's.
            _links[host].ready = True


def detach(host: str) -> None:
    """Undo gymplug's patch of ``host`` and forget its manager (for tests and in-process tools)."""
    with _lock:
        link = _links.pop(host, None)
    if link is not None:
        link.detach()


def activate() -> None:
    """Install the import hook; attach at once to a host that was imported before gymplug."""
    if _gymplug_startup.learning_child():  # only the ids a package's own import registers may be learned
        return
    _gymplug_startup.install(force=True)
    with _lock:
        for name, (host, part) in _gymplug_startup.HOOKED.items():
            if part != "registration" or host in _links or name not in sys.modules or name in _gymplug_startup.hooked:
                continue
            host_facts = facts(host)
            registration = sys.modules[name]
            # gym 0.26 and Gymnasium 0.26-0.29 have run their own eager loader at import: every plugin is in
            eager = host_facts.eager_loader_in(registration) is not None
            if eager:
                from ._log import get_logger

                get_logger(__name__).warning(
                    "%s was imported before gymplug, so its own loader has already run the %s "
                    "plugins eagerly; import gymplug before %s (or leave GYMPLUG_AUTOLOAD on)",
                    host, host_facts.group, host,
                )
            rebind = tuple(m for m in (sys.modules.get(host), sys.modules.get(host_facts.envs_module)) if m is not None)
            link = _prepare(host, registration, lazy_registry=False, rebind=rebind)
            manager = link.get()
            if manager is not None:
                manager.attach(load_plugins=not eager)
            link.ready = True


def _before_fork() -> None:
    """Finish importing what a lookup imports before any fork of a process that uses a host.

    gymplug imports its lookup machinery on first use. A process forked while another thread is in
    the middle of that import would inherit the module's import lock held by a thread it does not
    have, and its first lookup would wait forever. Importing here waits for such an import (the
    forking thread takes the lock in turn), so the child gets the modules whole.
    """
    if not _links:
        return
    for name in LOOKUP_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a broken install is reported where it is used, not at fork
            return


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork)
