"""Import sources: installed distributions that declare no entry point and register envs when imported.

Which ids each provides is learned once per version and file state, in a child process
(:mod:`._children`), and kept in the learned store (:mod:`._store`). A lookup then
imports only the distribution known to provide the id; a miss that no source explains imports
nothing. Nothing here runs at host import: only on a miss, or when a listing asks.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Optional

from .. import _locks
# Imported here, not on the first miss: a lookup must import nothing of gymplug's, or a child forked
# while another thread imports it would wait on that module's import lock forever.
from .._entries import Declaration, Distribution, Form, provides
from .._errors import one_line
from .._log import get_logger
from .._settings import Settings, current
from ._children import Learned
from ._learn import learn_missing
from ._sources import Source, find_sources
from ._store import known

if TYPE_CHECKING:
    from .._loader import Loader

__all__ = ["Learning"]

logger = get_logger(__name__)


def _declaration(group: str, source: Source) -> Declaration:
    modules = ",".join(source.modules)
    return Declaration(Distribution(source.key, source.version), group, "__import__", modules, Form.IMPORT)


class Learning:
    """The import sources of one host, what is known of them, and importing a provider on demand."""

    def __init__(self, host: str, group: str, loader: "Loader", settings: Optional[Settings] = None) -> None:
        self.host = host
        self.group = group
        self.loader = loader
        self.settings = settings
        self._lock = _locks.Lock()
        self._sources: Optional[tuple[list[Source], list[Source]]] = None  # (usable, disabled)
        self._learned: dict[str, Learned] = {}
        self._all_learned = False
        self._store_read = False
        self._imported: set[str] = set()

    def _settings(self) -> Settings:
        return current() if self.settings is None else self.settings

    def sources(self) -> tuple[list[Source], list[Source]]:
        """(usable, disabled) import sources on sys.path now (a stat per path entry when nothing changed)."""
        found = find_sources(self.host, list(sys.path), self._settings().disable)
        with self._lock:
            if found != self._sources:  # sys.path changed, or a distribution was installed or removed
                self._sources = found
                self._all_learned = self._store_read = False
            return found

    def known(self) -> dict[str, Learned]:
        """What the learned store holds for the sources installed now (learns nothing)."""
        usable, disabled = self.sources()
        found = known(self.host, usable + disabled, self._settings())
        with self._lock:
            self._learned.update(found)
            self._store_read = True
        return found

    def learn(self, stream: object = None) -> dict[str, Learned]:
        """Learn every usable source not learned yet (children; once between concurrent processes)."""
        usable, _ = self.sources()
        found = learn_missing(self.host, usable, self._settings(), stream=stream)  # type: ignore[arg-type]
        with self._lock:
            self._learned.update(found)
            self._all_learned = all(s.key in self._learned for s in usable)
        return found

    def providers(self, env_id: str) -> tuple[list[Declaration], list[Declaration]]:
        """(usable, disabled) declarations of the sources known to provide ``env_id``."""
        usable, disabled = self.sources()
        if not usable and not disabled:  # the common case: nothing to ask the store about
            return [], []
        if not self._store_read:  # once per set of sources: a miss must not read the file each time
            self.known()

        def providing(sources: list[Source]) -> list[Declaration]:
            return [
                _declaration(self.group, s)
                for s in sources
                if s.key in self._learned and provides(self._learned[s.key].ids, env_id)
            ]

        return providing(usable), providing(disabled)

    def load_for(self, env_id: str) -> None:
        """A miss that nothing declared explains: import the known provider, learning first if need be."""
        settings = self._settings()
        sources, blocked = self.sources()
        if not sources and not blocked:
            return
        usable, disabled = self.providers(env_id)
        if not usable and not disabled and settings.learn and not self._all_learned:
            self.learn()
            usable, disabled = self.providers(env_id)
        for declaration in usable:
            self.load(declaration)

    def load(self, declaration: Declaration) -> None:
        """Import a provider's top-level modules in this process, its registrations checked as a plugin's."""
        key = declaration.dist.key
        if key in self._imported:
            return
        self._imported.add(key)
        with self.loader.loading(declaration):
            for module in declaration.value.split(","):
                try:
                    importlib.import_module(module)
                except Exception as exc:  # noqa: BLE001 - plugin code: recorded, never raised here
                    self.loader.ledger.fail(declaration, exc)
                    logger.warning("importing %s failed: %s", declaration.describe(), one_line(exc))

    def learned_ids(self) -> list[tuple[str, Declaration, Optional[str]]]:
        """(id, declaration, entry point) of every learned id of an installed source, for listings."""
        usable, disabled = self.sources()
        known = self.known()
        rows: list[tuple[str, Declaration, Optional[str]]] = []
        for source in usable + disabled:
            item = known.get(source.key)
            if item is None:
                continue
            declaration = _declaration(self.group, source)
            rows.extend((env_id, declaration, item.specs.get(env_id, {}).get("entry_point")) for env_id in item.ids)
        return rows
