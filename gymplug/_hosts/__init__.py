"""The hosts gymplug plugs into, one module of facts each; importing them never imports a host."""

from __future__ import annotations

from . import _gym, _gymnasium
from ._facts import HostFacts

__all__ = ["GROUPS", "HOSTS", "HostFacts", "facts"]

#: Every supported host, by name.
HOSTS: dict[str, HostFacts] = {f.name: f for f in (_gym.FACTS, _gymnasium.FACTS)}
#: Entry-point group of each host.
GROUPS: dict[str, str] = {name: f.group for name, f in HOSTS.items()}


def facts(host: str) -> HostFacts:
    """The facts of ``host``; ValueError naming the known hosts otherwise."""
    try:
        return HOSTS[host]
    except KeyError:
        raise ValueError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}") from None
