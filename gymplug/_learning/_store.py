"""The learned store: what each import source registered, per host, kept beside the discovery cache.

One JSON file per interpreter and environment, ``learned-<hash>.json`` in the discovery cache's
directory, under the discovery cache's rules: read only if it is a regular file of the user's
own that others cannot write, and not too large; written atomically, mode 0600, in a directory of
mode 0700; a file or an entry of the wrong shape is ignored (and rebuilt on the next write). An
entry holds while the source's version and folder signature are the ones it was learned with.

Processes that miss together learn once between them: the learner holds an exclusive lock on
``learned-<hash>.lock`` (``fcntl.flock``); the others wait for it, bounded, then read its results.
If the wait runs out they go on without learning; where there is no ``fcntl`` (Windows) each
process learns what it finds missing and the last write wins.
"""

from __future__ import annotations

import os
import stat
import time
from typing import Any, Iterable, Iterator, Mapping, Optional

from .._cache import interpreter_file, read_private_json, trusted, write_private_json
from .._entries import Declaration
from .._log import get_logger
from .._settings import Settings
from ._children import Learned
from ._sources import Source

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LearnedStore", "Lock", "PluginHints", "invalidate", "known", "store_file"]

logger = get_logger(__name__)

FORMAT = 1
_MAX_PER_HOST = 4096  # entries kept per host; the least recently learned go first
_POLL = 0.05


def store_file(settings: Optional[Settings] = None) -> Optional[str]:
    """This interpreter's learned store, beside the discovery cache; None when GYMPLUG_CACHE is off."""
    return interpreter_file("learned", FORMAT, settings)


def invalidate(settings: Optional[Settings] = None) -> None:
    """Forget everything learned (the next miss learns again)."""
    path = store_file(settings)
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _encode(item: Learned) -> dict[str, Any]:
    return {
        "version": item.version,
        "signature": list(item.signature),
        "ids": list(item.ids),
        "error": item.error,
        "seconds": item.seconds,
        "entry_points": [[env_id, spec["entry_point"]] for env_id, spec in item.specs.items()],
        "stored": time.time(),
    }


def _decode(dist: str, data: Any) -> Optional[Learned]:
    """The entry stored as ``data``, or None if it does not have the right shape."""
    try:
        version, signature, ids, error = data["version"], data["signature"], data["ids"], data["error"]
        seconds, pairs = data["seconds"], data.get("entry_points", [])
        if not (type(version) is str and type(signature) is list and type(ids) is list and type(pairs) is list):
            return None
        if not all(type(n) is int for n in signature) or not all(type(i) is str for i in ids):
            return None
        if not (error is None or type(error) is str) or type(seconds) not in (int, float):
            return None
        if not all(type(p) is list and len(p) == 2 and type(p[0]) is type(p[1]) is str for p in pairs):
            return None
    except (KeyError, TypeError, AttributeError):
        return None
    specs = {p[0]: {"entry_point": p[1]} for p in pairs}
    return Learned(dist, version, tuple(signature), tuple(ids), error, float(seconds), specs)


class LearnedStore:
    """The entries of one store file: host -> dist key -> the stored dict (valid ones only)."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self.hosts: dict[str, dict[str, dict[str, Any]]] = {}
        if path is not None:
            self.load()

    def load(self) -> None:
        """(Re)read the file; anything untrusted or malformed reads as nothing. Never raises."""
        self.hosts = {}
        data = self._read()
        if not (isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("hosts"), dict)):
            return
        for host, entries in data["hosts"].items():
            if isinstance(host, str) and isinstance(entries, dict):
                valid = {d: e for d, e in entries.items() if isinstance(d, str) and _decode(d, e) is not None}
                self.hosts[host] = valid

    def _read(self) -> Any:
        return None if self.path is None else read_private_json(self.path)

    def get(self, host: str, source: Source) -> Optional[Learned]:
        """What ``source`` registered, if it was learned at its current version and folder state."""
        entry = self.hosts.get(host, {}).get(source.key)
        found = None if entry is None else _decode(source.key, entry)
        if found is None or found.version != source.version or found.signature != tuple(source.signature):
            return None
        return found

    def put(self, host: str, item: Learned) -> None:
        entries = self.hosts.setdefault(host, {})
        entries[item.dist] = _encode(item)
        if len(entries) > _MAX_PER_HOST:
            newest = sorted(entries.items(), key=lambda kv: kv[1].get("stored", 0), reverse=True)[:_MAX_PER_HOST]
            self.hosts[host] = dict(newest)

    def save(self) -> None:
        """Write the file atomically, under the discovery cache's rules; failures are logged, never raised."""
        if self.path is not None:
            write_private_json(self.path, {"format": FORMAT, "hosts": self.hosts})


class Lock:
    """An exclusive lock on the store's lock file, waited for up to a deadline; ``held`` says if it was had."""

    def __init__(self, store_path: Optional[str], wait: float) -> None:
        self.path = None if store_path is None else store_path[: -len(".json")] + ".lock"
        self.wait = wait
        self.fd: Optional[int] = None
        #: None: there is no lock to take (no fcntl, no store, an untrusted lock file); else whether it is held
        self.held: Optional[bool] = None

    def __enter__(self) -> "Lock":
        if fcntl is None or self.path is None:
            return self
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            self.fd = os.open(self.path, flags, 0o600)
            st = os.fstat(self.fd)
            if not stat.S_ISREG(st.st_mode) or not trusted(st):
                logger.warning("not using the lock file %s: not a regular file of the user's own", self.path)
                return self
        except OSError as exc:
            logger.info("learning without the lock file %s: %s", self.path, exc)
            return self
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.held = False
                    return self
                time.sleep(_POLL)
            except OSError as exc:  # a file system without locks
                logger.info("learning without the lock file %s: %s", self.path, exc)
                return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None


def known(host: str, sources: Iterable[Source], settings: Optional[Settings] = None) -> dict[str, Learned]:
    """What the store holds for ``sources`` at their current versions and folder states (no learning)."""
    store = LearnedStore(store_file(settings))
    return dict(_found(store, host, sources))


def _found(store: LearnedStore, host: str, sources: Iterable[Source]) -> Iterator[tuple[str, Learned]]:
    for source in sources:
        item = store.get(host, source)
        if item is not None:
            yield source.key, item


class PluginHints:
    """What each Form B plugin registered when it last loaded: hints for lookups, kept in the store.

    A plugin's entry holds while its distribution's version and ``entry_points.txt`` stat the same
    (a reinstall or an upgrade changes them). Not used when GYMPLUG_LEARN is off.
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

    def ids(self, declaration: Declaration) -> Optional[tuple[str, ...]]:
        """The ids ``declaration``'s plugin registered (or tried to) when it last loaded; None if unknown."""
        source = self._source(declaration) if self.enabled else None
        if source is None:
            return None
        if self._store is None:
            self._store = LearnedStore(self.path)
        item = self._store.get(self.host, source)
        return None if item is None else item.ids

    def record(self, declaration: Declaration, ids: Iterable[str], seconds: float) -> None:
        """Remember what a plugin registered as it loaded (a bounded wait for the store's lock; never raises)."""
        source = self._source(declaration) if self.path is not None else None
        if source is None:
            return
        try:
            with Lock(self.path, wait=5.0) as lock:
                if lock.held is False:
                    return
                store = LearnedStore(self.path)
                store.put(self.host, Learned(source.key, source.version, source.signature, tuple(ids), None, seconds))
                store.save()
                self._store = store
        except Exception as exc:  # noqa: BLE001 - a hint that could not be kept costs a load next time
            logger.info("could not remember what %s registered: %s", declaration.describe(), exc)
