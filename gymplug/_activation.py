"""Activation: attach gymplug to a host as its registry module runs, or late if the host came first.

The startup shim (``_gymplug_startup``) and this module import each other, deliberately: the shim
must stay importable without gymplug (it only imports this module when a host module has run), and
this module asks the shim to install its finder and which host modules went through it.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Optional

import _gymplug_startup

from ._adapter import adapter_for
from ._hosts import HOSTS, facts
from ._log import get_logger
from ._manager import HostManager
from ._patch import apply

__all__ = ["activate", "get_manager", "load_all", "module_executed"]

logger = get_logger(__name__)

_managers: dict[str, HostManager] = {}
_lock = threading.Lock()


def get_manager(host: str) -> Optional[HostManager]:
    """The manager attached to ``host`` ("gym" or "gymnasium") in this process, if any."""
    facts(host)  # ValueError for an unknown host
    return _managers.get(host)


def load_all(host: Optional[str] = None) -> None:
    """Load every pending Form B plugin (of ``host``, or of every attached host)."""
    for name, manager in list(_managers.items()):
        if host is None or name == host:
            manager.load_all()


def _prepare(host: str, registration: ModuleType, *, lazy_registry: bool, rebind: tuple = ()) -> HostManager:
    manager = HostManager(adapter_for(host, registration))
    manager.patch = apply(manager, registration, lazy_registry=lazy_registry, rebind=rebind)
    _managers[host] = manager
    return manager


def module_executed(fullname: str, module: ModuleType) -> None:
    """Called by the startup hook right after a hooked host module has run."""
    host, part = _gymplug_startup.HOOKED[fullname]
    with _lock:
        if part == "registration":
            _prepare(host, module, lazy_registry=True)
        elif host in _managers:
            # The host's built-ins are registered now; plugin ids equal to them stay the host's.
            _managers[host].attach()


def detach(host: str) -> None:
    """Undo gymplug's patch of ``host`` and forget its manager (for tests and in-process tools)."""
    with _lock:
        manager = _managers.pop(host, None)
    if manager is not None:
        manager.detach()


def activate() -> None:
    """Install the import hook; attach at once to a host that was imported before gymplug."""
    _gymplug_startup.install(force=True)
    with _lock:
        for host, host_facts in HOSTS.items():
            name = host_facts.registration_module
            if host in _managers or name not in sys.modules or name in _gymplug_startup.hooked:
                continue
            registration = sys.modules[name]
            if host_facts.eager_at_import:
                logger.warning(
                    "%s was imported before gymplug, so its own loader has already run the %s "
                    "plugins eagerly; import gymplug before %s (or leave GYMPLUG_AUTOLOAD on)",
                    host, host_facts.group, host,
                )
            rebind = tuple(m for m in (sys.modules.get(host), sys.modules.get(host_facts.envs_module)) if m is not None)
            manager = _prepare(host, registration, lazy_registry=False, rebind=rebind)
            manager.attach(load_plugins=not host_facts.eager_at_import)
