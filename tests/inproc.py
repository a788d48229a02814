"""Build a gymplug manager in-process on a private copy of the real host's registration module.

Used by the in-process tests and by the small scripts they run in subprocesses (real signals, forks).
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import sys
from types import ModuleType

from helpers import HOST

from gymplug._activation import HostLink
from gymplug._adapter import adapter_for
from gymplug._discovery import Discovery
from gymplug._entries import Declaration, Distribution, EntryProblem, parse_entry
from gymplug._hosts import facts
from gymplug._manager import HostManager
from gymplug._patch import apply

GROUP = facts(HOST).group
_numbers = itertools.count()


def private_registration() -> ModuleType:
    """A fresh copy of ``<host>.envs.registration``: the host's own functions over an empty registry."""
    real = importlib.import_module(f"{HOST}.envs.registration")
    spec = importlib.util.spec_from_file_location(f"_gymplug_test_registration_{next(_numbers)}", real.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def declare(dist: str, name: str, value: str, version: str = "1.0") -> "Declaration | EntryProblem":
    return parse_entry(Distribution(dist, version), GROUP, name, value)


def attach(registration: ModuleType, *declarations: Declaration, builtins: tuple = (), disabled: frozenset = frozenset()) -> HostManager:
    """Patch ``registration`` as the startup hook does, and attach a manager to ``declarations``."""
    link = HostLink(HOST, registration)
    link.patch = apply(link, registration, lazy_registry=True)
    for env_id in builtins:  # the host's own, registered before gymplug attaches
        registration.register(id=env_id, entry_point="builtin_envs:Env")
    manager = link.manager = HostManager(adapter_for(HOST, registration))
    manager.attach(Discovery(GROUP, tuple(declarations), disabled=disabled))
    manager.activate_registry()
    link.ready = True
    manager.link = link  # type: ignore[attr-defined] # for tests that undo the patch
    return manager


def pending(registration: ModuleType, *declarations: Declaration) -> HostLink:
    """Patch ``registration`` as the startup hook does and leave attaching to the first use, with
    ``declarations`` standing for what discovery would find."""
    link = HostLink(HOST, registration)
    link.patch = apply(link, registration, lazy_registry=True)
    registration.register(id="Builtin-v0", entry_point="builtin_envs:Env")
    link.manager = HostManager(adapter_for(HOST, registration))
    discovery = Discovery(GROUP, tuple(declarations))
    original = link.manager.attach
    link.manager.attach = lambda *a, **k: original(discovery)  # type: ignore[method-assign]
    link.ready = True
    return link
