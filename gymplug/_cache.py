"""The discovery cache: what the distributions in each sys.path directory declare, keyed on file stats.

An entry holds one directory's parsed entry points, valid while the directory and every
distribution's ``entry_points.txt`` in it stat as they did when it was read: an install,
upgrade, uninstall or reinstall adds or removes a metadata folder (the directory changes), and
an edit in place changes the file. A state younger than two seconds is never stored, so a
change within the file system's timestamp granularity cannot hide behind an equal mtime.

One file per interpreter and environment. It is written atomically, mode 0600, in a directory of
mode 0700; on POSIX a file or directory that is not the user's own, or is writable by others, is
ignored. A file that does not parse or has the wrong shape is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from typing import Any, Iterable, NamedTuple, Optional

from ._log import get_logger
from ._settings import Settings, current
from ._version import __version__

__all__ = ["DiscoveryCache", "Listing", "cache_file", "directory_signature", "file_signature", "invalidate_caches"]

logger = get_logger(__name__)

FORMAT = 1
_SETTLE_NS = 2 * 10**9  # younger states are not stored: coarse mtimes could hide a change
_MAX_DIRECTORIES = 64  # entries kept per file; the least recently stored go first
_MAX_BYTES = 64 * 2**20


def cache_file(settings: Optional[Settings] = None) -> Optional[str]:
    """This interpreter's cache file, or None when GYMPLUG_CACHE turns the cache off."""
    settings = current() if settings is None else settings
    if not settings.cache:
        return None
    identity = "\0".join((str(FORMAT), __version__, sys.prefix, sys.executable, sys.version))
    name = f"discovery-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.json"
    return os.path.join(settings.default_cache_dir(), name)


def invalidate_caches() -> None:
    """Forget what the discovery cache of this interpreter holds (the next discovery reads every file)."""
    path = cache_file()
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _trusted(st: os.stat_result) -> bool:
    if os.name != "posix":
        return True
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


ABSENT = [-1, -1, -1]  # the signature of an entry_points.txt that does not exist


class Listing(NamedTuple):
    """What one directory holds, column by column: one item per metadata folder, in listing order.

    Columns, because a cache of a thousand distributions is then a handful of JSON values to decode,
    not thousands of small objects. The columns are lists that discovery fills as it scans.
    """

    folders: list[str]
    names: list[str]  # PEP 503 normalized
    versions: list[str]
    #: three ints per folder, the stat (mtime_ns, size, inode) of its entry_points.txt; -1s when absent
    files: list[int]
    #: group -> per folder, the rows of _entries.entry_rows, or None if it declares nothing there
    groups: dict[str, list[Optional[list[str]]]]

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
        than "env" or "plugin" reads as a malformed entry. Neither needs checking here.
        """
        try:
            folders, names, versions = (data[k].split("\n") if data[k] else [] for k in ("folders", "names", "versions"))
            files, groups = data["files"], data["groups"]
            count = len(folders)
            if len(names) != count or len(versions) != count or type(files) is not list or len(files) != 3 * count:
                return None
            decoded = {}
            for group, column in groups.items():
                "".join(column)  # TypeError unless a list of strings
                if type(group) is not str or type(column) is not list or len(column) != count:
                    return None
                decoded[group] = [text.split("\n") if text else None for text in column]
                if any(rows is not None and len(rows) % 3 for rows in decoded[group]):
                    return None
        except (AttributeError, KeyError, TypeError):
            return None
        return cls(folders, names, versions, files, decoded)


def _is_signature(value: Any) -> bool:
    return type(value) is list and len(value) == 3 and type(value[0]) is type(value[1]) is type(value[2]) is int


class DiscoveryCache:
    """The entries of one cache file: load, look up by directory, store, save once."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        #: directory -> (its signature, its listing, when it was stored); a listing stays as stored
        #: (a dict) until its directory is looked up: a file may hold directories of other processes
        self.entries: dict[str, tuple[list[int], Any, float]] = {}
        self.changed = False
        self.hits = 0
        if path is not None:
            self._load(path)

    def _load(self, path: str) -> None:
        try:
            with open(path, "rb") as file:
                st = os.fstat(file.fileno())
                if not _trusted(st) or not _trusted(os.stat(os.path.dirname(path))) or st.st_size > _MAX_BYTES:
                    logger.warning("ignoring the discovery cache %s: not the user's own, or writable by others", path)
                    return
                data = json.loads(file.read())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            logger.info("ignoring the discovery cache %s: %s", path, exc)
            return
        if not (isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("dirs"), dict)):
            logger.info("ignoring the discovery cache %s: not in format %d", path, FORMAT)
            return
        for directory, entry in data["dirs"].items():
            if isinstance(entry, dict) and _is_signature(entry.get("sig")) and isinstance(entry.get("stored"), (int, float)):
                self.entries[directory] = (entry["sig"], entry.get("listing"), entry["stored"])

    def get(self, directory: str, signature: list[int]) -> Optional[Listing]:
        """The cached listing of ``directory`` if the directory and its entry_points.txt files are unchanged."""
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
        if self.path is None or time.time_ns() - newest_ns < _SETTLE_NS:
            return
        self.entries[directory] = (signature, listing, time.time())
        self.changed = True

    def save(self) -> None:
        """Write the file atomically if anything was stored; failures are logged, never raised."""
        if self.path is None or not self.changed:
            return
        newest_first = sorted(self.entries.items(), key=lambda item: item[1][2], reverse=True)[:_MAX_DIRECTORIES]
        dirs = {
            d: {"sig": sig, "stored": stored, "listing": listing.encode() if isinstance(listing, Listing) else listing}
            for d, (sig, listing, stored) in newest_first
        }
        data = json.dumps({"format": FORMAT, "dirs": dirs}, separators=(",", ":"))
        try:
            directory = os.path.dirname(self.path)
            os.makedirs(directory, mode=0o700, exist_ok=True)
            if not _trusted(os.stat(directory)):
                logger.warning("not writing the discovery cache: %s is not the user's own, or writable by others", directory)
                return
            fd, temporary = tempfile.mkstemp(prefix=".discovery-", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(data)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as exc:
            logger.info("could not write the discovery cache %s: %s", self.path, exc)
        self.changed = False


def directory_signature(st: os.stat_result) -> list[int]:
    return [st.st_mtime_ns, st.st_ino, st.st_dev]


def file_signature(st: os.stat_result) -> list[int]:
    """What an entry_points.txt is known by: the reader and the check must agree on it."""
    return [st.st_mtime_ns, st.st_size, st.st_ino]


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
    files = listing.files
    try:
        for index, folder in enumerate(listing.folders):
            path = folder + "/entry_points.txt" if fd is not None else os.path.join(directory, folder, "entry_points.txt")
            try:
                found = file_signature(os.stat(path, dir_fd=fd))
            except OSError:
                found = ABSENT
            if files[3 * index : 3 * index + 3] != found:
                return False
        return True
    finally:
        if fd is not None:
            os.close(fd)
