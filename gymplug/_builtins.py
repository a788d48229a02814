"""The hosts' own ids, kept per installed state, so that ``gymplug list --no-import`` need not import the host.

Importing a host (gymnasium: numpy and all) is most of what a listing costs. A listing that imported the
host keeps what it learned of it (:func:`remember`): its own ids and the entry point each shows, the fields
its ``EnvSpec`` takes, and the modules its import brought in (a plugin whose entry point is one of them shows
as loaded). The next listing attaches gymplug to a stand-in of the host's registration module holding those
ids (:func:`stand_in`) while ``sys.path`` and every directory on it stat as they did: any install, upgrade
or removal anywhere on the path reads as a change. Kept beside the discovery cache, under its rules.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterable, Optional

from ._cache import interpreter_file
from ._discovery import path_state
from ._private import read_private_json, write_private_json
from ._settings import Settings

if TYPE_CHECKING:
    from ._manager import HostManager

__all__ = ["imported", "remember", "stand_in"]

FORMAT = 1
_MAX_ITEMS = 100_000


def _file(settings: Settings) -> Optional[str]:
    return interpreter_file("builtins", FORMAT, settings)


def _state() -> list:
    """What the kept ids hold for: the path, and each entry's stat (see ``_discovery.path_state``)."""
    return [list(item) for item in path_state(sys.path)]


def remember(
    host: str, manager: "HostManager", before: Iterable[str], settings: Settings, printed: str, quiet: bool
) -> None:
    """Keep ``host``'s own ids as the attached ``manager`` sees them; ``before``: sys.modules before the host's
    import; ``printed``: what that import printed (its notices), ``quiet`` whether ``-q`` had silenced them.
    Never raises."""
    path = _file(settings)
    registration = manager.host.registration
    try:
        env_spec = registration.EnvSpec
        fields = [name for name in getattr(env_spec, "__dataclass_fields__", {}) if name != "id"]
        ids: dict[str, str] = {}
        for env_id, spec in dict.items(registration.registry):
            if manager.ledger.owner(env_id) is not None:
                continue
            entry_point = getattr(spec, "entry_point", None)
            ids[env_id] = (entry_point if isinstance(entry_point, str)
                           else getattr(entry_point, "__qualname__", repr(entry_point)))
        known = set(before)
        modules = sorted(name for name in list(sys.modules) if name not in known)
        if path is None or not fields or not all(isinstance(k, str) for k in ids):
            return
        data = read_private_json(path)
        hosts = data.get("hosts") if isinstance(data, dict) and data.get("format") == FORMAT else None
        kept = {name: value for name, value in (hosts or {}).items() if name != host and isinstance(value, dict)}
        state = _state()
        kept[host] = {"state": state, "ids": ids, "fields": fields, "modules": modules, "printed": printed,
                      "quiet": quiet}
        if write_private_json(path, {"format": FORMAT, "hosts": kept}) and _state() != state:
            # the write made the cache directory, in a directory on the path (the current one): as it is now
            kept[host]["state"] = _state()
            write_private_json(path, {"format": FORMAT, "hosts": kept})
    except Exception:  # noqa: BLE001 - a listing must not fail for what only speeds up the next one
        return


def _texts(value: Any) -> bool:
    return type(value) is list and len(value) <= _MAX_ITEMS and all(type(v) is str for v in value)


def stand_in(host: str, settings: Settings, quiet: bool) -> Optional[tuple["HostManager", str]]:
    """A manager attached to a stand-in of ``host``'s registration module, holding the ids kept for the path as
    it is now, and what the host's import printed (for the caller to print as it would have), when kept with
    ``-q`` as ``quiet`` says; None when nothing valid is kept. Never raises."""
    path = _file(settings)
    data = None if path is None else read_private_json(path)
    try:
        kept = data["hosts"][host] if isinstance(data, dict) and data.get("format") == FORMAT else None
        if not (isinstance(kept, dict) and kept.get("state") == _state()):
            return None
        ids, fields, modules = kept.get("ids"), kept.get("fields"), kept.get("modules")
        if not (type(ids) is dict and len(ids) <= _MAX_ITEMS and _texts(list(ids)) and _texts(list(ids.values()))):
            return None
        if not (type(fields) is list and _texts(fields) and type(modules) is list and _texts(modules)):
            return None
        printed = kept.get("printed")
        if type(printed) is not str or kept.get("quiet") is not quiet:
            return None
        return _attach(host, ids, frozenset(fields), frozenset(modules), settings), printed
    except Exception:  # noqa: BLE001 - the long way tells
        return None


def _attach(
    host: str, ids: dict[str, str], fields: frozenset[str], modules: frozenset[str], settings: Settings
) -> "HostManager":
    from ._adapter import adapter_for
    from ._discovery import discover
    from ._manager import HostManager

    discovery = discover(host, settings=settings)

    class EnvSpec:
        """What a listing reads of the host's spec: the fields it takes, nothing it does.

        It takes every id the host's takes here: an entry's id has passed gymplug's grammar, which is the
        host's without ``:`` (and of its characters), and a learned id was registered by the host itself.
        """

        def __init__(self, id: str, entry_point: Any = None, **options: Any) -> None:
            unknown = set(options) - fields
            if unknown:
                raise TypeError(f"EnvSpec.__init__() got an unexpected keyword argument {sorted(unknown)[:1]}")
            self.id, self.entry_point = id, entry_point
            self.__dict__.update(options)

    class HostSpec:
        """One of the host's own ids, as a listing shows it."""

        def __init__(self, id: str, entry_point: str) -> None:
            self.id, self.entry_point = id, entry_point

    registration = ModuleType(f"{host}.envs.registration")
    registration.EnvSpec = EnvSpec  # type: ignore[attr-defined]
    registration.registry = {env_id: HostSpec(env_id, shown) for env_id, shown in ids.items()}  # type: ignore[attr-defined]
    registration.__gymplug_modules__ = modules  # type: ignore[attr-defined] # what importing the host imports
    manager = HostManager(adapter_for(host, registration), settings)
    manager.attach(discovery)
    return manager


def imported(manager: Any, module: str) -> bool:
    """Is ``module`` imported, in this process or (for a stand-in) by the host's import it stands for?"""
    return module in sys.modules or module in getattr(manager.host.registration, "__gymplug_modules__", ())
