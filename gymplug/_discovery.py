"""Discovery: read the host groups' entry points from installed metadata, names and values only.

It finds distributions as importlib.metadata does (``*.dist-info`` / ``*.egg-info`` folders in
each ``sys.path`` entry, the first of a name winning) but reads nothing of them except
``entry_points.txt``: the name and version come from the folder's name, and a file that does not
mention the host's group is not decoded. That keeps discovery near the cost of reading the files
(``benchmarks/bench.py``), where importlib.metadata builds objects and parses METADATA for each.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from ._entries import GROUPS, Declaration, Distribution, EntryProblem, normalize_name, parse_entry_points

__all__ = ["Discovery", "discover", "disabled_distributions"]

logger = logging.getLogger(__name__)

_SUFFIXES = (".dist-info", ".egg-info")


@dataclass(frozen=True)
class Discovery:
    """What the installed distributions declare for one host group."""

    group: str
    declarations: tuple[Declaration, ...] = ()
    problems: tuple[EntryProblem, ...] = ()
    disabled: frozenset[str] = field(default_factory=frozenset)

    def is_disabled(self, dist: Distribution) -> bool:
        return dist.key in self.disabled


def disabled_distributions(value: Optional[str] = None) -> frozenset[str]:
    """Normalized names blocked by GYMPLUG_DISABLE (comma or space separated)."""
    if value is None:
        value = os.environ.get("GYMPLUG_DISABLE", "")
    return frozenset(normalize_name(name) for name in value.replace(",", " ").split())


class _Found:
    """One distribution as discovery sees it: its name, version and a reader of its entry_points.txt."""

    __slots__ = ("name", "version", "key", "read")

    def __init__(self, name: str, version: str, read: Callable[[], Optional[bytes]]) -> None:
        self.name, self.version, self.key, self.read = name, version, normalize_name(name), read


def _read_file(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as file:
            return file.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _version_from_pkg_info(folder: str) -> str:
    """The Version header of an egg-info folder whose name carries no version (develop installs)."""
    for name in ("PKG-INFO", "METADATA"):
        data = _read_file(os.path.join(folder, name))
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            if key.strip().lower() == "version":
                return value.strip()
    return "?"


def _in_directory(directory: str) -> Iterator[_Found]:
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.lower().endswith(_SUFFIXES):
            continue
        # "{name}-{version}.dist-info", "{name}-{version}-py3.11.egg-info" or "{name}.egg-info"
        project, _, rest = name.rpartition(".")[0].partition("-")
        folder = os.path.join(directory, name)
        version = rest.partition("-")[0] or _version_from_pkg_info(folder)
        path = os.path.join(folder, "entry_points.txt")
        yield _Found(normalize_name(project), version, lambda path=path: _read_file(path))


def _in_other(entry: str) -> Iterator[_Found]:
    """Distributions in a path entry that is no directory (a zip), through importlib.metadata."""
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:  # pragma: no cover - exercised on Python 3.9 only
        import importlib_metadata as metadata

    def reader(dist: metadata.Distribution) -> Callable[[], Optional[bytes]]:
        def read() -> Optional[bytes]:
            text = dist.read_text("entry_points.txt")
            return None if text is None else text.encode("utf-8")

        return read

    for dist in metadata.distributions(path=[entry]):
        meta = dist.metadata
        name = (meta["Name"] if meta is not None else None) or "?"
        yield _Found(name, (meta["Version"] if meta is not None else None) or "?", reader(dist))


def _distributions(path: list[str]) -> Iterator[_Found]:
    """Every distribution on ``path``, in importlib.metadata's order; the first of a name wins."""
    seen: set[str] = set()
    for entry in path:
        entry = entry or "."
        found = _in_directory(entry) if os.path.isdir(entry) else _in_other(entry) if os.path.exists(entry) else ()
        for dist in found:
            if dist.key not in seen:
                seen.add(dist.key)
                yield dist


def discover(host: str, path: Optional[list[str]] = None, disable: Optional[str] = None) -> Discovery:
    """Read the declarations of ``host``'s group from the distributions on ``path`` (default sys.path).

    The first distribution of a name on the path wins, as for importlib. Never imports plugin code.
    """
    group = GROUPS[host]
    needle = f"[{group}]".encode()
    declarations: list[Declaration] = []
    problems: list[EntryProblem] = []
    for found in _distributions(sys.path if path is None else path):
        try:
            data = found.read()
            if data is None or needle not in data:
                continue
            text = data.decode("utf-8")
        except Exception as exc:  # unreadable or undecodable: report, never fail
            owner = Distribution(found.name, found.version)
            problems.append(EntryProblem(owner, group, "", "", f"entry_points.txt unreadable: {exc}"))
            continue
        found_declarations, found_problems = parse_entry_points(Distribution(found.name, found.version), group, text)
        declarations += found_declarations
        problems += found_problems
    for item in problems:
        logger.warning("skipping malformed entry point: %s", item.describe())
    return Discovery(group, tuple(declarations), tuple(problems), disabled_distributions(disable))
