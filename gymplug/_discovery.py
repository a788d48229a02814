"""Discovery: read the host groups' entry points from installed metadata, names and values only."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ._entries import GROUPS, Declaration, Distribution, EntryProblem, normalize_name, parse_entry

if sys.version_info >= (3, 10):
    from importlib import metadata
else:  # pragma: no cover - exercised on Python 3.9 only
    import importlib_metadata as metadata

__all__ = ["Discovery", "discover", "disabled_distributions", "parse_entry_points_text"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Discovery:
    """What the installed distributions declare for one host group."""

    group: str
    declarations: tuple[Declaration, ...] = ()
    problems: tuple[EntryProblem, ...] = ()
    disabled: frozenset[str] = field(default_factory=frozenset)

    def is_disabled(self, dist: Distribution) -> bool:
        return dist.key in self.disabled


def disabled_distributions(value: Optional[str] = None) -> frozenset[str]:
    """Normalized names blocked by GYMPLUG_DISABLE (comma or space separated)."""
    if value is None:
        value = os.environ.get("GYMPLUG_DISABLE", "")
    return frozenset(normalize_name(name) for name in value.replace(",", " ").split())


def parse_entry_points_text(text: str, group: str) -> Iterable[tuple[Optional[str], Optional[str], str]]:
    """(name, value, line) for each line of one section of an entry_points.txt.

    Tolerant by design: a line without '=' yields (None, None, line) instead of failing the file.
    """
    in_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            in_group = line[1:-1].strip() == group
            continue
        if not in_group:
            continue
        name, sep, value = line.partition("=")
        if sep:
            yield name, value, line
        else:
            yield None, None, line


def _distribution(dist: metadata.Distribution) -> Distribution:
    meta = dist.metadata
    name = (meta["Name"] if meta is not None else None) or getattr(dist, "_normalized_name", None) or "?"
    return Distribution(name, (meta["Version"] if meta is not None else None) or "?")


def discover(host: str, path: Optional[list[str]] = None, disable: Optional[str] = None) -> Discovery:
    """Read the declarations of ``host``'s group from the distributions on ``path`` (default sys.path).

    The first distribution of a name on the path wins, as for importlib. Never imports plugin code.
    """
    group = GROUPS[host]
    needle = f"[{group}]"
    seen: set[str] = set()
    declarations: list[Declaration] = []
    problems: list[EntryProblem] = []
    for dist in metadata.distributions(path=sys.path if path is None else path):
        key = getattr(dist, "_normalized_name", None)
        try:
            text = dist.read_text("entry_points.txt")
        except Exception as exc:  # unreadable or undecodable: report, never fail
            problems.append(EntryProblem(_safe_distribution(dist), group, "", "", f"entry_points.txt unreadable: {exc}"))
            continue
        if key is None:
            key = normalize_name(_distribution(dist).name)
        if key in seen:
            continue
        seen.add(key)
        if not text or needle not in text:
            continue
        owner = _distribution(dist)
        for name, value, line in parse_entry_points_text(text, group):
            if name is None or value is None:
                problems.append(EntryProblem(owner, group, line, "", "the line is not 'name = value'"))
                continue
            parsed = parse_entry(owner, group, name, value)
            (declarations if isinstance(parsed, Declaration) else problems).append(parsed)
    for item in problems:
        logger.warning("skipping malformed entry point: %s", item.describe())
    return Discovery(group, tuple(declarations), tuple(problems), disabled_distributions(disable))


def _safe_distribution(dist: metadata.Distribution) -> Distribution:
    try:
        return _distribution(dist)
    except Exception:
        return Distribution(getattr(dist, "_normalized_name", None) or "?", "?")
