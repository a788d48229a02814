"""The learned store: what each import source registered, per host, kept beside the discovery cache.

One JSON file per interpreter and environment, ``learned-<hash>.json`` in the discovery cache's
directory, read and written under the rules of :mod:`gymplug._private` (the user's own file in the
user's own directory, atomic writes, mode 0600). Format 2::

    {"format": 2, "hosts": {host: {dist key: {metadata folder: entry}}}}

An entry is keyed on the distribution AND its folder (two projects sharing one venv, each with its
own copy of a package, are two entries) and holds while the source's version, signature and
``depends`` (its requirements' installed versions) equal those it was learned with. A failure holds
only for :data:`RETRY_SECONDS`; a transient result is never stored. Every field is checked before it
is used or written back (types, finite numbers, bounded sizes and depth): an entry that fails is
dropped, never raised about. At most 4,096 entries per host are kept, the most recently stored.

Processes that miss together learn once between them: the learner holds :class:`Lock` on
``learned-<hash>.lock``; the others wait for it until a deadline, then read its results.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Iterable, Iterator, Mapping, Optional, Union

from .._entries import Declaration, normalize_name
from .._cache import SETTLE_NS
from .._locks import FileLock
from .._log import get_logger
from .._private import MAX_BYTES, read_private_json, unwritable_reason, write_private_text
from .._settings import Settings, current
from ._quick import FORMAT, store_file
from ._record import Entry, Learned, decode, dump, entry_for, is_text
from ._sources import Source

__all__ = [
    "FORMAT",
    "RETRY_SECONDS",
    "LearnedStore",
    "Lock",
    "PluginHints",
    "invalidate",
    "known",
    "store_file",
    "unkept_reason",
]

logger = get_logger(__name__)

RETRY_SECONDS = 600.0  # a stored failure is retried after this long (and whenever its source's state changes)
_MAX_PER_HOST = 4096  # entries kept per host; the least recently stored go first
_FORGET_WAIT = 10.0  # seconds `invalidate` waits for a learner to finish before it forgets anyway


def unkept_reason(settings: Optional[Settings] = None) -> Optional[str]:
    """Why learned results cannot be kept now (so every process learns again), or None. A few stats."""
    settings = current() if settings is None else settings
    path = store_file(settings)
    if path is None:
        return "GYMPLUG_CACHE=0 turns the cache off"
    return unwritable_reason(path)


def invalidate(settings: Optional[Settings] = None, keys: Optional[Iterable[str]] = None) -> None:
    """Forget what was learned: everything, or only about the distributions named in ``keys``.

    Under the store's lock (waited for up to ten seconds), so that a learner running now does not
    write back what was forgotten. Never raises.
    """
    path = store_file(settings)
    if path is None:
        return
    with Lock(path, time.monotonic() + _FORGET_WAIT) as lock:
        if lock.held is False:
            logger.warning("gymplug: another process is still learning; forgetting without waiting for it")
        if keys is None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as exc:
                logger.warning("could not remove %s: %s", path, exc)
            return
        store = LearnedStore(path)
        store.forget(keys=keys)
        store.save()


_Raw = Union[dict, Entry]  # an entry as read (checked when first used) or as decoded


class LearnedStore:
    """The entries of one store file, loaded once; ``put`` and ``forget`` change them until ``save``."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        #: host -> (dist key, folder) -> the entry; one read from the file is decoded when first used
        self._hosts: dict[str, dict[tuple[str, str], _Raw]] = {}
        self._changed = False
        if path is not None:
            self.load()

    def load(self) -> None:
        """(Re)read the file; anything untrusted or malformed reads as nothing. Never raises."""
        self._hosts, self._changed = {}, False
        data = None if self.path is None else read_private_json(self.path)
        if not (type(data) is dict and data.get("format") == FORMAT and type(data.get("hosts")) is dict):
            return
        for host, dists in data["hosts"].items():
            if not (is_text(host) and type(dists) is dict):
                continue
            entries: dict[tuple[str, str], _Raw] = {}
            for key, folders in dists.items():
                if not (is_text(key) and type(folders) is dict):
                    continue
                for folder, entry in folders.items():
                    if is_text(folder, empty=True) and "\0" not in folder and type(entry) is dict:
                        entries[(key, folder)] = entry  # checked in full when used: most never are
            self._hosts[host] = entries

    def _entry(self, host: str, where: tuple[str, str]) -> Optional[Entry]:
        entries = self._hosts.get(host, {})
        raw = entries.get(where)
        if raw is None or isinstance(raw, Entry):
            return raw
        entry = decode(where[0], raw)
        if entry is None:  # the wrong shape: dropped, and the next save leaves it out
            entries.pop(where, None)  # a snapshot is read by threads: another may have dropped it already
            self._changed = True
        else:
            entries[where] = entry
        return entry

    def get(self, host: str, source: Source, now: Optional[float] = None) -> Optional[Learned]:
        """What ``source`` registered, if it was learned in its current state; a failure only for a while.

        Valid while the version, signature, folder and requirements' versions equal the source's; a
        failure (``error`` set) only until :data:`RETRY_SECONDS` after it was stored.
        """
        entry = self._entry(host, (source.key, source.folder))
        if entry is None:
            return None
        item = entry.item
        if item.version != source.version or item.signature != tuple(source.signature):
            return None
        if entry.depends != tuple(source.depends):
            return None
        now = time.time() if now is None else now
        if item.error is not None and not abs(now - entry.stored) < RETRY_SECONDS:
            return None
        return item

    def put(self, host: str, source: Source, item: Learned) -> None:
        """Keep what ``source`` registered (until ``save``); a transient item is never kept."""
        if item.transient:
            return
        entry = entry_for(source, item, time.time())
        if entry is None:  # fields out of bounds: a hostile METADATA, or module names that cannot be imported
            logger.info("not keeping what %s registered: out of bounds", source.key)
            return
        self._hosts.setdefault(host, {})[(source.key, source.folder)] = entry
        self._changed = True

    def forget(self, host: Optional[str] = None, keys: Optional[Iterable[str]] = None) -> None:
        """Drop the entries of ``host`` (every host if None) of the distributions ``keys`` (all if None).

        A distribution's name is compared normalized; its registration plugins' entries go with it.
        """
        names = None if keys is None else {normalize_name(k) for k in keys}
        for name in list(self._hosts) if host is None else [host]:
            entries = self._hosts.get(name, {})
            drop = [w for w in entries if names is None or w[0].partition("#")[0] in names]
            for where in drop:
                del entries[where]
            self._changed = self._changed or bool(drop)

    def entries(self, host: str) -> list[tuple[str, Learned, float]]:
        """(dist key, what was learned, when it was stored) of every valid entry of ``host``, by key."""
        found = (self._entry(host, w) for w in sorted(self._hosts.get(host, {})))
        return [(e.item.dist, e.item, e.stored) for e in found if e is not None]

    def save(self) -> bool:
        """Write the file atomically if anything changed; whether the file now holds this store. Never raises.

        Only checked entries are written, the most recently stored first kept: at most 4,096 per host,
        and the file within its 64 MiB bound.
        """
        if self.path is None:
            return False
        if not self._changed:
            return True
        kept: dict[str, list[tuple[tuple[str, str], Entry]]] = {}
        for host in self._hosts:
            valid = ((w, self._entry(host, w)) for w in list(self._hosts[host]))
            newest = sorted(((w, e) for w, e in valid if e is not None), key=lambda we: we[1].stored, reverse=True)
            kept[host] = newest[:_MAX_PER_HOST]
        while True:
            text = _encode(kept)
            if len(text) <= MAX_BYTES or not any(kept.values()):
                break
            kept = {host: entries[: len(entries) // 2] for host, entries in kept.items()}
        if not write_private_text(self.path, text):
            return False
        self._changed = False
        return True


def _encode(kept: Mapping[str, list[tuple[tuple[str, str], Entry]]]) -> str:
    hosts: dict[str, dict[str, dict[str, Any]]] = {}
    for host, entries in kept.items():
        dists = hosts.setdefault(host, {})
        for (key, folder), entry in entries:
            dists.setdefault(key, {})[folder] = dump(entry)
    return json.dumps({"format": FORMAT, "hosts": hosts}, separators=(",", ":"), allow_nan=False)


class Lock(FileLock):
    """The store's lock (``learned-<hash>.lock``), tried until ``deadline`` (monotonic): see FileLock."""

    def __init__(self, store_path: Optional[str], deadline: float) -> None:
        super().__init__(None if store_path is None else os.path.splitext(store_path)[0] + ".lock", deadline)


def known(host: str, sources: Iterable[Source], settings: Optional[Settings] = None) -> dict[str, Learned]:
    """What the store holds for ``sources`` in their current states (no learning)."""
    return dict(_found(_snapshot(store_file(settings)), host, sources))


#: path -> (the file's lstat when read, the store read from it, never changed): one lookup reads the store several
#: times (attach, each miss of make's three lookups), and decoding its entries is most of a typo's time.
_snapshots: dict[str, tuple[tuple[int, ...], LearnedStore]] = {}


def _snapshot(path: Optional[str]) -> LearnedStore:
    """The store at ``path`` as it is now, for reading only: the one read before while the file is the same.

    Written by rename, a new file has a new inode; a write in place changes the ctime, which a state
    settled for two seconds tells apart from any later write (a younger one is read each time: two writes
    within one tick of the file system's clock would stat alike, as for the discovery cache)."""
    if path is None:
        return LearnedStore(None)
    try:
        st = os.lstat(path)
        settled = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) >= SETTLE_NS
        state = (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns) if settled else None
    except (OSError, ValueError):
        state = None
    kept = _snapshots.get(path)
    if state is not None and kept is not None and kept[0] == state:
        return kept[1]
    store = LearnedStore(path)
    if state is not None:
        _snapshots[path] = (state, store)
    return store


def _found(store: LearnedStore, host: str, sources: Iterable[Source]) -> Iterator[tuple[str, Learned]]:
    for source in sources:
        item = store.get(host, source)
        if item is not None:
            yield source.key, item


class PluginHints:
    """What each Form B plugin registered when it last loaded: hints for lookups, kept in the store.

    A plugin's entry holds while its distribution's version and ``entry_points.txt`` stat the same
    (a reinstall or an upgrade changes them). Not used when GYMPLUG_LEARN is off. Recording never
    waits for another process: it tries the lock once, and writes nothing when nothing is new.
    """

    def __init__(self, host: str, signatures: Mapping[str, tuple[int, ...]], settings: Settings) -> None:
        self.host = host
        self.signatures = signatures
        self.enabled = settings.learn
        self.path = store_file(settings) if settings.learn else None
        self._store: Optional[LearnedStore] = None

    def _source(self, declaration: Declaration) -> Optional[Source]:
        signature = self.signatures.get(declaration.dist.key)
        if signature is None:
            return None
        key = f"{declaration.dist.key}#{declaration.name}"  # a distribution may have several Form B entries
        return Source(key, declaration.dist.version, (), tuple(signature), "")

    def _view(self) -> LearnedStore:
        if self._store is None:
            self._store = LearnedStore(self.path)
        return self._store

    def ids(self, declaration: Declaration) -> Optional[tuple[str, ...]]:
        """The ids ``declaration``'s plugin registered (or tried to) when it last loaded; None if unknown."""
        source = self._source(declaration) if self.enabled else None
        if source is None:
            return None
        item = self._view().get(self.host, source)
        return None if item is None else item.ids

    def record(self, declaration: Declaration, ids: Iterable[str], seconds: float) -> None:
        """Remember what a plugin registered as it loaded; never waits for the lock, never raises."""
        source = self._source(declaration) if self.path is not None else None
        if source is None:
            return
        ids = tuple(ids)
        try:
            if _same(self._view().get(self.host, source), ids):
                return
            with Lock(self.path, time.monotonic()) as lock:  # one try: a load never waits for a learner (B18)
                if lock.held is False:
                    logger.info("not remembering what %s registered: the store is busy", declaration.describe())
                    return
                store = LearnedStore(self.path)  # what other processes stored meanwhile
                self._store = store
                if not _same(store.get(self.host, source), ids):
                    item = Learned(source.key, source.version, source.signature, ids, None, seconds)
                    store.put(self.host, source, item)
                    store.save()
        except Exception as exc:  # noqa: BLE001 - a hint that could not be kept costs a load next time
            logger.info("could not remember what %s registered: %s", declaration.describe(), exc)


def _same(item: Optional[Learned], ids: tuple[str, ...]) -> bool:
    return item is not None and item.error is None and item.ids == ids
