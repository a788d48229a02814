"""The gallery's pieces in-process: cards from hostile answers, the preview cache, frames, the page, summaries."""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gymplug._gallery._cache import PreviewCache, installed_signature
from gymplug._gallery._cards import MAX_BYTES, Card, Outcome, cache_key, cacheable, preview_stems
from gymplug._gallery._frames import NotAnImage, encode, to_image
from gymplug._gallery._pool import exit_reason
from gymplug._gallery._site import check_folder, gallery_data, write_site
from gymplug._gallery._worker import summary
from gymplug._errors import GymplugError

CARD = Card("Grid/Maze-v0", "gymnasium", "declared", "gp-grid", "1.0.0")


def webp(frames: int = 3, side: int = 32) -> bytes:
    images = [Image.new("RGB", (side, side), (i * 40, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", save_all=True, append_images=images[1:], duration=100)
    return buffer.getvalue()


def test_readable_preview_paths_and_hashed_ones_for_unsafe_or_colliding_ids():
    cards = [CARD, replace(CARD, id="foo-v0"), replace(CARD, id="../../etc-v0"), replace(CARD, id="<script>-v0"),
             replace(CARD, id="a:b-v0"), replace(CARD, id="Case-v0"), replace(CARD, id="case-v0"),
             replace(CARD, id="Ωmega-v0"), replace(CARD, id="foo-v0", host="gym")]
    stems = preview_stems(cards)
    assert stems[:2] == ["gymnasium/Grid/Maze-v0", "gymnasium/foo-v0"]
    assert stems[7:] == ["gymnasium/Ωmega-v0", "gym/foo-v0"]
    hashed = stems[2:7]
    assert all(s.startswith("gymnasium/~") and len(s) == len("gymnasium/~") + 20 for s in hashed)
    assert len(set(hashed)) == 5  # case-insensitive file systems: Case-v0 and case-v0 apart


def test_facts_from_an_answer_are_checked_and_clipped():
    hostile = {"description": "x" * 10_000, "env_class": 42, "observation_space": "a\nb\tc", "max_episode_steps": True,
               "reward_threshold": float("inf"), "render_modes": ["rgb_array", 7, "y" * 99] + ["m"] * 50,
               "frames": -1, "width": 10**9, "bytes": "many", "outcome": "timeout", "reason": None}
    card = CARD.with_facts(hostile)
    assert len(card.description) == 300 and card.description.endswith("…") and card.env_class is None
    assert card.observation_space == "a b c" and card.max_episode_steps is None and card.reward_threshold is None
    assert card.render_modes[:2] == ("rgb_array", "y" * 39 + "…") and len(card.render_modes) == 19
    assert (card.frames, card.width, card.bytes, card.outcome) == (0, 0, 0, Outcome.OK)  # no outcome from outside


def test_what_is_kept_and_what_is_a_problem():
    assert [cacheable(replace(CARD, outcome=o)) for o in ("ok", "no-rgb", "failed", "timeout", "crashed")] == [
        True, True, True, False, False]
    assert [replace(CARD, outcome=o).problem for o in ("ok", "no-rgb", "failed", "timeout", "crashed")] == [
        False, False, True, True, True]
    assert replace(CARD, status="broken", outcome="unavailable").problem
    assert not replace(CARD, status="disabled", outcome="unavailable").problem
    keys = {cache_key(CARD, 60, 0), cache_key(CARD, 61, 0), cache_key(CARD, 60, 1), cache_key(replace(CARD, version="2"), 60, 0),
            cache_key(replace(CARD, host="gym"), 60, 0), cache_key(replace(CARD, distribution="other"), 60, 0)}
    assert len(keys) == 6


@pytest.fixture
def cache(tmp_path):
    return PreviewCache(tmp_path, "installed-1")


def store_preview(cache, stem="gymnasium/Grid/Maze-v0", data=None):
    cache.partial(stem).write_bytes(data or webp())
    path = cache.adopt(stem, "webp")
    card = replace(CARD, preview=path, frames=3, width=32, height=32, bytes=len(data or webp()))
    cache.store(card, stem, "key")
    return card


def test_cache_hit_and_every_kind_of_miss(cache, tmp_path):
    stored = store_preview(cache)
    hit = cache.lookup(CARD, "gymnasium/Grid/Maze-v0", "key")
    assert hit == replace(stored, cached=True) and hit.preview == "previews/gymnasium/Grid/Maze-v0.webp"
    assert cache.lookup(CARD, "gymnasium/Grid/Maze-v0", "other key") is None
    sidecar = tmp_path / "previews" / "gymnasium" / "Grid" / "Maze-v0.json"
    animation = sidecar.with_suffix(".webp")
    good = sidecar.read_bytes()
    for damage in (b"not json", b"[]", b'{"key": "key"}', good.replace(b'"format": "webp"', b'"format": "../x"'),
                   b" " * (65 << 10)):
        sidecar.write_bytes(damage)
        assert cache.lookup(CARD, "gymnasium/Grid/Maze-v0", "key") is None, damage[:40]
    sidecar.write_bytes(good)
    animation.write_bytes(b"GIF89a" + bytes(100))  # the wrong kind of file
    assert cache.lookup(CARD, "gymnasium/Grid/Maze-v0", "key") is None
    animation.unlink()
    os.symlink(tmp_path / "elsewhere.webp", animation)  # never a link
    (tmp_path / "elsewhere.webp").write_bytes(webp())
    assert cache.lookup(CARD, "gymnasium/Grid/Maze-v0", "key") is None


def test_a_kept_failure_is_tried_again_once_something_was_installed(cache, tmp_path):
    failed = replace(CARD, outcome=Outcome.FAILED, reason="make failed: DependencyNotInstalled: pip install x")
    cache.store(failed, "gymnasium/x-v0", "key")
    assert cache.lookup(CARD, "gymnasium/x-v0", "key") == replace(failed, cached=True)
    assert PreviewCache(tmp_path, "installed-2").lookup(CARD, "gymnasium/x-v0", "key") is None
    assert installed_signature([str(tmp_path)]) == installed_signature([str(tmp_path)])
    before = installed_signature([str(tmp_path)])
    (tmp_path / "unrelated.txt").write_text("a program's file")
    assert installed_signature([str(tmp_path)]) == before
    (tmp_path / "thing-1.0.dist-info").mkdir()
    assert installed_signature([str(tmp_path)]) != before


def test_a_worker_file_that_is_not_an_image_is_not_adopted(cache):
    cache.partial("gymnasium/a-v0").write_bytes(b"<html>not an image</html>")
    assert cache.adopt("gymnasium/a-v0", "webp") is None
    cache.partial("gymnasium/b-v0").write_bytes(webp())
    assert cache.adopt("gymnasium/b-v0", "../../evil") is None
    cache.partial("gymnasium/c-v0").write_bytes(b"RIFF" + bytes(4) + b"WEBP" + bytes(MAX_BYTES))  # too large
    assert cache.adopt("gymnasium/c-v0", "webp") is None
    assert not list(cache.folder.rglob("*.partial")) and not list(cache.folder.rglob("*.webp"))


def test_prune_keeps_what_is_shown_and_never_follows_links(cache, tmp_path):
    store_preview(cache)
    store_preview(cache, "gymnasium/old-v0")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.webp").write_bytes(webp())
    os.symlink(outside, cache.folder / "link")
    (cache.folder / "notes.txt").write_text("not ours")
    cache.prune({"gymnasium/Grid/Maze-v0.json", "gymnasium/Grid/Maze-v0.webp"})
    left = sorted(str(p.relative_to(cache.folder)) for p in cache.folder.rglob("*") if p.is_file())
    assert left == ["gymnasium/Grid/Maze-v0.json", "gymnasium/Grid/Maze-v0.webp", "notes.txt"]
    assert (outside / "keep.webp").exists()


def test_frames_are_checked_and_scaled_down_keeping_their_shape():
    assert to_image(np.zeros((600, 800, 3), np.uint8)).size == (256, 192)
    assert to_image(np.zeros((512, 512, 4), np.uint8)).size == (256, 256)
    assert to_image(np.zeros((48, 64, 3), np.uint8)).size == (64, 48)  # never scaled up
    assert to_image(np.full((4, 4, 3), 300.0)).getpixel((0, 0)) == (255, 255, 255)  # floats clipped
    for bad in (None, "text", np.zeros((4, 4)), np.zeros((4, 4, 2)), np.zeros((0, 4, 3)), np.zeros((4, 4, 3), object)):
        with pytest.raises(NotAnImage):
            to_image(bad)


def test_encode_counts_frames_and_stays_under_the_cap():
    moving = [to_image(np.roll(np.eye(32, dtype=np.uint8)[:, :, None].repeat(3, 2) * 255, i, 1)) for i in range(10)]
    preview = encode(moving, 8)
    with Image.open(io.BytesIO(preview.data)) as image:
        image.load()
        assert image.n_frames == preview.frames == 10 and image.info["duration"] == 125
    rng = np.random.default_rng(0)
    noise = [to_image(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)) for _ in range(40)]
    preview = encode(noise, 30)
    assert len(preview.data) <= MAX_BYTES and 1 <= preview.frames < 40
    assert encode([], 30) is None


class Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_page_escapes_everything_a_plugin_wrote(tmp_path):
    evil = "<script>alert(1)</script>"
    card = replace(CARD, id=f"{evil}-v0", distribution=f'"><img src=x onerror=alert(2)>', description=evil,
                   render_modes=(evil,), reason=evil, outcome=Outcome.FAILED)
    data = gallery_data([card], steps=5, seed=0, complete=True, version="0")
    write_site(tmp_path, [card], data)
    html = (tmp_path / "index.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    parser = Text()
    parser.feed(html)
    assert parser.tags.count("script") == 1 and "img" not in parser.tags  # gallery.js alone; no preview here
    assert f"{evil}-v0" in parser.text and evil in parser.text
    assert json.loads((tmp_path / "gallery.json").read_text())["envs"][0]["id"] == f"{evil}-v0"


def test_a_folder_is_replaced_only_when_it_holds_a_gallery(tmp_path):
    check_folder(tmp_path / "new")
    check_folder(tmp_path)  # empty
    (tmp_path / "gallery.json").write_text('{"generator": "something else"}')
    with pytest.raises(GymplugError, match="holds no gallery"):
        check_folder(tmp_path)
    write_site(tmp_path, [CARD], gallery_data([CARD], steps=1, seed=0, complete=True, version="0"))
    check_folder(tmp_path)


def test_summaries_of_docstrings():
    assert summary("## Description\n\nThis env is a grid, e.g. 8 x 8. Agents move.\n") == "This env is a grid, e.g. 8 x 8."
    assert summary("Title\n=====\n\nOne line only") == "One line only"
    assert summary("") is None and summary("## Only a heading") is None
    assert summary("After [Barto](https://x.org/p.html), `Sutton <https://y>`_. More.") == "After Barto, Sutton."


def test_exit_reasons():
    assert exit_reason(-6) == "the interpreter crashed (SIGABRT)"
    assert exit_reason(3) == "the worker process exited with code 3"
    assert exit_reason(None) == "the worker process ended"


def test_output_never_lands_outside_the_folder(tmp_path):
    cache = PreviewCache(tmp_path / "site", "x")
    for stem in preview_stems([replace(CARD, id="../../../escape-v0"), replace(CARD, id="/abs-v0")]):
        assert Path(os.path.realpath(cache.partial(stem))).is_relative_to(os.path.realpath(tmp_path / "site"))
