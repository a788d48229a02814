"""gymplug: reinforcement-learning environments declared in package metadata, loaded lazily into gym and Gymnasium.

Importing gymplug activates it (the startup hook normally has already): from then on, importing
``gym`` or ``gymnasium`` makes every installed plugin's environments available without running
their code. The names below are imported on first use, so that activation costs the host's import
next to nothing (see benchmarks/).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._activation import activate, get_manager, load_all

__all__ = [
    "Declaration",
    "Discovery",
    "Distribution",
    "EntryProblem",
    "EnvConflictError",
    "Form",
    "GymplugError",
    "HostManager",
    "InvalidEntryError",
    "PluginDisabledError",
    "PluginError",
    "PluginLoadError",
    "activate",
    "discover",
    "get_manager",
    "hookimpl",
    "hookspec",
    "invalidate_caches",
    "load_all",
]

# name -> the private module that defines it
_LAZY = {
    "Declaration": "._entries",
    "Distribution": "._entries",
    "EntryProblem": "._entries",
    "Form": "._entries",
    "Discovery": "._discovery",
    "discover": "._discovery",
    "invalidate_caches": "._cache",
    "EnvConflictError": "._errors",
    "GymplugError": "._errors",
    "InvalidEntryError": "._errors",
    "PluginDisabledError": "._errors",
    "PluginError": "._errors",
    "PluginLoadError": "._errors",
    "HostManager": "._manager",
    "hookimpl": ".hookspecs",
    "hookspec": ".hookspecs",
    "__version__": "._version",
}

if TYPE_CHECKING:
    from ._cache import invalidate_caches
    from ._discovery import Discovery, discover
    from ._entries import Declaration, Distribution, EntryProblem, Form
    from ._errors import (
        EnvConflictError,
        GymplugError,
        InvalidEntryError,
        PluginDisabledError,
        PluginError,
        PluginLoadError,
    )
    from ._manager import HostManager
    from .hookspecs import hookimpl, hookspec

activate()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
