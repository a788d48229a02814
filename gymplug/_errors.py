"""gymplug's errors: one small hierarchy rooted at GymplugError."""

from __future__ import annotations

from typing import Optional, Sequence

from ._entries import Declaration, EntryProblem

__all__ = [
    "EnvConflictError",
    "GymplugError",
    "InvalidEntryError",
    "PluginDisabledError",
    "PluginError",
    "PluginLoadError",
    "RecordingError",
    "ScaffoldError",
    "host_flavoured",
]


class GymplugError(Exception):
    """Base of every error gymplug raises."""


class PluginError(GymplugError):
    """An environment cannot be made because of the plugin that provides it.

    The host adapters raise subclasses that also derive from the host's own ``error.Error``.
    """

    def __init__(
        self,
        message: str,
        *,
        env_id: Optional[str] = None,
        declarations: Sequence[Declaration] = (),
        problem: Optional[EntryProblem] = None,
    ) -> None:
        super().__init__(message)
        self.env_id = env_id
        self.declarations = tuple(declarations)
        self.problem = problem


class PluginLoadError(PluginError):
    """The plugin's code failed to import, or its registration raised; the cause is chained."""


class EnvConflictError(PluginError):
    """More than one distribution declares the environment id."""


class InvalidEntryError(PluginError):
    """The distribution's entry point for the id is malformed."""


class PluginDisabledError(PluginError):
    """The distribution that provides the id is blocked by GYMPLUG_DISABLE."""


class ScaffoldError(GymplugError, ValueError):
    """``scaffold()`` refuses a name, or to overwrite a file."""


class RecordingError(GymplugError):
    """Episodes cannot be recorded: the recorder is not installed, the folder is not writable, no rgb_array."""


def host_flavoured(module: str, host_error: type) -> dict[type, type]:
    """Each PluginError class subclassed to also derive from ``host_error``, as if defined in ``module``.

    The flavour modules bind the classes at module level, so they pickle across processes.
    """
    return {
        base: type(
            base.__name__,
            (base, host_error),
            {"__module__": module, "__qualname__": base.__name__, "__doc__": base.__doc__},
        )
        for base in (PluginLoadError, EnvConflictError, InvalidEntryError, PluginDisabledError)
    }
