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
    "describe_exception",
    "host_flavoured",
    "one_line",
    "safe_str",
]


def safe_str(obj: object) -> str:
    """``str(obj)`` for an object plugin code made: its ``__str__`` may raise, or not return a str."""
    try:
        text = str(obj)
    except Exception as exc:  # noqa: BLE001 - hostile __str__
        return f"<unprintable {type(obj).__name__}: str() raised {type(exc).__name__}>"
    return text if isinstance(text, str) else f"<unprintable {type(obj).__name__}>"


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` of an exception plugin code raised, never raising itself."""
    text = safe_str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """The first line of :func:`describe_exception`."""
    text = safe_str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


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
