"""One entry of the learned store: every field checked before it is used or written, and what ``put`` keeps.

Checked as the discovery cache checks its file: exact types, finite numbers >= 0 (``NaN`` or
``Infinity`` would reach ``gymplug index --json``, which must stay JSON), bounded sizes, and specs of
plain data (None, bool, int, finite float, str, lists, dicts with str keys) of bounded depth and size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Optional

from ._sources import Source

__all__ = ["DEFAULT_TIMEOUT", "Entry", "Learned", "decode", "dump", "entry_for", "is_number", "is_text"]

#: Seconds one source may take to import in the child.
DEFAULT_TIMEOUT = 20.0

_MAX_TEXT = 4096  # characters of a name, version, id, module, folder or error line
_MAX_IDS = 200_000  # ids of one entry
_MAX_ITEMS = 1024  # signature ints, requirements, modules
_MAX_SPEC_DEPTH = 16  # nesting of a spec's values
_MAX_SPEC_NODES = 10_000  # values in one spec, all levels together
_MAX_INT = 2**64


@dataclass(frozen=True)
class Learned:
    """What importing one source registered. Immutable."""

    #: the source's normalized distribution name
    dist: str
    version: str
    #: the source's folder signature when it was learned: a different one means learn again
    signature: tuple[int, ...]
    #: the ids its own import registered, in registration order (some, even when it failed)
    ids: tuple[str, ...]
    #: one printable line saying why the import failed or timed out, else None
    error: Optional[str]
    #: how long learning took (finite, >= 0)
    seconds: float
    #: id -> the spec's init fields whose values are plain data and differ from the host's defaults
    #: (always a str "entry_point"); an id whose spec is not plain data has none, and stays a hint
    specs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: the modules whose import registered the ids: what a lookup imports in the user's process
    modules: tuple[str, ...] = ()
    #: True: a result that must never be stored (timed out, killed, interrupted, cut short)
    transient: bool = False


class Entry(NamedTuple):
    """One valid entry: what was learned, the requirements' versions it holds for, when it was stored."""

    item: Learned
    depends: tuple[tuple[str, str], ...]
    stored: float


def is_text(value: Any, empty: bool = False) -> bool:
    return type(value) is str and (empty or value != "") and len(value) <= _MAX_TEXT


def is_number(value: Any) -> bool:
    """A finite number >= 0 (not a bool): NaN or Infinity would reach ``--json`` output, which must stay JSON."""
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _module(value: Any) -> bool:
    return is_text(value) and all(part.isidentifier() for part in value.split("."))


def _plain(value: Any, depth: int, budget: list[int]) -> bool:
    """Plain data within bounds: None, bool, int, finite float, str, lists, dicts with str keys."""
    budget[0] -= 1
    kind = type(value)
    if budget[0] < 0 or depth > _MAX_SPEC_DEPTH:
        return False
    if value is None or kind is bool or kind is str and len(value) <= _MAX_TEXT:
        return True
    if kind is int:
        return -_MAX_INT <= value <= _MAX_INT
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_plain(v, depth + 1, budget) for v in value)
    if kind is dict:
        return all(type(k) is str and len(k) <= _MAX_TEXT and _plain(v, depth + 1, budget) for k, v in value.items())
    return False


def _spec(value: Any) -> bool:
    """A spec's plain init fields: a dict of identifier keys, with a str entry point."""
    return (
        type(value) is dict
        and is_text(value.get("entry_point"))
        and all(type(k) is str and k.isidentifier() for k in value)
        and _plain(value, 0, [_MAX_SPEC_NODES])
    )


def decode(key: str, data: Any) -> Optional[Entry]:
    """The entry stored as ``data`` for distribution ``key``, or None if any field has the wrong shape."""
    if type(data) is not dict:
        return None
    names = ("version", "signature", "depends", "ids", "error", "seconds", "specs", "modules", "stored")
    values: list[Any] = [data.get(name) for name in names]
    version, signature, depends, ids, error, seconds, specs, modules, stored = values
    if not (is_text(version, empty=True) and is_number(seconds) and is_number(stored)):
        return None
    if not (error is None or is_text(error, empty=True)):
        return None
    if not (type(signature) is list and len(signature) <= _MAX_ITEMS and all(type(n) is int for n in signature)):
        return None
    if not (type(depends) is list and len(depends) <= _MAX_ITEMS):
        return None
    if not all(type(d) is list and len(d) == 2 and is_text(d[0]) and is_text(d[1], empty=True) for d in depends):
        return None
    if not (type(ids) is list and len(ids) <= _MAX_IDS and all(is_text(i) for i in ids)):
        return None
    if not (type(modules) is list and len(modules) <= _MAX_ITEMS and all(_module(m) for m in modules)):
        return None
    if not (type(specs) is dict and len(specs) <= len(ids)):
        return None
    known_ids = set(ids)
    if not all(i in known_ids and _spec(s) for i, s in specs.items()):
        return None
    if not all(-_MAX_INT <= n <= _MAX_INT for n in signature):
        return None
    item = Learned(key, version, tuple(signature), tuple(ids), error, float(seconds), specs, tuple(modules))
    return Entry(item, tuple((d[0], d[1]) for d in depends), float(stored))


def dump(entry: Entry) -> dict[str, Any]:
    item = entry.item
    return {
        "version": item.version,
        "signature": list(item.signature),
        "depends": [list(pair) for pair in entry.depends],
        "ids": list(item.ids),
        "error": item.error,
        "seconds": item.seconds,
        "specs": {env_id: dict(spec) for env_id, spec in item.specs.items()},
        "modules": list(item.modules),
        "stored": entry.stored,
    }


def entry_for(source: Source, item: Learned, stored: float) -> Optional[Entry]:
    """What ``put`` keeps of ``item``, learned from ``source``: always an entry that ``_decode`` accepts, or None.

    Specs that are not plain data within bounds are dropped (those ids stay hints); ids that cannot
    be kept make it a failure that says so (retried later, as every failure is).
    """
    ids, error = list(item.ids), item.error
    if len(ids) > _MAX_IDS or not all(is_text(i) for i in ids):
        error = f"registered {len(ids)} ids, more than gymplug keeps or ids longer than {_MAX_TEXT} characters"
        ids = []
    if error is not None and type(error) is str:
        error = error[:_MAX_TEXT]
    seconds = item.seconds if is_number(item.seconds) else 0.0
    kept = set(ids)
    specs = {k: dict(v) for k, v in item.specs.items() if k in kept and isinstance(v, Mapping) and _spec(dict(v))}
    data = {
        "version": source.version,
        "signature": list(source.signature),
        "depends": [list(pair) for pair in source.depends],
        "ids": ids,
        "error": error,
        "seconds": seconds,
        "specs": specs,
        "modules": list(item.modules),
        "stored": stored,
    }
    return decode(source.key, data)
