"""One gallery run: cards from the cache or from the workers, as they come, then the site of those done."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Generator, Optional, Sequence

from ._cache import PREVIEWS, PreviewCache, installed_signature
from ._cards import Card, Outcome, cache_key, cacheable, clip, preview_stems
from ._pool import Answer, Pool, Task
from ._site import check_folder, gallery_data, write_site

__all__ = ["Gallery"]


class Gallery:
    """The gallery in folder ``out``: :meth:`build` yields each card as it is done, :meth:`write` the page."""

    def __init__(self, out: Path, *, steps: int, seed: int, refresh: bool = False) -> None:
        check_folder(out)
        self.out, self.steps, self.seed, self.refresh = out, steps, seed, refresh
        self.cache = PreviewCache(out, installed_signature())
        #: every card asked for, in page order; ``None`` until done
        self._cards: list[Optional[Card]] = []
        self._stems: dict[int, str] = {}

    @property
    def done(self) -> list[Card]:
        """The cards done so far, in page order."""
        return [c for c in self._cards if c is not None]

    def build(self, cards: Sequence[Card], hosts: list[str], *, jobs: int, timeout: float,
              verbose: bool = False) -> Generator[Card, None, None]:
        """Make every card, yielding each when done: unavailable and cached ones first, then the workers' own."""
        self._cards = [None] * len(cards)
        renderable = [i for i, c in enumerate(cards) if c.outcome == Outcome.OK]
        self._stems = dict(zip(renderable, preview_stems([cards[i] for i in renderable])))
        tasks: list[Task] = []
        for index, card in enumerate(cards):
            stem = self._stems.get(index)
            hit = None if stem is None or self.refresh else self.cache.lookup(card, stem, self._key(card))
            if stem is None or hit is not None:
                self._cards[index] = hit or card
                yield hit or card
            else:
                tasks.append(Task(index, card.id, card.host, str(self.cache.partial(stem))))
        if not tasks:
            return
        pending = {t.position: t for t in tasks}
        try:
            with Pool(min(jobs, len(tasks)), timeout, sorted({t.host for t in tasks}), self.steps, self.seed,
                      verbose) as pool:
                for answer in pool.run(tasks):
                    del pending[answer.task.position]
                    yield self._finish(cards[answer.task.position], answer)
        finally:
            for index in pending:  # interrupted: what a killed worker began is not kept
                self.cache.discard(self._stems[index])

    def _key(self, card: Card) -> str:
        return cache_key(card, self.steps, self.seed)

    def _finish(self, card: Card, answer: Answer) -> Card:
        index, stem, data = answer.task.position, self._stems[answer.task.position], answer.data
        card = replace(card.with_facts(data), seconds=answer.seconds)
        if data.get("outcome") in (Outcome.TIMEOUT, Outcome.CRASHED):
            card = replace(card, outcome=data["outcome"])
        if card.outcome == Outcome.OK:
            path = self.cache.adopt(stem, data.get("format"))
            card = replace(card, preview=path, reason=None) if path else replace(
                card, outcome=Outcome.FAILED, reason="the worker wrote no readable preview")
        else:
            self.cache.discard(stem)
            card = replace(card, reason=clip(data.get("reason")) or "no preview")
        if cacheable(card):
            self.cache.store(card, stem, self._key(card))
        self._cards[index] = card
        return card

    def data(self, version: str) -> dict[str, Any]:
        """What gallery.json holds."""
        return gallery_data(self.done, steps=self.steps, seed=self.seed, version=version,
                            complete=all(c is not None for c in self._cards))

    def write(self, version: str, *, complete: bool) -> Path:
        """Write the page of the cards done; a complete run also removes previews no card uses. index.html's path."""
        index = write_site(self.out, self.done, self.data(version), total=len(self._cards))
        if complete:
            keep = set()
            for position, stem in self._stems.items():
                card = self._cards[position]
                if card is not None and cacheable(card):
                    keep.add(f"{stem}.json")
                    if card.preview:
                        keep.add(card.preview[len(PREVIEWS) + 1 :])
            self.cache.prune(keep)
        return index
