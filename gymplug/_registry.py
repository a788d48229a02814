"""The host registry gymplug installs, and the named raw operations gymplug uses on any registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

__all__ = ["LazyRegistry", "PendingRegistry", "RawRegistry"]

_MISSING = object()


if TYPE_CHECKING:  # only the type checker needs the Protocol: not built as the host is imported
    from typing import Protocol

    class _Manager(Protocol):
        def on_miss(self, key: object) -> None: ...

        def allow_set(self, key: object) -> bool: ...

        def attach_registry(self) -> None: ...


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

    ``values()`` is a list, taken at once: the hosts' ``register`` and ``make`` walk it in Python code,
    and plugins loading in other threads (which gymplug makes possible) insert meanwhile; a live view
    then raised "dictionary changed size during iteration" in whichever of them walked it.
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

    def values(self) -> Any:
        return list(dict.values(self))  # one C call: no other thread runs while it is taken

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickles (and deep-copies) as the plain dict it stands for.
        return (dict, (dict(dict.items(self)),))


class PendingRegistry(LazyRegistry):
    """The registry before gymplug has attached: any use that could see a plugin's id attaches first.

    gymplug then becomes a :class:`LazyRegistry` (the same object: its class is switched), so that
    after attaching every read is the dict's own again. A hit on an id the host already has needs no
    plugin, so ``registry[id]``, ``get`` and ``in`` attach only when they miss. Every other read,
    the C-level ones included (``dict(registry)``, ``{**registry}``, ``==``, ``json``, ``copy``,
    ``pickle``), goes through a method overridden here: ``dict(registry)`` takes the keys() path
    because ``__iter__`` is overridden.
    """

    __slots__ = ()

    def _attach(self) -> None:
        if self.manager is not None:
            self.manager.attach_registry()
            if self.manager is None and type(self) is PendingRegistry:  # gymplug gave up: a plain dict now
                self.__class__ = LazyRegistry

    def _load_for(self, key: object) -> None:
        self._attach()
        if not dict.__contains__(self, key):  # attaching may have registered it: then it is a hit, as it is after
            LazyRegistry._load_for(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._attach()
        LazyRegistry.__setitem__(self, key, value)

    def __iter__(self) -> Any:
        self._attach()
        return dict.__iter__(self)

    def __reversed__(self) -> Any:
        self._attach()
        return dict.__reversed__(self)

    def __len__(self) -> int:
        self._attach()
        return dict.__len__(self)

    def __eq__(self, other: object) -> bool:
        self._attach()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self._attach()
        return dict.__ne__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._attach()
        return dict.__repr__(self)

    def __or__(self, other: Any) -> Any:
        self._attach()
        return dict.__or__(self, other)

    def __ror__(self, other: Any) -> Any:
        self._attach()
        return dict.__ror__(self, other)

    def __ior__(self, other: Any) -> Any:
        self._attach()
        return dict.__ior__(self, other)

    def __delitem__(self, key: Any) -> None:
        self._attach()
        dict.__delitem__(self, key)

    def keys(self) -> Any:
        self._attach()
        return dict.keys(self)

    def values(self) -> Any:
        self._attach()
        return LazyRegistry.values(self)

    def items(self) -> Any:
        self._attach()
        return dict.items(self)

    def copy(self) -> dict:
        self._attach()
        return dict(dict.items(self))

    def pop(self, *args: Any) -> Any:
        self._attach()
        return dict.pop(self, *args)

    def popitem(self) -> Any:
        self._attach()
        return dict.popitem(self)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._attach()
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._attach()
        dict.update(self, *args, **kwargs)

    def clear(self) -> None:
        self._attach()
        dict.clear(self)

    def __reduce__(self) -> tuple[Any, ...]:
        self._attach()
        return LazyRegistry.__reduce__(self)
