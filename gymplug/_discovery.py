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
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Optional

from . import _cache
from ._cache import Listing
from ._entries import Declaration, Distribution, EntryProblem, entry_rows, from_rows, normalize_name, printable
from ._hosts import GROUPS
from ._log import get_logger
from ._settings import Settings, current

__all__ = ["Discovery", "discover", "disabled_distributions", "path_state", "paused_gc", "unmatched_disable_values"]

logger = get_logger(__name__)

_SUFFIXES = (".dist-info", ".egg-info")
# Every section header of a group, '[group]' or '[[group]]' alike (see _entries), holds this.
_NEEDLES = tuple((group, f"[{group}]".encode()) for group in GROUPS.values())
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_MAX_ENTRY_POINTS_BYTES = 64 * 2**20

class Discovery(NamedTuple):
    """What the installed distributions declare for one host group. Immutable."""

    group: str
    declarations: tuple[Declaration, ...] = ()
    problems: tuple[EntryProblem, ...] = ()
    disabled: frozenset[str] = frozenset()
    #: the normalized name of every distribution on the path, whether it declares anything or not
    seen: frozenset[str] = frozenset()
    #: normalized name -> the stat signature of its entry_points.txt, for distributions with Form B entries:
    #: what the loader learns of their plugins holds while it is unchanged (a reinstall changes it)
    signatures: Mapping[str, tuple[int, ...]] = {}
    #: (directory, or None for a zip; its metadata folders' names; their normalized names) of each path entry
    #: read, in path order; None when discovery was not read from a path (the test seam)
    places: Optional[tuple[tuple[Optional[str], list[str], list[str]], ...]] = None

    def is_disabled(self, dist: Distribution) -> bool:
        return dist.key in self.disabled

    def folders(self) -> Optional[dict[str, str]]:
        """Normalized name -> the absolute path of its metadata folder that importlib would read (the first
        on the path), for every distribution seen; None if a zip is on the path, or nothing was read."""
        if self.places is None or any(directory is None for directory, _, _ in self.places):
            return None
        found: dict[str, str] = {}
        for directory, folders, names in self.places:
            for folder, name in zip(folders, names):
                if name not in found:
                    found[name] = os.path.join(directory, folder)  # type: ignore[arg-type] # None excluded above
        return found


def disabled_distributions(value: Optional[str] = None) -> frozenset[str]:
    """Normalized names blocked by GYMPLUG_DISABLE (comma or space separated)."""
    if value is None:
        return current().disable
    return Settings.from_environ({"GYMPLUG_DISABLE": value}).disable


def unmatched_disable_values(settings: Settings, seen: Iterable[Any]) -> tuple[str, ...]:
    """The GYMPLUG_DISABLE values, as written, that name no distribution in ``seen``.

    ``seen`` holds distribution names or :class:`Distribution` objects (``Discovery.seen`` holds every
    name on the path). A value such as ``a;b`` (';' is no separator) or ``gym\u2010foo`` (a Unicode
    hyphen) matches nothing, and would otherwise disable nothing silently.

    >>> unmatched_disable_values(Settings.from_environ({"GYMPLUG_DISABLE": "Gym_Foo a;b"}), ["gym-foo"])
    ('a;b',)
    """
    names = {normalize_name(item.name if isinstance(item, Distribution) else str(item)) for item in seen}
    return tuple(raw for raw in settings.disable_raw if normalize_name(raw) not in names)


def _sections(data: bytes) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """The rows of each host group that an entry_points.txt mentions; (group, why) for groups it cannot give.

    Only a file whose bytes mention a host group's section is decoded: any other file, even one that
    is not UTF-8, is no concern of gymplug's.
    """
    mentioned = [group for group, needle in _NEEDLES if needle in data]
    if not mentioned:
        return {}, []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, [(group, f"entry_points.txt unreadable: {exc}") for group in mentioned]
    sections = {group: entry_rows(text, group) for group in mentioned}
    return {group: rows for group, rows in sections.items() if rows}, []


def _unreadable(exc: BaseException) -> list[tuple[str, str]]:
    # A file that cannot be read cannot be checked for the host groups: it is reported in each of them.
    return [(group, f"entry_points.txt unreadable: {exc}") for group in GROUPS.values()]


def _version_from_headers(head: bytes) -> str:
    """The Version header of PKG-INFO or METADATA, or "?"."""
    for line in head.decode("utf-8", "replace").splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        if key.strip().lower() == "version":
            return value.strip()
    return "?"


def _version_from_pkg_info(folder: str) -> str:
    """The Version header of an egg-info folder whose name carries no version (develop installs)."""
    for name in ("PKG-INFO", "METADATA"):
        try:
            with open(os.path.join(folder, name), "rb") as file:
                return _version_from_headers(file.read(8192))
        except OSError:
            continue
    return "?"


def _folder_name(folder: str) -> tuple[str, str]:
    """(normalized name, version or "") of a metadata folder's name.

    >>> [_folder_name(f) for f in ("A_b-1.0.dist-info", "c-2.0-py3.11.egg-info", "d.egg-info")]
    [('a-b', '1.0'), ('c', '2.0'), ('d', '')]
    """
    project, _, rest = folder.rpartition(".")[0].partition("-")
    return normalize_name(project), rest.partition("-")[0]


def _read_regular(path: str) -> tuple[Optional[list[int]], bytes]:
    """The signature and bytes of a regular file; (None, b"") if there is none. Never blocks on a FIFO."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None, b""
    with open(fd, "rb") as file:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"not a regular file: {printable(path)}")
        return _cache.file_signature(st), file.read()


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
        name, version = _folder_name(folder)
        version = version or _version_from_pkg_info(os.path.join(directory, folder))
        signature = _cache.ABSENT
        sections: dict[str, list[str]] = {}
        failed: list[tuple[str, str]] = []
        try:
            found, data = _read_regular(os.path.join(directory, folder, "entry_points.txt"))
            if found is not None:
                signature = found
                newest = max(newest, signature[0])
                sections, failed = _sections(data)
        except Exception as exc:  # noqa: BLE001 - unreadable: never cached
            failed = _unreadable(exc)
        unreadable += (EntryProblem(Distribution(name, version), group, "", "", why) for group, why in failed)
        listing.add(folder, name, version, signature, sections)
    return listing, newest, unreadable


def _zip_entry(entry: str) -> tuple[Listing, list[EntryProblem]]:
    """Distributions in a zip on the path, found as importlib.metadata finds them; not cached.

    Each distribution is read on its own, as in a directory: one that is broken in any way is
    skipped, and reported only if it may declare something for a host group. A file that is not a
    zip holds none.
    """
    import zipfile

    listing = Listing.empty(GROUPS.values())
    problems: list[EntryProblem] = []
    try:
        with zipfile.ZipFile(entry) as archive:
            members = archive.namelist()
            names = set(members)
            for folder in dict.fromkeys(child.split("/", 1)[0] for child in members):  # importlib's order
                if folder.lower().endswith(_SUFFIXES):
                    problems += _zip_distribution(archive, names, folder, listing)
    except Exception as exc:  # noqa: BLE001 - not a zip, or a damaged one
        logger.info("skipping %s on sys.path: %s", printable(entry), exc)
    return listing, problems


def _zip_distribution(archive: Any, members: set[str], folder: str, listing: Listing) -> list[EntryProblem]:
    name, version = _folder_name(folder)
    sections: dict[str, list[str]] = {}
    failed: list[tuple[str, str]] = []
    try:
        for header in ("PKG-INFO", "METADATA") if not version else ():
            if f"{folder}/{header}" in members:
                with archive.open(f"{folder}/{header}") as file:
                    version = _version_from_headers(file.read(8192))
                break
        if f"{folder}/entry_points.txt" in members:
            info = archive.getinfo(f"{folder}/entry_points.txt")
            if info.file_size > _MAX_ENTRY_POINTS_BYTES:
                raise OSError(f"larger than {_MAX_ENTRY_POINTS_BYTES} bytes")
            with archive.open(info) as file:
                sections, failed = _sections(file.read(_MAX_ENTRY_POINTS_BYTES + 1))
    except Exception as exc:  # noqa: BLE001
        failed = _unreadable(exc)
    listing.add(folder, name, version or "?", _cache.ABSENT, sections)
    return [EntryProblem(Distribution(name, version or "?"), group, "", "", why) for group, why in failed]


def _listings(
    path: list[Any], cache: _cache.DiscoveryCache
) -> Iterator[tuple[Optional[str], Listing, list[EntryProblem]]]:
    """(directory, or None for a zip; what it holds; problems) of each entry of ``path``, from the cache where
    it is still valid.

    Entries that are not str are skipped, as the import system skips them; so is '' (or any relative
    entry) when the current directory has been deleted, and a path entry that is neither a
    directory nor a regular file (a FIFO on sys.path would block a zip reader).
    """
    for entry in path:
        if not isinstance(entry, str):
            continue
        try:
            directory = os.path.abspath(entry or ".")  # os.getcwd() raises if the directory was deleted
            st = os.stat(directory)  # before listing: a change during the scan must not be cached as seen
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode):
            yield (None, *_zip_entry(directory))
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        signature = _cache.directory_signature(st)
        cached = cache.get(directory, signature)
        if cached is not None:
            yield directory, cached, []
            continue
        listing, newest, unreadable = _scan_directory(directory)
        if listing.folders and not unreadable:  # a directory of no distributions costs one listdir
            cache.put(directory, signature, listing, max(newest, st.st_mtime_ns))
        yield directory, listing, unreadable


def path_state(path: Iterable[Any]) -> tuple:
    """What installing or removing a distribution anywhere on ``path`` changes: each entry's stat.

    A directory's mtime changes when a metadata folder is added to it or removed from it; a zip's when
    it is rewritten. Costs one stat per entry.
    """
    state: list[tuple] = []
    for entry in path:
        if not isinstance(entry, str):
            continue
        try:
            st = os.stat(os.path.abspath(entry or "."))
        except (OSError, ValueError):
            state.append((entry,))
            continue
        state.append((entry, st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev))
    return tuple(state)


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
    signatures: dict[str, tuple[int, ...]] = {}
    width = _cache.SIGNATURE_INTS
    places = []
    for directory, listing, unreadable in _listings(path, cache):
        places.append((directory, listing.folders, listing.names))
        problems += (p for p in unreadable if p.group == group and p.dist.key not in seen)
        column = listing.groups.get(group) or [None] * len(listing.names)  # every name counts for "first wins"
        for index, (name, version, rows) in enumerate(zip(listing.names, listing.versions, column)):
            if name in seen:  # names are normalized: they are the keys
                continue
            seen.add(name)
            if rows:
                found, malformed = from_rows(Distribution(name, version), group, rows)
                declarations += found
                problems += malformed
                if "plugin" in rows[2::3]:
                    signatures[name] = tuple(listing.files[width * index : width * index + width])
    cache.save()
    logger.debug("%s: %d directories from the discovery cache %s", group, cache.hits, cache.path or "(off)")
    for item in problems:
        logger.warning("skipping malformed entry point: %s", item.describe())
    return Discovery(
        group, tuple(declarations), tuple(problems), settings.disable, frozenset(seen), signatures, tuple(places)
    )
