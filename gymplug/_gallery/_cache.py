"""Previews kept between runs, in the gallery's own folder: ``previews/<stem>.webp`` and its ``<stem>.json``.

A card is reused when its ``.json`` holds the same key (distribution, version, id, steps, seed) and
its animation is there, whole and of the right kind. An error the env raised is reused only while
nothing was installed or removed (a missing dependency may have come since). Both files are read as
untrusted: a damaged or foreign one is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from ._cards import MAX_BYTES, Card, Outcome, from_json

__all__ = ["FORMATS", "PREVIEWS", "PreviewCache", "installed_signature"]

#: The folder of the previews, inside the gallery's folder.
PREVIEWS = "previews"
#: Animation formats, with the bytes each file starts with.
FORMATS = {"webp": (b"RIFF", 8, b"WEBP"), "gif": (b"GIF8", 0, b"")}
_PARTIAL = ".partial"
_OURS = tuple(f".{ext}" for ext in FORMATS) + (".json", _PARTIAL)
_MAX_SIDECAR = 64 << 10


def installed_signature(path: Optional[Sequence[str]] = None) -> str:
    """Changes when a distribution is installed, upgraded or removed: the metadata folders on ``sys.path``.

    Their names (``name-version.dist-info``) only: a folder's mtime would change with any file a
    program writes there (the current directory is on the path of ``python -m``).
    """
    found = []
    for folder in sys.path if path is None else path:
        try:
            names = os.listdir(folder or ".")
        except (OSError, ValueError):
            continue
        found.append([folder, sorted(n for n in names if n.endswith((".dist-info", ".egg-info")))])
    return hashlib.sha256(json.dumps(found).encode("utf-8", "surrogatepass")).hexdigest()


def _regular_size(path: Path) -> Optional[int]:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _looks_like(path: Path, fmt: str) -> bool:
    """Is ``path`` a regular file under MAX_BYTES that starts as a ``fmt`` file does?"""
    size = _regular_size(path)
    if size is None or not 12 <= size <= MAX_BYTES:
        return False
    head, offset, tag = FORMATS[fmt]
    with open(path, "rb") as file:
        start = file.read(12)
    return start.startswith(head) and start[offset : offset + len(tag)] == tag


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + _PARTIAL)
    partial.write_bytes(data)
    os.replace(partial, path)


class PreviewCache:
    """The previews of one gallery folder."""

    def __init__(self, site: Path, installed: str) -> None:
        self.folder = site / PREVIEWS
        #: :func:`installed_signature` now: a kept failure with another one is tried again
        self.installed = installed

    def _path(self, stem: str, suffix: str) -> Path:
        return self.folder.joinpath(*stem.split("/")).with_name(stem.rsplit("/", 1)[-1] + suffix)

    def lookup(self, card: Card, stem: str, key: str) -> Optional[Card]:
        """The card as cached under ``key``, or None."""
        sidecar = self._path(stem, ".json")
        size = _regular_size(sidecar)
        if size is None or size > _MAX_SIDECAR:
            return None
        try:
            saved = json.loads(sidecar.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("key") != key:
            return None
        cached = from_json(card, saved.get("card"))
        if cached is None or cached.outcome not in (Outcome.OK, Outcome.NO_RGB, Outcome.FAILED, Outcome.NEEDS):
            return None
        if cached.outcome in (Outcome.FAILED, Outcome.NEEDS) and saved.get("installed") != self.installed:
            return None
        if cached.outcome != Outcome.OK:
            return replace(cached, cached=True, preview=None, reason=cached.reason or "no preview")
        fmt = saved.get("format")
        if fmt not in FORMATS or not _looks_like(self._path(stem, f".{fmt}"), fmt):
            return None
        return replace(cached, cached=True, preview=f"{PREVIEWS}/{stem}.{fmt}")

    def partial(self, stem: str) -> Path:
        """Where a worker writes the animation of ``stem`` (its folder made)."""
        path = self._path(stem, _PARTIAL)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def adopt(self, stem: str, fmt: object) -> Optional[str]:
        """Move a worker's animation into place once it checks out; its path in the site, or None."""
        partial = self._path(stem, _PARTIAL)
        if fmt not in FORMATS or not _looks_like(partial, str(fmt)):
            partial.unlink(missing_ok=True)
            return None
        os.replace(partial, self._path(stem, f".{fmt}"))
        return f"{PREVIEWS}/{stem}.{fmt}"

    def discard(self, stem: str) -> None:
        """Forget what a failed or killed worker may have left."""
        self._path(stem, _PARTIAL).unlink(missing_ok=True)

    def store(self, card: Card, stem: str, key: str) -> None:
        """Keep ``card`` for the next run (see :func:`~._cards.cacheable`)."""
        fmt = card.preview.rsplit(".", 1)[-1] if card.preview else None
        facts = {k: v for k, v in card.to_json().items() if k not in ("cached", "seconds", "preview", "problem")}
        data = json.dumps({"key": key, "format": fmt, "installed": self.installed, "card": facts}, ensure_ascii=True)
        _write_atomic(self._path(stem, ".json"), data.encode("ascii"))

    def prune(self, keep: set[str]) -> None:
        """Remove the files of previews this gallery does not show (``keep``: paths under previews/, with "/")."""
        wanted = {os.path.normcase(str(self.folder.joinpath(*name.split("/")))) for name in keep}
        for root, dirs, files in os.walk(self.folder, topdown=False):  # never follows a link
            for name in files:
                path = os.path.join(root, name)
                ours = name.endswith(_OURS) and _regular_size(Path(path)) is not None
                if ours and os.path.normcase(path) not in wanted:
                    os.unlink(path)
            for name in dirs:
                try:
                    os.rmdir(os.path.join(root, name))  # only when empty
                except OSError:
                    pass
