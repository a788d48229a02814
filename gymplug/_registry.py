"""The host registry gymplug installs, and the named raw operations gymplug uses on any registry."""

from __future__ import annotations

from typing import Any, Optional, Protocol

__all__ = ["LazyRegistry", "RawRegistry"]

_MISSING = object()


class _Manager(Protocol):
    def on_miss(self, key: object) -> None: ...

    def allow_set(self, key: object) -> bool: ...


class RawRegistry:
    """gymplug's own reads and writes of a host registry: they never load plugins and are never checked.

    Works on whatever dict the host's registration module holds (a :class:`LazyRegistry`, or the
    host's plain dict when gymplug attached late), read afresh each time.
    """

    __slots__ = ("_registration",)

    def __init__(self, registration: Any) -> None:
        self._registration = registration

    @property
    def data(self) -> dict:
        return self._registration.registry

    def peek(self, env_id: object) -> Any:
        """The spec of ``env_id``, or None."""
        return dict.get(self.data, env_id)

    def has(self, env_id: object) -> bool:
        return dict.__contains__(self.data, env_id)

    def store(self, env_id: str, spec: Any) -> None:
        dict.__setitem__(self.data, env_id, spec)

    def drop(self, env_id: str) -> None:
        dict.pop(self.data, env_id, None)

    def ids(self) -> list:
        return list(dict.keys(self.data))

    def snapshot(self) -> dict:
        return dict(dict.items(self.data))


class LazyRegistry(dict):
    """``dict[str, EnvSpec]`` whose failed lookups (``get``, ``in``, ``[]``) first load the Form B
    plugins of the id's namespace (and root plugins), then look again.

    Iteration never loads anything: the hosts iterate ``values()`` on every ``make``.
    """

    __slots__ = ("manager",)

    def __init__(self, *args: Any, manager: Optional[_Manager] = None) -> None:
        super().__init__(*args)
        self.manager = manager

    def _load_for(self, key: object) -> None:
        if self.manager is not None:
            self.manager.on_miss(key)

    def __missing__(self, key: object) -> Any:
        self._load_for(key)
        value = dict.get(self, key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: object, default: Any = None) -> Any:
        value = dict.get(self, key, _MISSING)
        if value is _MISSING:
            self._load_for(key)
            value = dict.get(self, key, default)
        return value

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        self._load_for(key)
        return dict.__contains__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if self.manager is None or self.manager.allow_set(key):
            dict.__setitem__(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickles (and deep-copies) as the plain dict it stands for.
        return (dict, (dict(self),))
