"""Host adapter: one host seen through its registration module, the same interface for every host."""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple, Optional

from ._errors import PluginError
from ._hosts import HostFacts, facts

__all__ = ["HostAdapter", "adapter_for"]


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
        return getattr(self.registration, self.facts.load_name_in(self.registration))(entry_point)

    def latest_version(self, namespace: Optional[str], name: str) -> Optional[int]:
        return self.registration.find_highest_version(namespace, name)

    def error(self, base: type, message: str, **details: Any) -> PluginError:
        """The host-flavoured subclass of gymplug error ``base`` (also a host ``error.Error``)."""
        return self.facts.errors()[base](message, **details)


def adapter_for(host: str, registration: ModuleType) -> HostAdapter:
    return HostAdapter(facts(host), registration)
