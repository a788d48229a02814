"""The host patch: every name gymplug replaces in a host's registration module, recorded so it can be undone.

On the normal path the patch is applied right after ``<host>.envs.registration`` has run and
before ``<host>.envs`` and ``<host>`` import their names from it (``from .registration import
make, register, registry, ...``): so those modules bind the wrappers without being touched. When
gymplug attaches late, the same names are also replaced in those modules where they still hold
the originals.
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:  # only the type checker needs the Protocol: not built as the host is imported
    from typing import Protocol

    from ._manager import HostManager

    class Link(Protocol):
        """What the patch needs of a host's link to gymplug (``_activation.HostLink``)."""

        host: str
        #: False while the host registers its built-ins: the wrappers then only call the host
        ready: bool

        def get(self) -> Optional["HostManager"]: ...

        # lookups answered before attaching
        def unattached_hit(self, env: object) -> bool: ...

        def highest_version(self, original: Callable[..., Any], ns: Optional[str], name: str) -> Any: ...

        # what the registry calls (gymplug._registry)
        def on_miss(self, key: object) -> None: ...

        def allow_set(self, key: object) -> bool: ...

        def attach_registry(self) -> None: ...


__all__ = ["HostPatch", "apply"]


def _skip_eager_loading(entry_point: str = "") -> None:
    """Replaced by gymplug: the entry points load lazily, when one of their envs is looked up."""


class HostPatch:
    """The names gymplug replaced on a host's modules, each with its original."""

    def __init__(self, registration: ModuleType) -> None:
        self.registration = registration
        #: (module, name, original, replacement), in the order they were replaced
        self.replaced: list[tuple[ModuleType, str, Any, Any]] = []

    def replace(self, name: str, replacement: Any, *, modules: tuple[ModuleType, ...] = ()) -> Any:
        """Put ``replacement`` in place of ``name`` in the registration module (and in ``modules``
        where they hold the same original); return the original."""
        original = getattr(self.registration, name)
        for module in (self.registration, *modules):
            if module is self.registration or getattr(module, name, None) is original:
                setattr(module, name, replacement)
                self.replaced.append((module, name, original, replacement))
        return original

    def original(self, name: str) -> Any:
        for module, replaced, original, _ in self.replaced:
            if module is self.registration and replaced == name:
                return original
        raise KeyError(name)

    def undo(self) -> None:
        """Put every original back wherever a replacement still stands (the host's modules included)."""
        host = self.registration.__name__.split(".")[0]
        modules = [m for m in (sys.modules.get(host), sys.modules.get(f"{host}.envs")) if m is not None]
        for module, name, original, replacement in reversed(self.replaced):
            for target in {id(m): m for m in (module, *modules)}.values():
                if getattr(target, name, None) is replacement:
                    setattr(target, name, original)
        self.replaced.clear()


def _in_namespace(namespace: str, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The arguments of a host register() call with the id put in ``namespace``."""
    from ._entries import split_env_id

    env_id = kwargs.get("id", args[0] if args else None)
    parsed = split_env_id(env_id) if isinstance(env_id, str) else None
    if parsed is None:
        return args, kwargs
    _, name, version = parsed
    env_id = f"{namespace}/{name}" + ("" if version is None else f"-v{version}")
    if "id" in kwargs:
        return args, {**kwargs, "id": env_id}
    return (env_id, *args[1:]), kwargs


def _lookup_wrapper(link: Link, original: Callable[..., Any], *, import_entry: bool) -> Callable[..., Any]:
    @functools.wraps(original)
    def lookup(id: Any, *args: Any, **kwargs: Any) -> Any:
        if link.unattached_hit(id):  # the host's own id, nothing attached yet: no plugin is involved
            try:
                return original(id, *args, **kwargs)
            except Exception as exc:
                manager = link.get()
                if manager is not None:
                    manager.annotate(exc, id, None)
                raise
        manager = link.get() if link.ready else None  # not ready: the host's own import
        if manager is None:
            return original(id, *args, **kwargs)
        with manager.lookup():  # make() looks an id up several times: one budget for all of them
            declaration = manager.resolve(id, import_entry=import_entry)
            try:
                return original(id, *args, **kwargs)
            except Exception as exc:
                manager.annotate(exc, id, declaration)
                raise

    return lookup


def apply(link: Link, registration: ModuleType, *, lazy_registry: bool, rebind: tuple = ()) -> HostPatch:
    """Patch ``registration`` for ``link``: the lazy registry (on the normal path), the lookups that
    lazy loading and error naming need, and the host's eager plugin loader. Builds nothing more."""
    from ._hosts import facts
    from ._registry import PendingRegistry

    patch = HostPatch(registration)
    if lazy_registry:
        patch.replace("registry", PendingRegistry(registration.registry, manager=link))
    eager = facts(link.host).eager_loader_in(registration)
    if eager is not None:  # gym 0.21-0.26, gymnasium 0.26-0.29
        patch.replace(eager, _skip_eager_loading, modules=rebind)
    patch.replace("make", _lookup_wrapper(link, registration.make, import_entry=True), modules=rebind)
    if hasattr(registration, "make_vec"):
        patch.replace("make_vec", _lookup_wrapper(link, registration.make_vec, import_entry=True), modules=rebind)
    patch.replace("spec", _lookup_wrapper(link, registration.spec, import_entry=False), modules=rebind)
    if hasattr(registration, "find_highest_version"):  # make() reads every registry value for its version warning
        host_highest = registration.find_highest_version

        @functools.wraps(host_highest)
        def find_highest_version(ns: Optional[str], name: str) -> Optional[int]:
            return link.highest_version(host_highest, ns, name)

        patch.replace("find_highest_version", find_highest_version, modules=rebind)

    host_register = registration.register

    @functools.wraps(host_register)
    def register(*args: Any, **kwargs: Any) -> Any:
        manager = link.get() if link.ready else None  # not ready: the host registering its built-ins
        if manager is None:
            return host_register(*args, **kwargs)
        loader = manager.loader
        state = loader.current()
        if state is not None and state.legacy and state.declaration.namespace is not None:
            args, kwargs = _in_namespace(state.declaration.namespace, args, kwargs)
        env_id = kwargs.get("id", args[0] if args else None)
        loader.take_placeholder(env_id)  # a learned id's package registers it: no "Overriding" warning
        if state is not None and manager.already_known(env_id, state.declaration):
            return None  # recorded as shadowed; the host would only warn "Overriding environment"
        # The host's own `id in registry` check must not load plugins.
        with loader.quiet():
            return host_register(*args, **kwargs)

    patch.replace("register", register, modules=rebind)

    if hasattr(registration, "pprint_registry"):
        host_pprint = registration.pprint_registry

        @functools.wraps(host_pprint)
        def pprint_registry(print_registry: Optional[dict] = None, *args: Any, **kwargs: Any) -> Any:
            manager = link.get()
            if manager is not None:
                manager.load_all()
            if print_registry is None:
                print_registry = registration.registry
            return host_pprint(print_registry, *args, **kwargs)

        patch.replace("pprint_registry", pprint_registry, modules=rebind)
    return patch
