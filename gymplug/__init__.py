"""gymplug: reinforcement-learning environments declared in package metadata, loaded lazily into gym and Gymnasium.

Importing gymplug activates it (the startup hook normally has already): from then on, importing
``gym`` or ``gymnasium`` registers every installed plugin's environments without running their code.
"""

from ._activation import activate, get_manager, load_all
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

activate()


def __getattr__(name: str) -> str:
    if name == "__version__":
        from ._version import __version__

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
