"""The discovery cache: what the distributions in each sys.path directory declare, keyed on file stats.

An entry holds one directory's parsed entry points, valid while the directory and every
distribution's ``entry_points.txt`` in it stat as they did when it was read: an install,
upgrade, uninstall or reinstall adds or removes a metadata folder (the directory changes), and
an edit in place changes the file (its mtime, size, inode or ctime). A state younger than two
seconds is never stored, so a change within the file system's timestamp granularity cannot hide
behind an equal mtime.

One file per interpreter and environment, read and written under the rules of :mod:`._private`:
only a regular file is opened (never a FIFO, device or symlink), and on POSIX a file or directory
that is not the user's own, or is writable by others, is ignored.
A file that does not parse or has the wrong shape is ignored and rebuilt. Every directory of the
current path is kept when the file is written; the others are pruned, oldest first.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import sys
import time
from typing import Any, Iterable, Optional

from ._log import get_logger
from ._private import MAX_BYTES, read_private_json, trusted, unwritable_reason, write_private_json, write_private_text
from ._settings import Settings, current
from ._version import __version__

__all__ = [
    "SETTLE_NS",
    "DiscoveryCache",
    "Listing",
    "cache_file",
    "cached_names",
    "directory_signature",
    "file_signature",
    "invalidate_caches",
    "read_private_json",
    "trusted",
    "unwritable_reason",
    "write_private_json",
    "write_private_text",
]

logger = get_logger(__name__)

FORMAT = 2  # 2: four ints per file signature (ctime added), values normalized as importlib reads them
#: Younger states are not trusted (the discovery cache, the learned store and its sources): two writes within
#: one tick of a file system's clock stat alike, so a coarse mtime could hide a change.
SETTLE_NS = 2 * 10**9
_MAX_OTHERS = 64  # directories kept besides the current path's; the least recently stored go first
_TEXT_COLUMNS = ("folders", "names", "versions")
_FOLDER_FORBIDDEN = frozenset(filter(None, ("\0", "/", os.sep, os.altsep)))


def interpreter_file(prefix: str, version: int, settings: Optional[Settings] = None) -> Optional[str]:
    """``<cache dir>/<prefix>-<hash>.json``, one per gymplug version, file format, interpreter and
    environment; None when GYMPLUG_CACHE turns the cache off."""
    settings = current() if settings is None else settings
    if not settings.cache:
        return None
    executable = os.path.realpath(sys.executable) if sys.executable else ""  # a venv's python and python3: one file
    identity = "\0".join((str(version), __version__, sys.prefix, executable, sys.version))
    name = f"{prefix}-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.json"
    return os.path.join(settings.default_cache_dir(), name)


def cache_file(settings: Optional[Settings] = None) -> Optional[str]:
    """This interpreter's cache file, or None when GYMPLUG_CACHE turns the cache off."""
    return interpreter_file("discovery", FORMAT, settings)


def invalidate_caches() -> None:
    """Forget what the discovery cache of this interpreter holds (the next discovery reads every file)."""
    path = cache_file()
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


SIGNATURE_INTS = 4  # the ints of one file signature: see file_signature
ABSENT = [-1] * SIGNATURE_INTS  # the signature of an entry_points.txt that does not exist


class Listing:
    """What one directory holds, column by column: one item per metadata folder, in listing order.

    Columns, because a cache of a thousand distributions is then a handful of JSON values to decode,
    not thousands of small objects. The columns are lists that discovery fills as it scans. (A plain
    class: the first ``make`` of a host's own id imports this module, and creating a NamedTuple class
    takes about 0.1 ms.)
    """

    __slots__ = ("folders", "names", "versions", "files", "groups")

    def __init__(self, folders: list[str], names: list[str], versions: list[str], files: list[int],
                 groups: dict[str, list[Optional[list[str]]]]) -> None:
        self.folders = folders
        self.names = names  # PEP 503 normalized
        self.versions = versions
        #: four ints per folder, the file_signature of its entry_points.txt; -1s when absent
        self.files = files
        #: group -> per folder, the rows of _entries.entry_rows, or None if it declares nothing there
        self.groups = groups

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Listing):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable columns

    @classmethod
    def empty(cls, groups: Iterable[str]) -> "Listing":
        return cls([], [], [], [], {group: [] for group in groups})

    def add(self, folder: str, name: str, version: str, signature: list[int], sections: dict[str, list[str]]) -> None:
        """One more distribution, in every column: they stay of one length."""
        self.folders.append(folder)
        self.names.append(name)
        self.versions.append(version)
        self.files.extend(signature)
        for group, column in self.groups.items():
            column.append(sections.get(group))

    def encode(self) -> dict[str, Any]:
        return {
            "folders": "\n".join(self.folders),
            "names": "\n".join(self.names),
            "versions": "\n".join(self.versions),
            "files": self.files,
            # no name or value holds a newline: they come from single lines
            "groups": {g: ["\n".join(rows) if rows else "" for rows in col] for g, col in self.groups.items()},
        }

    @classmethod
    def decode(cls, data: Any) -> Optional["Listing"]:
        """The listing stored as ``data``, or None if it does not have the right shape.

        A signature of the wrong type never equals a stat, so it reads as a change; a row kind other
        than "env" or "plugin" reads as a malformed entry. Neither needs checking here. A folder must
        be one file name: it is joined to the directory and stat'ed.
        """
        try:
            folders, names, versions = (data[k].split("\n") if data[k] else [] for k in _TEXT_COLUMNS)
            files, groups = data["files"], data["groups"]
            count = len(folders)
            if len(names) != count or len(versions) != count or type(files) is not list:
                return None
            if len(files) != SIGNATURE_INTS * count or any(_FOLDER_FORBIDDEN.intersection(f) or not f for f in folders):
                return None
            decoded = {}
            for group, column in groups.items():
                if type(group) is not str or type(column) is not list or len(column) != count:
                    return None
                "".join(column)  # TypeError unless a list of strings
                decoded[group] = [text.split("\n") if text else None for text in column]
                if any(rows is not None and len(rows) % 3 for rows in decoded[group]):
                    return None
        except Exception:  # any shape at all may be stored: the wrong one means "read the directory"
            return None
        return cls(folders, names, versions, files, decoded)


def _is_signature(value: Any) -> bool:
    return type(value) is list and len(value) == 3 and type(value[0]) is type(value[1]) is type(value[2]) is int


def _is_directory_key(key: Any) -> bool:
    """Only an absolute path can be looked up; one with a NUL would make os.stat raise ValueError."""
    return type(key) is str and "\0" not in key and os.path.isabs(key)


class DiscoveryCache:
    """The entries of one cache file: load, look up by directory, store, save once."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        #: directory -> (its signature, its listing, when it was stored); a listing stays as stored
        #: (a dict) until its directory is looked up: a file may hold directories of other processes
        self.entries: dict[str, tuple[list[int], Any, float]] = {}
        #: the directories of the path being discovered: a save keeps them all, whatever their number
        self.current: set[str] = set()
        self.changed = False
        self.hits = 0
        if path is not None:
            self._load(path)

    def _load(self, path: str) -> None:
        data = read_private_json(path)
        if data is None:
            return
        if not (isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("dirs"), dict)):
            logger.info("ignoring the discovery cache %s: not in format %d", path, FORMAT)
            return
        for directory, entry in data["dirs"].items():
            if (
                _is_directory_key(directory)
                and isinstance(entry, dict)
                and _is_signature(entry.get("sig"))
                and type(entry.get("stored")) in (int, float)
                and math.isfinite(entry["stored"])
            ):
                self.entries[directory] = (entry["sig"], entry.get("listing"), entry["stored"])
            else:
                self.changed = True  # rewrite the file without it

    def get(self, directory: str, signature: list[int]) -> Optional[Listing]:
        """The cached listing of ``directory`` if the directory and its entry_points.txt files are unchanged."""
        self.current.add(directory)
        entry = self.entries.get(directory)
        if entry is None or entry[0] != signature:
            return None
        listing = entry[1] if isinstance(entry[1], Listing) else Listing.decode(entry[1])
        if listing is None:  # the wrong shape: forget it, so that the next save drops it
            del self.entries[directory]
            self.changed = True
            return None
        self.entries[directory] = (entry[0], listing, entry[2])
        if not _files_unchanged(directory, listing):
            return None
        self.hits += 1
        return listing

    def put(self, directory: str, signature: list[int], listing: Listing, newest_ns: int) -> None:
        """Remember a directory's listing, unless the state is too young to trust its mtimes."""
        self.current.add(directory)
        if self.path is None or time.time_ns() - newest_ns < SETTLE_NS:
            return
        self.entries[directory] = (signature, listing, time.time())
        self.changed = True

    def save(self) -> None:
        """Write the file atomically if anything was stored; failures are logged, never raised.

        Every directory of the current path is kept, so that a path of many directories does not evict
        its own entries and rewrite the file at each start; of the others, the most recently stored
        are kept while the file stays within its bound.
        """
        if self.path is None or not self.changed:
            return
        self.changed = False
        mine = [item for item in self.entries.items() if item[0] in self.current]
        others = [item for item in self.entries.items() if item[0] not in self.current]
        others = sorted(others, key=lambda item: item[1][2], reverse=True)[:_MAX_OTHERS]
        while True:
            text = _encode(mine + others)
            if len(text) <= MAX_BYTES or not others:
                break
            others = others[: len(others) // 2]
        write_private_text(self.path, text)


def _encode(entries: list[tuple[str, tuple[list[int], Any, float]]]) -> str:
    dirs = {
        d: {"sig": sig, "stored": stored, "listing": listing.encode() if isinstance(listing, Listing) else listing}
        for d, (sig, listing, stored) in entries
    }
    return json.dumps({"format": FORMAT, "dirs": dirs}, separators=(",", ":"))


def cached_names(group: str, path: Iterable[Any], settings: Settings) -> Optional[list[str]]:
    """The names of ``group``'s entries (malformed ones included) in every directory of ``path``, read from the
    cache alone, as discovery would read them; None when discovery must read something: a directory that holds
    distributions and is not cached as it is now, or a zip on the path. Writes nothing; never raises."""
    try:
        cache = DiscoveryCache(cache_file(settings))
        names: list[str] = []
        for entry in path:  # as discovery._listings walks it
            if not isinstance(entry, str):
                continue
            try:
                directory = os.path.abspath(entry or ".")
                st = os.stat(directory)
            except (OSError, ValueError):
                continue
            if stat.S_ISREG(st.st_mode):
                return None
            if not stat.S_ISDIR(st.st_mode):
                continue
            listing = cache.get(directory, directory_signature(st))
            if listing is not None:
                names += (name for rows in listing.groups.get(group) or () if rows for name in rows[0::3])
                continue
            try:
                found = os.listdir(directory)
            except OSError:
                continue  # discovery reads nothing there either
            folded = "\n".join(found).lower()  # one search, not one per name: the stdlib's directory holds hundreds
            if ".dist-info" in folded or ".egg-info" in folded:
                return None
        return names
    except Exception:  # noqa: BLE001 - a view for a shortcut: the long way tells
        return None


def directory_signature(st: os.stat_result) -> list[int]:
    return [st.st_mtime_ns, st.st_ino, st.st_dev]


def file_signature(st: os.stat_result) -> list[int]:
    """What an entry_points.txt is known by: the reader and the check must agree on it.

    The ctime too: a rewrite in place of the same size whose mtime is then restored changes only it.
    """
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def _files_unchanged(directory: str, listing: Listing) -> bool:
    """Does every folder's entry_points.txt stat as stored?

    Through the directory's file descriptor where the OS can: a thousand stats then cost half
    as much as with full paths.
    """
    fd = None
    if os.stat in os.supports_dir_fd:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            pass
    files, width = listing.files, SIGNATURE_INTS
    try:
        for index, folder in enumerate(listing.folders):
            if fd is not None:
                path = folder + "/entry_points.txt"
            else:
                path = os.path.join(directory, folder, "entry_points.txt")
            try:
                found = file_signature(os.stat(path, dir_fd=fd))
            except (OSError, ValueError):
                found = ABSENT
            if files[width * index : width * index + width] != found:
                return False
        return True
    finally:
        if fd is not None:
            os.close(fd)
