"""The hosts gymplug plugs into, one module of facts each; importing them never imports a host.

A host's module is imported when its facts are first asked for: a process that uses one host (the
startup hook's case) never builds the other's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._facts import HostFacts

__all__ = ["GROUPS", "HOSTS", "HostFacts", "NAMES", "facts"]

#: Every supported host's name, each the name of its module here (``_<name>``).
NAMES = ("gym", "gymnasium")

if TYPE_CHECKING:
    #: Every supported host, by name.
    HOSTS: dict[str, HostFacts]
    #: Entry-point group of each host.
    GROUPS: dict[str, str]


_known: dict[str, HostFacts] = {}


def facts(host: str) -> HostFacts:
    """The facts of ``host``; ValueError naming the known hosts otherwise."""
    found = _known.get(host)
    if found is None:
        if host not in NAMES:  # never an import of an arbitrary name
            raise ValueError(f"unknown host {host!r}; expected one of {', '.join(NAMES)}")
        found = _known[host] = importlib.import_module(f"._{host}", __name__).FACTS
    return found


def __getattr__(name: str) -> Any:
    if name == "HOSTS":
        value: Any = {host: facts(host) for host in NAMES}
    elif name == "GROUPS":
        value = {host: facts(host).group for host in NAMES}
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
