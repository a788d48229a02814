"""The hooks a gymplug plugin may implement: the contract between gymplug and plugin code."""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

__all__ = ["PROJECT_NAME", "Register", "gymplug_register_envs", "hookimpl", "hookspec"]

PROJECT_NAME = "gymplug"
#: Marks a hook specification (gymplug's own use).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marks a plugin's hook implementation: ``@hookimpl def gymplug_register_envs(register): ...``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Register(Protocol):
    """The ``register`` a plugin is given: the host's ``register`` options, checked by gymplug."""

    def __call__(self, id: str, entry_point: Any = None, **options: Any) -> None: ...


@hookspec(historic=True)
def gymplug_register_envs(register: Register) -> None:
    """Register this plugin's environments with ``register(id, entry_point, **options)``.

    ``options`` are the host's ``EnvSpec`` fields (``max_episode_steps``, ``reward_threshold``,
    ``kwargs``, ...). An id without a namespace goes into the namespace of the plugin's entry
    point; an id in another namespace is refused. Called once, when the plugin is first needed.
    """
