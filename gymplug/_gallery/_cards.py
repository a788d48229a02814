"""A gallery card: what the page shows of one env, its cache key, and where its preview lives."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, Optional, Sequence

__all__ = ["MAX_BYTES", "MAX_SIDE", "Card", "Outcome", "cache_key", "cacheable", "clip", "from_json", "preview_stems"]

#: Bumped when previews or the facts of a card change meaning: older cache entries are then ignored.
CARD_FORMAT = 1
#: The longest side of a preview, in pixels.
MAX_SIDE = 256
#: The largest preview file: a gallery of hundreds of envs stays light.
MAX_BYTES = 300_000
_MAX_TEXT = 300  # characters of one fact (a space's repr can be a page long)
_MAX_MODES = 20


class Outcome:
    """Why a card has no preview (``Card.outcome``); "ok" when it has one."""

    OK = "ok"
    NO_RGB = "no-rgb"  # the env does not render rgb_array: a fact of its class, kept in the cache
    FAILED = "failed"  # make, reset, step or render raised, or no image: kept while nothing is (un)installed
    NEEDS = "needs"  # DependencyNotInstalled, ImportError: a module that is not installed; no defect; kept likewise
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # the worker process died
    UNAVAILABLE = "unavailable"  # broken, conflict, disabled, shadowed, pending: never made
    PROBLEMS = frozenset({FAILED, TIMEOUT, CRASHED})


def clip(value: object, limit: int = _MAX_TEXT) -> Optional[str]:
    """Plugin text as one line of at most ``limit`` characters; None stays None."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Card:
    """One env of the gallery. Every text field may hold anything a plugin wrote: the page escapes it."""

    id: str
    host: str
    status: str
    distribution: Optional[str] = None
    version: Optional[str] = None
    entry_point: Optional[str] = None
    description: Optional[str] = None  # the first line of the env class's docstring
    env_class: Optional[str] = None
    observation_space: Optional[str] = None
    action_space: Optional[str] = None
    max_episode_steps: Optional[int] = None
    reward_threshold: Optional[float] = None
    render_modes: tuple[str, ...] = ()
    preview: Optional[str] = None  # the path of the animation, relative to the site's folder, with "/"
    frames: int = 0
    width: int = 0
    height: int = 0
    bytes: int = 0
    outcome: str = Outcome.OK
    reason: Optional[str] = None  # one line: why there is no preview
    cached: bool = False
    seconds: Optional[float] = field(default=None, compare=False)

    @property
    def problem(self) -> bool:
        """Is this card a problem of the env (``gallery`` exits 1), rather than a plain fact?"""
        return self.outcome in Outcome.PROBLEMS or self.status in ("broken", "conflict")

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["render_modes"] = list(self.render_modes)
        data["problem"] = self.problem
        return data

    def with_facts(self, facts: Mapping[str, Any]) -> "Card":
        """This card with the facts a worker (or the cache) reported, each checked and clipped."""
        return replace(self, **_facts(facts))


def _facts(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("description", "env_class", "observation_space", "action_space", "reason"):
        value = raw.get(name)
        out[name] = clip(value) if isinstance(value, str) else None
    for name, top in (("max_episode_steps", 1 << 62), ("frames", 1 << 20), ("width", MAX_SIDE), ("height", MAX_SIDE),
                      ("bytes", MAX_BYTES)):
        value = raw.get(name)
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top
        out[name] = value if ok else (None if name == "max_episode_steps" else 0)
    threshold = raw.get("reward_threshold")
    finite = isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and abs(threshold) < 1e300
    out["reward_threshold"] = float(threshold) if finite and threshold is not None else None
    modes = raw.get("render_modes")
    if isinstance(modes, list):
        out["render_modes"] = tuple(clip(m, 40) or "" for m in modes[:_MAX_MODES] if isinstance(m, str))
    outcome = raw.get("outcome")
    if outcome in (Outcome.OK, Outcome.NO_RGB, Outcome.FAILED, Outcome.NEEDS):
        out["outcome"] = outcome
    return out


def from_json(base: Card, raw: Any) -> Optional[Card]:
    """``base`` with the facts of a JSON object from a worker or a cache file, or None if it is not one."""
    if not isinstance(raw, dict):
        return None
    return base.with_facts(raw)


def cacheable(card: Card) -> bool:
    """Kept between runs: a preview, "no rgb_array", or an error the env raised. Timeouts and crashes are not."""
    return card.outcome in (Outcome.OK, Outcome.NO_RGB, Outcome.FAILED, Outcome.NEEDS)


def cache_key(card: Card, steps: int, seed: int) -> str:
    """What a preview depends on, as text: distribution, version, id, steps and seed (and host, format)."""
    return json.dumps([CARD_FORMAT, card.host, card.distribution, card.version, card.id, steps, seed])


def _safe_part(part: str) -> bool:
    return bool(part) and not part.startswith(".") and all(c.isalnum() or c in "_-." for c in part)


def preview_stems(cards: Sequence[Card]) -> list[str]:
    """Where each card's preview goes, without extension: ``<host>/<namespace>/<name>``, readable.

    An id that is not safe as a file name (markup, ``..``, ``:``), or that would meet another on a
    case-insensitive file system, gets ``<host>/~<hash>`` instead (``~`` is never in a safe name).
    """
    stems: list[str] = []
    for card in cards:
        parts = card.id.split("/")
        if len(parts) <= 2 and all(_safe_part(p) for p in parts):
            stems.append("/".join([card.host, *parts]))
        else:
            stems.append(_hashed(card))
    seen: dict[str, int] = {}
    for stem in stems:
        seen[stem.casefold()] = seen.get(stem.casefold(), 0) + 1
    return [s if seen[s.casefold()] == 1 else _hashed(c) for s, c in zip(stems, cards)]


def _hashed(card: Card) -> str:
    digest = hashlib.sha256(json.dumps([card.host, card.id]).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{card.host}/~{digest[:20]}"
