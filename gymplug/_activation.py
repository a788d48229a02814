"""Activation: attach gymplug to a host as its registry module runs, or late if the host came first."""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Optional

import _gymplug_startup

from ._entries import GROUPS
from ._adapter import adapter_for, wrap_functions
from ._log import get_logger
from ._manager import HostManager
from ._registry import LazyRegistry

__all__ = ["activate", "get_manager", "load_all", "module_executed"]

logger = get_logger(__name__)

_managers: dict[str, HostManager] = {}
_lock = threading.Lock()


def get_manager(host: str) -> Optional[HostManager]:
    """The manager attached to ``host`` ("gym" or "gymnasium") in this process, if any."""
    if host not in GROUPS:
        raise ValueError(f"unknown host {host!r}; expected one of {', '.join(GROUPS)}")
    return _managers.get(host)


def load_all(host: Optional[str] = None) -> None:
    """Load every pending Form B plugin (of ``host``, or of every attached host)."""
    for name, manager in list(_managers.items()):
        if host is None or name == host:
            manager.load_all()


def _skip_eager_loading(entry_point: str = "gym.envs") -> None:
    """Replaced by gymplug: the gym.envs entry points load lazily, when one of their envs is looked up."""


def _prepare(host: str, registration: ModuleType, *, lazy_registry: bool, rebind: tuple = ()) -> HostManager:
    manager = HostManager(adapter_for(host, registration))
    if lazy_registry:
        registration.registry = LazyRegistry(registration.registry, manager=manager)
    if hasattr(registration, "load_env_plugins"):  # gym 0.21-0.26, gymnasium 0.26-0.29
        registration.load_env_plugins = _skip_eager_loading
    for name, wrapper in wrap_functions(manager, registration).items():
        original = getattr(registration, name)
        for module in (registration, *rebind):
            if getattr(module, name, None) is original:
                setattr(module, name, wrapper)
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


def activate() -> None:
    """Install the import hook; attach at once to a host that was imported before gymplug."""
    _gymplug_startup.install(force=True)
    with _lock:
        for host in GROUPS:
            name = f"{host}.envs.registration"
            if host in _managers or name not in sys.modules or name in _gymplug_startup.hooked:
                continue
            registration = sys.modules[name]
            if host == "gym":
                logger.warning(
                    "gym was imported before gymplug, so gym's own loader has already run the gym.envs "
                    "plugins eagerly; import gymplug before gym (or leave GYMPLUG_AUTOLOAD on)"
                )
            rebind = tuple(m for m in (sys.modules.get(host), sys.modules.get(f"{host}.envs")) if m is not None)
            manager = _prepare(host, registration, lazy_registry=False, rebind=rebind)
            manager.attach(load_plugins=host != "gym")
