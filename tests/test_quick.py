"""The learned store read at attach (``_learning/_quick``): the same sources and entries as the full scan, on real
dist-info folders on a temporary path."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from test_sources import dist

from gymplug._cache import cached_names
from gymplug._discovery import discover
from gymplug._learning import _quick, _sources, _store
from gymplug._learning._children import Learned
from gymplug._learning._lookups import Learning
from gymplug._settings import Settings

HOST = "gymnasium"  # read from metadata only: the host need not be installed


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    _sources.clear_cache()
    yield
    _sources.clear_cache()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_environ({"GYMPLUG_CACHE_DIR": str(tmp_path / "cache")})


def site(tmp_path: Path) -> list[str]:
    """Two directories holding every kind of source and of non-source the rules know."""
    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "gymnasium", "1.4.0", ("numpy>=1.21", "ale-py; extra == 'atari'"), top_level="gymnasium\n")
    dist(first, "numpy", "2.1.0", (), top_level="numpy\n")
    dist(first, "mini-grid", "3.0", ("gymnasium>=1", "numpy"), top_level="minigrid\n")
    dist(first, "ale-py", "0.11", ("numpy", "gymnasium; extra == 'test'"), top_level="ale_py\n")  # the host's extra
    dist(first, "nes-py", "8.2", ("gymnasium",), top_level="nes_py\n")
    dist(first, "mario", "7.4", ("nes-py>=8",), top_level="mario\n")  # a chain through nes-py
    dist(first, "plugged", "1.0", ("gymnasium",), top_level="plugged\n", entry_points="[gymnasium.envs]\nP-v0 = p:E\n")
    dist(first, "no-modules", "1.0", ("gymnasium",))
    dist(first, "unrelated", "1.0", ("requests",), top_level="unrelated\n")
    dist(second, "mini-grid", "2.0", ("gymnasium",), top_level="minigrid_old\n")  # shadowed by the first
    dist(second, "late", "1.0", ("gymnasium", "missing-dep"), record="late/__init__.py,,\n")
    egg = second / "eggy.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: eggy\nVersion: 0.5\n")
    (egg / "requires.txt").write_text("gymnasium\n\n[extra]\nnumpy\n")
    (egg / "top_level.txt").write_text("eggy\n")
    return [str(first), str(second)]


KEYS = ["mini-grid", "ale-py", "nes-py", "mario", "plugged", "no-modules", "unrelated", "late", "eggy", "absent"]


@pytest.mark.parametrize("keys", [KEYS, ["mario"], ["ale-py", "late"], ["eggy", "mini-grid"], ["absent"]])
def test_the_sources_among_some_keys_are_those_the_full_scan_finds(tmp_path: Path, keys: list[str]) -> None:
    path = site(tmp_path)
    folders = discover(HOST, path=path, settings=Settings.from_environ({"GYMPLUG_CACHE": "0"})).folders()
    assert folders is not None
    fast = _quick.sources_among(HOST, keys, folders)
    full = [s for s in _sources.find_sources(HOST, path)[0] if s.key in keys]
    assert fast == full
    if keys == KEYS:  # the scenario holds each rule: "" (requires the host), "extra", a chain, an egg-info
        assert {s.key: s.via for s in fast} == {
            "mini-grid": "", "ale-py": "extra", "nes-py": "", "mario": "nes-py", "late": "", "eggy": "",
        }
        assert next(s for s in fast if s.key == "late").depends == (("gymnasium", "1.4.0"), ("missing-dep", ""))


def test_discovery_lists_the_first_folder_of_each_name_and_none_with_a_zip(tmp_path: Path) -> None:
    path = site(tmp_path)
    off = Settings.from_environ({"GYMPLUG_CACHE": "0"})
    folders = discover(HOST, path=path, settings=off).folders()
    assert folders is not None and folders["mini-grid"] == str(tmp_path / "first" / "mini_grid-3.0.dist-info")
    assert folders["eggy"] == str(tmp_path / "second" / "eggy.egg-info")
    archive = tmp_path / "site.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    assert discover(HOST, path=[*path, str(archive)], settings=off).folders() is None


def learn(settings: Settings, path: list[str], ids: dict[str, tuple[str, ...]], error: str = "") -> None:
    """Store what each source of ``ids`` registered, as a learning child would have."""
    store = _store.LearnedStore(_store.store_file(settings))
    for source in _sources.find_sources(HOST, path)[0]:
        if source.key in ids:
            specs = {i: {"entry_point": f"{source.modules[0]}:Env"} for i in ids[source.key] if not i.endswith("-v9")}
            failed = error if source.key == "late" else None
            store.put(HOST, source, Learned(source.key, source.version, source.signature, ids[source.key], failed,
                                            0.5, specs, source.modules))
    assert store.save()


def slow_entries(settings: Settings, path: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.setattr(sys, "path", path)
    return Learning(HOST, "gymnasium.envs", None, settings).entries()  # type: ignore[arg-type] # loads nothing


@pytest.mark.parametrize("error", ["", "ImportError: no"])
def test_entries_at_attach_are_those_of_the_full_scan(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    path = site(tmp_path)
    # mini-grid and mario both provide Shared-v0 (a clash); nes-py and mario both Chain-v0, which mario has only
    # because it requires nes-py; an id without a plain spec (-v9) stays a hint
    learn(settings, path, {
        "mini-grid": ("MiniGrid-Empty-v0", "Shared-v0", "Hint-v9"),
        "nes-py": ("Chain-v0",),
        "mario": ("SuperMario-v0", "Shared-v0", "Chain-v0"),
        "late": ("Late-v0",),
        "eggy": (),
    }, error)
    folders = discover(HOST, path=path, settings=settings).folders()
    assert folders is not None
    keys = _quick.stored_keys(HOST, settings)
    assert keys == {"mini-grid", "nes-py", "mario", "late", "eggy"}
    fast = _quick.learned_at_attach(HOST, keys, folders, settings)
    slow = slow_entries(settings, path, monkeypatch)
    assert fast == slow
    entries, clashes = fast
    assert set(clashes) == {"Shared-v0"} and ("Chain-v0" in {i for _, i, _ in entries})
    # a source whose metadata changed since it was learned holds nothing, both ways
    time.sleep(0.01)
    (tmp_path / "first" / "mario-7.4.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mario\nVersion: 7.4\nRequires-Dist: nes-py>=8\nSummary: edited\n")
    _sources.clear_cache()
    fast = _quick.learned_at_attach(HOST, keys, folders, settings)
    assert fast == slow_entries(settings, path, monkeypatch)
    assert "SuperMario-v0" not in {i for _, i, _ in fast[0]}


def test_the_store_is_read_raw_for_keys_and_ids_and_anything_malformed_reads_as_nothing(settings: Settings) -> None:
    path = _store.store_file(settings)
    assert path is not None and _quick.stored_keys(HOST, settings) == frozenset()
    assert _quick.stored_ids(HOST, settings) == []
    Path(path).parent.mkdir(mode=0o700, parents=True)
    entry = {"ids": ["A-v0", 3, "B-v1"], "version": "1"}
    data = {"format": _quick.FORMAT, "hosts": {HOST: {"a": {"/x": entry}, "p#ns": {"/y": {"ids": ["C-v0"]}}, "e": {}},
                                                "gym": {"g": {"/z": {"ids": ["G-v0"]}}}}}
    for content, keys, ids in [
        (data, {"a"}, ["A-v0", "B-v1"]),
        ({**data, "format": 1}, set(), []),
        ({"format": _quick.FORMAT, "hosts": {HOST: ["a"]}}, set(), []),
        ([1, 2], set(), []),
    ]:
        Path(path).write_text(json.dumps(content))
        Path(path).chmod(0o600)
        assert (_quick.stored_keys(HOST, settings), _quick.stored_ids(HOST, settings)) == (keys, ids)


def test_the_names_read_from_the_cache_are_discovery_s_or_none(tmp_path: Path, settings: Settings) -> None:
    path = site(tmp_path)
    (tmp_path / "first" / "zz-1.0.dist-info" / "entry_points.txt").parent.mkdir()
    (tmp_path / "first" / "zz-1.0.dist-info" / "entry_points.txt").write_text("[gymnasium.envs]\nZz-v0 = zz:E\nbad\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    path.append(str(empty))
    assert cached_names("gymnasium.envs", path, settings) is None  # nothing cached yet: discovery must read
    discover(HOST, path=path, settings=settings)  # too young to be cached
    assert cached_names("gymnasium.envs", path, settings) is None
    import os

    past = time.time() - 60
    for directory in path:
        for item in [Path(directory), *Path(directory).rglob("*")]:
            os.utime(item, (past, past))
    discover(HOST, path=path, settings=settings)
    names = cached_names("gymnasium.envs", path, settings)
    assert names is not None and set(names) >= {"P-v0", "Zz-v0"}
    found = discover(HOST, path=path, settings=settings)
    assert {d.name for d in found.declarations} | {p.name for p in found.problems} == set(names)
    os.utime(tmp_path / "first" / "zz-1.0.dist-info" / "entry_points.txt")  # edited in place: read again
    assert cached_names("gymnasium.envs", path, settings) is None
