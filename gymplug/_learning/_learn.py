"""One round of learning: under the store's lock, learn what the store lacks, and keep it.

A package whose own files call no registration at all is known without a child (``_scan``); the rest
are imported in children, as many at once as the CPUs allow, the likely provider of the id asked for
first, and when that id is found the others stop: they are learned on a later miss. Everything one
round does, waiting for another process's lock included, ends by the deadline it is given.
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any, Callable, Iterable, Optional, TextIO

from .._entries import printable, provides
from .._log import get_logger
from .._settings import Settings, current
from ._record import DEFAULT_TIMEOUT, Learned
from ._sources import Source
from ._store import LearnedStore, Lock, _found, known, store_file, unkept_reason

__all__ = ["DEFAULT_WAIT", "learn_missing"]

logger = get_logger(__name__)

#: Seconds a round may take in all when its caller gives no deadline (``gymplug index``).
DEFAULT_WAIT = 60.0
_QUIET_WAIT = 1.0  # seconds of waiting for another process's lock before one line says so
_WORDS = re.compile(r"[a-z][a-z0-9]{2,}")
#: What was said once per process (an embedded interpreter, a store that cannot be kept).
_said: set[str] = set()


def _say_once(key: str, message: str, stream: Optional[TextIO]) -> None:
    if key not in _said:
        _said.add(key)
        print(f"gymplug: {printable(message)}", file=stream or sys.stderr, flush=True)


def relevance(source: Source, env_id: Optional[str]) -> int:
    """How likely ``source`` is to provide ``env_id``, judged from names only: the words of the id
    (``MiniGrid``, ``ALE``) found in the distribution's or its modules' names.

    >>> relevance(Source("minigrid", "3", ("minigrid",), (), ""), "MiniGrid-Empty-5x5-v0")
    1
    >>> relevance(Source("highway-env", "1", ("highway_env",), (), ""), "MiniGrid-Empty-5x5-v0")
    0
    """
    if not env_id:
        return 0
    names = "".join(ch for ch in " ".join((source.key, *source.modules)).lower() if ch.isalnum() or ch == " ")
    words = _WORDS.findall(env_id.lower().rsplit("-v", 1)[0].replace("/", " ").replace("-", " "))
    return int(any(word in names for word in words))


def learn_many(host: str, jobs: list, **options: Any) -> list[Learned]:
    """:func:`._children.learn_many`, imported when a round has something to learn: a lookup whose sources are
    all known (a typo, once everything is learned) starts no child and imports none of their machinery."""
    from ._children import learn_many as learn

    return learn(host, jobs, **options)


def _locked(path: Optional[str], deadline: float, stream: Optional[TextIO]) -> Lock:
    """The store's lock, waited for until ``deadline``; after a second of waiting, one line says so."""
    lock = Lock(path, min(deadline, time.monotonic() + _QUIET_WAIT))
    lock.__enter__()
    if lock.held is False and time.monotonic() < deadline:
        lock.__exit__(None, None, None)
        seconds = deadline - time.monotonic()
        print(f"gymplug: waiting for another process that is learning which environments installed packages "
              f"provide (at most {seconds:.0f} s) ...", file=stream or sys.stderr, flush=True)
        lock = Lock(path, deadline)
        lock.__enter__()
    return lock


def learn_missing(
    host: str,
    sources: Iterable[Source],
    settings: Optional[Settings] = None,
    *,
    deadline: Optional[float] = None,
    timeout: float = DEFAULT_TIMEOUT,
    path: Optional[list[str]] = None,
    stream: Optional[TextIO] = None,
    first: Optional[str] = None,
    on_result: Optional[Callable[[Source, Learned], None]] = None,
) -> dict[str, Learned]:
    """What each source registers: from the store, else learned now and stored.

    With GYMPLUG_LEARN off only the store is read. If another process is learning, wait for it, until
    ``deadline`` (absolute, ``time.monotonic()``; default a minute from now), and read its results.
    ``first`` is the id a lookup asked for: its likely provider is learned first, and the round stops
    once it is found. ``on_result`` is told each result as it is known. Never raises for what a source does.
    """
    settings = current() if settings is None else settings
    deadline = time.monotonic() + DEFAULT_WAIT if deadline is None else deadline
    sources = [s for s in sources if s.key not in settings.disable]
    found = known(host, sources, settings)
    if not settings.learn or all(s.key in found for s in sources):
        return found
    from ._children import Job, interpreter
    from ._scan import registration_modules

    if interpreter() is None:
        _say_once("python", f"not learning which environments installed packages provide: sys.executable "
                  f"({sys.executable or 'empty'}) is not a Python interpreter, and none was found beside it", stream)
        return found
    unkept = unkept_reason(settings)
    if unkept is not None:
        _say_once("unkept", f"what is learned cannot be kept ({unkept}): each process learns again", stream)
    store_path = store_file(settings)
    lock = _locked(store_path, deadline, stream)
    try:
        store = LearnedStore(store_path)  # read under the lock: another process may have learned while this one waited
        found = dict(_found(store, host, sources))
        missing = [s for s in sources if s.key not in found]
        if not missing or lock.held is False:
            if missing:
                logger.warning("another process is still learning; %d packages not learned", len(missing))
            return found
        jobs = []
        for source in missing:
            started = time.monotonic()
            modules = registration_modules(source, host)
            if modules == ():  # its files call no registration: nothing to import
                item = Learned(source.key, source.version, source.signature, (), None,
                               round(time.monotonic() - started, 3))
                _keep(store, host, source, item, found, on_result)
            else:
                jobs.append(Job(source, tuple(m for m in modules or () if m not in source.modules)))
        jobs.sort(key=lambda job: -relevance(job.source, first))
        stop = (lambda item: provides(item.ids, first)) if first else None
        items = learn_many(host, jobs, deadline=deadline, timeout=timeout, path=path, stream=stream, stop_when=stop)
        for job, item in zip(jobs, items):
            _keep(store, host, job.source, item, found, on_result)
        store.save()
    finally:
        lock.__exit__(None, None, None)
    return found


def _keep(store: LearnedStore, host: str, source: Source, item: Learned, found: dict[str, Learned],
          on_result: Optional[Callable[[Source, Learned], None]]) -> None:
    store.put(host, source, item)  # a transient item (a timeout, a crash of the child) is never kept
    if not item.transient:
        found[item.dist] = item
    if on_result is not None:
        on_result(source, item)
