"""Host adapter: one host seen through its registration module, the same interface for every host."""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any, Callable, NamedTuple, Optional

from ._errors import PluginError
from ._hosts import HostFacts, facts

__all__ = ["HostAdapter", "adapter_for", "wrap_functions"]


class HostAdapter(NamedTuple):
    """One host, seen through its ``envs.registration`` module."""

    facts: HostFacts
    registration: ModuleType

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def base_error(self) -> type:
        return self.facts.base_error()

    @property
    def registry(self) -> dict:
        return self.registration.registry

    def env_spec(self, env_id: str, entry_point: Any, **options: Any) -> Any:
        return self.registration.EnvSpec(id=env_id, entry_point=entry_point, **options)

    def load(self, entry_point: str) -> Any:
        """Import an ``module:attr`` entry point the way the host's make() does."""
        return getattr(self.registration, self.facts.load_name)(entry_point)

    def latest_version(self, namespace: Optional[str], name: str) -> Optional[int]:
        return self.registration.find_highest_version(namespace, name)

    def error(self, base: type, message: str, **details: Any) -> PluginError:
        """The host-flavoured subclass of gymplug error ``base`` (also a host ``error.Error``)."""
        return self.facts.errors()[base](message, **details)

    def set_namespace(self, namespace: Optional[str]) -> Optional[str]:
        """Set the host's current registration namespace; return the previous one."""
        previous = self.registration.current_namespace
        self.registration.current_namespace = namespace
        return previous


def adapter_for(host: str, registration: ModuleType) -> HostAdapter:
    return HostAdapter(facts(host), registration)


def wrap_functions(manager: Any, registration: ModuleType) -> dict[str, Callable[..., Any]]:
    """Wrappers of the host's lookup functions that do what lazy loading needs, then call the host."""
    wrapped: dict[str, Callable[..., Any]] = {}

    def maker(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def make(id: Any, *args: Any, **kwargs: Any) -> Any:
            declaration = manager.resolve(id, import_entry=True)
            try:
                return original(id, *args, **kwargs)
            except Exception as exc:
                manager.annotate(exc, id, declaration)
                raise

        return make

    wrapped["make"] = maker(registration.make)
    if hasattr(registration, "make_vec"):
        wrapped["make_vec"] = maker(registration.make_vec)

    host_spec = registration.spec

    @functools.wraps(host_spec)
    def spec(env_id: str) -> Any:
        declaration = manager.resolve(env_id, import_entry=False)
        try:
            return host_spec(env_id)
        except Exception as exc:
            manager.annotate(exc, env_id, declaration)
            raise

    wrapped["spec"] = spec

    host_register = registration.register

    @functools.wraps(host_register)
    def register(*args: Any, **kwargs: Any) -> Any:
        # The host's own `id in registry` check must not load plugins.
        with manager.quiet():
            return host_register(*args, **kwargs)

    wrapped["register"] = register

    if hasattr(registration, "pprint_registry"):
        host_pprint = registration.pprint_registry

        @functools.wraps(host_pprint)
        def pprint_registry(print_registry: Optional[dict] = None, *args: Any, **kwargs: Any) -> Any:
            manager.load_all()
            if print_registry is None:
                print_registry = registration.registry
            return host_pprint(print_registry, *args, **kwargs)

        wrapped["pprint_registry"] = pprint_registry
    return wrapped
