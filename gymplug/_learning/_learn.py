"""One round of learning: under the store's lock, learn in children what the store lacks, and store it."""

from __future__ import annotations

import time

from typing import Iterable, Optional, TextIO

from .._log import get_logger
from .._settings import Settings, current
from ._children import DEFAULT_TIMEOUT, Job, Learned, learn_many
from ._sources import Source
from ._store import Lock, LearnedStore, _found, store_file

__all__ = ["DEFAULT_WAIT", "learn_missing"]

logger = get_logger(__name__)

DEFAULT_WAIT = 60.0  # seconds a process waits for another one's learning


def learn_missing(
    host: str,
    sources: Iterable[Source],
    settings: Optional[Settings] = None,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    path: Optional[list[str]] = None,
    stream: Optional[TextIO] = None,
) -> dict[str, Learned]:
    """What each source registers: from the store, else learned now in child processes and stored.

    With GYMPLUG_LEARN off only the store is read. If another process is learning, wait for it (at most
    ``wait`` seconds) and read its results; if it takes longer, return what is known without learning.
    Never raises for what a source does.
    """
    settings = current() if settings is None else settings
    sources = [s for s in sources if s.key not in settings.disable]
    store = LearnedStore(store_file(settings))
    found = dict(_found(store, host, sources))
    if not settings.learn or all(s.key in found for s in sources):
        return found
    with Lock(store.path, wait) as lock:
        store.load()  # another process may have learned while this one waited
        found = dict(_found(store, host, sources))
        missing = [s for s in sources if s.key not in found]
        if not missing or lock.held is False:
            if missing:
                logger.warning("gymplug: another process is still learning; %d packages not learned", len(missing))
            return found
        jobs = [Job(source) for source in missing]
        for item in learn_many(host, jobs, deadline=time.monotonic() + wait, timeout=timeout, path=path, stream=stream):
            if not item.transient:  # a timeout or a crash is tried again next time, never kept
                store.put(host, item)
            found[item.dist] = item
        store.save()
    return found
