"""Discovery: read the host groups' entry points from installed metadata, names and values only.

It finds distributions as importlib.metadata does (``*.dist-info`` / ``*.egg-info`` folders in
each ``sys.path`` entry, the first of a name winning) but reads nothing of them except
``entry_points.txt``: the name and version come from the folder's name, and a file that does not
mention a host group is not decoded. What a directory declares is kept in the discovery cache
(``_cache``) while the directory and its files stat the same. See ``benchmarks/bench.py``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
import sys
from typing import Iterator, NamedTuple, Optional

from . import _cache
from ._cache import Listing
from ._entries import GROUPS, Declaration, Distribution, EntryProblem, entry_rows, from_rows, normalize_name
from ._log import get_logger
from ._settings import Settings, current

__all__ = ["Discovery", "discover", "disabled_distributions", "paused_gc"]

logger = get_logger(__name__)

_SUFFIXES = (".dist-info", ".egg-info")
_NEEDLES = tuple((group, f"[{group}]".encode()) for group in GROUPS.values())

class Discovery(NamedTuple):
    """What the installed distributions declare for one host group. Immutable."""

    group: str
    declarations: tuple[Declaration, ...] = ()
    problems: tuple[EntryProblem, ...] = ()
    disabled: frozenset[str] = frozenset()

    def is_disabled(self, dist: Distribution) -> bool:
        return dist.key in self.disabled


def disabled_distributions(value: Optional[str] = None) -> frozenset[str]:
    """Normalized names blocked by GYMPLUG_DISABLE (comma or space separated)."""
    if value is None:
        return current().disable
    return Settings.from_environ({"GYMPLUG_DISABLE": value}).disable


def _sections(data: bytes) -> dict[str, list[str]]:
    """The rows of each host group that an entry_points.txt mentions (UnicodeDecodeError if it must)."""
    mentioned = [group for group, needle in _NEEDLES if needle in data]
    if not mentioned:
        return {}
    text = data.decode("utf-8")
    sections = {group: entry_rows(text, group) for group in mentioned}
    return {group: rows for group, rows in sections.items() if rows}


def _version_from_pkg_info(folder: str) -> str:
    """The Version header of an egg-info folder whose name carries no version (develop installs)."""
    for name in ("PKG-INFO", "METADATA"):
        try:
            with open(os.path.join(folder, name), "rb") as file:
                head = file.read(8192).decode("utf-8", "replace")
        except OSError:
            continue
        for line in head.splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            if key.strip().lower() == "version":
                return value.strip()
    return "?"


def _scan_directory(directory: str) -> tuple[Listing, int, list[EntryProblem]]:
    """Every distribution in a directory; the newest mtime seen (ns); files that could not be read."""
    newest = 0
    listing = Listing.empty(GROUPS.values())
    unreadable: list[EntryProblem] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return listing, newest, unreadable
    for folder in names:
        if not folder.lower().endswith(_SUFFIXES):
            continue
        # "{name}-{version}.dist-info", "{name}-{version}-py3.11.egg-info" or "{name}.egg-info"
        project, _, rest = folder.rpartition(".")[0].partition("-")
        name = normalize_name(project)
        version = rest.partition("-")[0] or _version_from_pkg_info(os.path.join(directory, folder))
        signature, sections = _cache.ABSENT, {}
        try:
            with open(os.path.join(directory, folder, "entry_points.txt"), "rb") as file:
                signature = _cache.file_signature(os.fstat(file.fileno()))
                newest = max(newest, signature[0])
                sections = _sections(file.read())
        except (FileNotFoundError, NotADirectoryError):
            pass
        except Exception as exc:  # unreadable or undecodable: reported for every group, never cached
            problem = f"entry_points.txt unreadable: {exc}"
            unreadable += (EntryProblem(Distribution(name, version), group, "", "", problem) for group in GROUPS.values())
        listing.add(folder, name, version, signature, sections)
    return listing, newest, unreadable


def _other_entry(entry: str) -> Listing:
    """Distributions in a path entry that is no directory (a zip), through importlib.metadata; not cached."""
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:  # pragma: no cover - exercised on Python 3.9 only
        import importlib_metadata as metadata

    listing = Listing.empty(GROUPS.values())
    for dist in metadata.distributions(path=[entry]):
        meta = dist.metadata
        name = normalize_name((meta["Name"] if meta is not None else None) or "?")
        version = (meta["Version"] if meta is not None else None) or "?"
        sections = _sections((dist.read_text("entry_points.txt") or "").encode("utf-8"))
        listing.add("", name, version, _cache.ABSENT, sections)
    return listing


def _listings(path: list[str], cache: _cache.DiscoveryCache) -> Iterator[tuple[Listing, list[EntryProblem]]]:
    """What each entry of ``path`` holds, from the cache where it is still valid."""
    for entry in path:
        directory = os.path.abspath(entry or ".")
        try:
            st = os.stat(directory)  # before listing: a change during the scan must not be cached as seen
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield _other_entry(entry), []
            continue
        signature = _cache.directory_signature(st)
        cached = cache.get(directory, signature)
        if cached is not None:
            yield cached, []
            continue
        listing, newest, unreadable = _scan_directory(directory)
        if listing.folders and not unreadable:  # a directory of no distributions costs one listdir
            cache.put(directory, signature, listing, max(newest, st.st_mtime_ns))
        yield listing, unreadable


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while thousands of acyclic objects are built.

    Its passes would find nothing to collect, yet with 10,000 env ids they take a third of
    discovery's time. Restored on exit, and only if it was running before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def discover(
    host: str, path: Optional[list[str]] = None, disable: Optional[str] = None, settings: Optional[Settings] = None
) -> Discovery:
    """Read the declarations of ``host``'s group from the distributions on ``path`` (default sys.path).

    The first distribution of a name on the path wins, as for importlib. Never imports plugin code.
    ``settings`` default to the environment's; ``disable`` (a GYMPLUG_DISABLE value) overrides theirs.
    """
    settings = current() if settings is None else settings
    if disable is not None:
        settings = settings._replace(disable=disabled_distributions(disable))
    with paused_gc():
        return _discover(GROUPS[host], sys.path if path is None else path, settings)


def _discover(group: str, path: list[str], settings: Settings) -> Discovery:
    cache = _cache.DiscoveryCache(_cache.cache_file(settings))
    seen: set[str] = set()
    declarations: list[Declaration] = []
    problems: list[EntryProblem] = []
    for listing, unreadable in _listings(path, cache):
        problems += (p for p in unreadable if p.group == group and p.dist.key not in seen)
        column = listing.groups.get(group) or [None] * len(listing.names)  # every name counts for "first wins"
        for name, version, rows in zip(listing.names, listing.versions, column):
            if name in seen:  # names are normalized: they are the keys
                continue
            seen.add(name)
            if rows:
                found, malformed = from_rows(Distribution(name, version), group, rows)
                declarations += found
                problems += malformed
    cache.save()
    logger.debug("%s: %d directories from the discovery cache %s", group, cache.hits, cache.path or "(off)")
    for item in problems:
        logger.warning("skipping malformed entry point: %s", item.describe())
    return Discovery(group, tuple(declarations), tuple(problems), settings.disable)
