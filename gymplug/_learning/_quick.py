"""The learned store at attach: what it holds for a host, checked without reading every distribution's METADATA.

Attaching registers the learned ids whose specs are plain data (:meth:`Learning.entries`). Done as a
lookup does it, that finds every import source first: a read of each distribution's METADATA (tens of
milliseconds at a thousand distributions). Here the store is read first: when it holds nothing for the
host (the common case) nothing else is read; otherwise only the distributions it names, their
requirements and the host are read, found where discovery listed them, and checked as
:func:`._sources.find_sources` checks them (the same code, on those distributions only). Where that
cannot be exact (``GYMPLUG_DISABLE`` set, a zip on the path) the caller does the full scan.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

from .._cache import interpreter_file
from .._private import read_private_json
from .._settings import Settings

if TYPE_CHECKING:
    from .._entries import Declaration
    from ._sources import Source

__all__ = ["FORMAT", "learned_at_attach", "sources_among", "store_file", "stored_ids", "stored_keys"]

FORMAT = 2  # 2: keyed on the folder too; depends, specs, modules; failures expire


def store_file(settings: Optional[Settings] = None) -> Optional[str]:
    """This interpreter's learned store, beside the discovery cache; None when GYMPLUG_CACHE is off."""
    return interpreter_file("learned", FORMAT, settings)


def _stored(host: str, settings: Settings) -> dict[str, dict]:
    """Distribution key -> {folder: entry} of the import sources the store holds for ``host``, unchecked (a
    superset of the valid entries). Registration plugins' entries (``dist#entry``) are left out. Never raises."""
    path = store_file(settings)
    data = None if path is None else read_private_json(path)
    if not (type(data) is dict and data.get("format") == FORMAT and type(data.get("hosts")) is dict):
        return {}
    dists = data["hosts"].get(host)
    if type(dists) is not dict:
        return {}
    return {k: v for k, v in dists.items() if type(k) is str and "#" not in k and type(v) is dict and v}


def stored_keys(host: str, settings: Settings) -> frozenset[str]:
    """The distributions the store holds an entry of for ``host`` (unchecked: a superset of the valid ones)."""
    return frozenset(_stored(host, settings))


def stored_ids(host: str, settings: Settings) -> list[str]:
    """Every id of every entry the store holds for ``host`` (unchecked: a superset of the learned ids)."""
    found: list[str] = []
    for folders in _stored(host, settings).values():
        for entry in folders.values():
            ids = entry.get("ids") if type(entry) is dict else None
            if type(ids) is list:
                found.extend(i for i in ids if type(i) is str)
    return found


def sources_among(host: str, keys: Iterable[str], folders: Mapping[str, str]) -> "list[Source]":
    """The usable import sources among ``keys``, in path order, as ``find_sources`` gives them with nothing
    disabled. ``folders``: normalized name -> the metadata folder importlib reads (discovery's listing).

    ``_sources._sources`` decides, given the distributions of ``keys``, of their requirements and of the host:
    all that its rules read for these (a requirement's version, the host's extras, a chain through an
    installed requirement).
    """
    from ._metadata import Folder
    from ._sources import _read_dist, _sources

    now = time.time_ns()
    read: dict[str, Any] = {}

    def dist(key: str) -> Any:
        if key not in read:
            path = folders[key]
            folder = Folder(path)
            read[key] = _read_dist(folder, os.path.basename(path), folder.signature(), now)
        return read[key]

    wanted = [k for k in dict.fromkeys(keys) if k in folders]
    names = set(wanted)
    for key in wanted:
        names.update(r.name for r in dist(key).requires if r.name in folders)
    if host in folders:
        names.add(host)
    order = [name for name in folders if name in names]  # path order, as find_sources builds its dict
    usable, _ = _sources(host, _group(host), {name: dist(name) for name in order}, frozenset())
    return [source for source in usable if source.key in wanted]


def learned_at_attach(
    host: str, keys: Iterable[str], folders: Mapping[str, str], settings: Settings
) -> "tuple[list[tuple[Declaration, str, Mapping[str, Any]]], dict[str, list[Declaration]]]":
    """:meth:`Learning.entries` for a store that names ``keys``, with nothing disabled and no zip on the path."""
    from ._lookups import learned_entries
    from ._store import known

    usable = sources_among(host, keys, folders)
    items = known(host, usable, settings)
    return learned_entries(_group(host), {s.key: (s, items[s.key]) for s in usable if s.key in items})


def _group(host: str) -> str:
    from .._hosts import facts

    return facts(host).group
