"""The static site: ``index.html`` (Jinja2, autoescaped), its CSS and JS, and ``gallery.json``; written whole.

Every file is written under a temporary name and renamed, so that an interrupted run leaves the
previous page or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence
from urllib.parse import quote

from .._errors import GymplugError
from ._cards import Card

__all__ = ["GENERATOR", "check_folder", "gallery_data", "sources", "write_site"]

#: Written into gallery.json: how a later run knows that the folder holds a gallery it may replace.
GENERATOR = "gymplug gallery"
_ASSETS = Path(__file__).resolve().parent / "assets"
_COPIED = ("gallery.css", "gallery.js")
_SMALL = 160  # previews smaller than this are scaled up on the page, pixel by pixel


def check_folder(out: Path) -> None:
    """Refuse a folder that exists, is not empty and holds no gallery: the site would overwrite its files."""
    if not out.exists():
        return
    if not out.is_dir():
        raise GymplugError(f"{out} exists and is not a folder; choose another --out")
    if not any(out.iterdir()):
        return
    try:
        data = json.loads((out / "gallery.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR:
        raise GymplugError(f"{out} is not empty and holds no gallery; choose another --out (or empty it)")


def sources(cards: Sequence[Card]) -> list[dict[str, Any]]:
    """The distributions the cards come from, by name: name, version(s) and number of cards."""
    found: dict[str, dict[str, Any]] = {}
    for card in cards:
        name = card.distribution or card.host
        entry = found.setdefault(name, {"name": name, "versions": [], "count": 0})
        entry["count"] += 1
        if card.version and card.version not in entry["versions"]:
            entry["versions"].append(card.version)
    return sorted(found.values(), key=lambda s: s["name"].lower())


def gallery_data(cards: Sequence[Card], *, steps: int, seed: int, complete: bool, version: str) -> dict[str, Any]:
    """What gallery.json holds (and ``--json`` prints)."""
    return {
        "generator": GENERATOR,
        "gymplug": version,
        "steps": steps,
        "seed": seed,
        "complete": complete,
        "distributions": len(sources(cards)),
        "previews": sum(1 for c in cards if c.preview),
        "problems": sum(1 for c in cards if c.problem),
        "envs": [c.to_json() for c in cards],
    }


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _search_text(card: Card) -> str:
    parts = (card.id, card.distribution, card.host, card.status, card.observation_space, card.action_space)
    return " ".join(p for p in parts if p).lower()


def _render(data: dict[str, Any], cards: Sequence[Card], total: Optional[int]) -> str:
    import jinja2  # gymplug[gallery]: imported by this command only

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_ASSETS)),
        autoescape=True,  # every value is text a plugin may have written
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["url"] = lambda path: quote(path, safe="/")
    template = env.get_template("index.html.j2")
    shown = [
        {"card": c, "search": _search_text(c), "small": c.preview is not None and max(c.width, c.height) < _SMALL}
        for c in cards
    ]
    return template.render(**data, items=shown, sources=sources(cards), total=total)


def write_site(out: Path, cards: Sequence[Card], data: dict[str, Any], total: Optional[int] = None) -> Path:
    """Write the page of ``cards`` (``total``: how many a complete run would show); the path of index.html."""
    out.mkdir(parents=True, exist_ok=True)
    for name in _COPIED:
        _write(out / name, (_ASSETS / name).read_bytes())
    _write(out / "gallery.json", (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8", "replace"))
    index = out / "index.html"
    _write(index, _render(data, cards, total).encode("utf-8", "replace"))
    return index
