"""Unit tests of the discovery cache on real *.dist-info folders: it is used, and never believed wrongly."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

import gymplug
from gymplug import _cache, discover
from helpers import dist_info

GROUP_TEXT = "[gym.envs]\n{}\n"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GYMPLUG_CACHE_DIR", str(folder))
    monkeypatch.delenv("GYMPLUG_CACHE", raising=False)
    return folder


def settle(*paths: Path) -> None:
    """Date files and folders a minute back, as if installed earlier: the cache stores no younger state."""
    past = time.time() - 60
    for path in paths:
        for item in [path, *path.rglob("*")]:
            os.utime(item, (past, past))


def ids(site: Path) -> list[str]:
    return sorted(d.name for d in discover("gym", path=[str(site)]).declarations)


def hits(site: Path, caplog) -> int:
    """How many directories the last discovery took from the cache (from its debug log)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="gymplug"):
        discover("gym", path=[str(site)])
    return int(next(r.getMessage().split(": ")[1].split()[0] for r in caplog.records if "discovery cache" in r.getMessage()))


def forge(cache_file: Path, *, files: bool = False) -> None:
    """Rewrite the cache so that every distribution declares evil-v0; with ``files``, also break its stats."""
    data = json.loads(cache_file.read_text())
    (entry,) = data["dirs"].values()
    listing = entry["listing"]
    count = len(listing["folders"].split("\n"))  # stored as one string, a folder per line
    listing["groups"]["gym.envs"] = ["evil-v0\nevil:Env\nenv"] * count
    if files:
        listing["files"] = [1, 2, 3, 4] * count  # stats that match nothing on disk
    cache_file.write_text(json.dumps(data))


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    dist_info(site, "plug-a", "1.0", GROUP_TEXT.format("a-v0 = pkg_a:Env\nAns = pkg_a.reg:register"))
    dist_info(site, "plug-b", "1.0", GROUP_TEXT.format("b-v0 = pkg_b:Env\nbad name-v0 = pkg_b:Env"))
    dist_info(site, "unrelated", "2.0", "[console_scripts]\nx = y:z\n")
    dist_info(site, "no-entry-points", "0.1", None)
    settle(site)
    return site


def test_a_warm_discovery_equals_a_cold_one(site, cache_dir, caplog):
    cold = discover("gym", path=[str(site)])
    assert hits(site, caplog) == 1
    warm = discover("gym", path=[str(site)])
    assert warm == cold
    assert [p.reason for p in warm.problems] == [p.reason for p in cold.problems] != []
    (cache_file,) = cache_dir.iterdir()
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert not list(cache_dir.glob(".discovery-*"))  # no temporary file left behind


def test_a_state_younger_than_two_seconds_is_not_stored(tmp_path, cache_dir):
    site = tmp_path / "fresh"
    dist_info(site, "plug", "1.0", GROUP_TEXT.format("x-v0 = pkg:Env"))
    assert ids(site) == ["x-v0"]
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


@pytest.mark.parametrize("change", ["install", "uninstall", "upgrade", "reinstall", "edit in place", "new file"])
def test_every_change_of_the_installed_metadata_is_seen(site, cache_dir, caplog, change):
    assert ids(site) == ["Ans", "a-v0", "b-v0"]
    assert hits(site, caplog) == 1
    folder = site / "plug_a-1.0.dist-info"
    if change == "install":
        dist_info(site, "plug-c", "1.0", GROUP_TEXT.format("c-v0 = pkg_c:Env"))
        expected = ["Ans", "a-v0", "b-v0", "c-v0"]
    elif change == "uninstall":
        shutil.rmtree(folder)
        expected = ["b-v0"]
    elif change == "upgrade":
        shutil.rmtree(folder)
        dist_info(site, "plug-a", "2.0", GROUP_TEXT.format("a-v1 = pkg_a:Env"))
        expected = ["a-v1", "b-v0"]
    elif change == "reinstall":  # the same name and version, other entry points (pip install -e . again)
        shutil.rmtree(folder)
        dist_info(site, "plug-a", "1.0", GROUP_TEXT.format("a-v0 = pkg_a:Env\nz-v9 = pkg_a:Env"))
        expected = ["a-v0", "b-v0", "z-v9"]
    elif change == "edit in place":  # the directory does not change, only the file
        (folder / "entry_points.txt").write_text(GROUP_TEXT.format("e-v0 = pkg_a:Env\nAns = pkg_a.reg:register"))
        expected = ["Ans", "b-v0", "e-v0"]
    else:  # an entry_points.txt appears in a folder that had none
        (site / "no_entry_points-0.1.dist-info" / "entry_points.txt").write_text(GROUP_TEXT.format("n-v0 = pkg:Env"))
        expected = ["Ans", "a-v0", "b-v0", "n-v0"]
    assert ids(site) == expected
    settle(site)
    assert ids(site) == expected and hits(site, caplog) == 1  # stored again, and used


def test_a_corrupt_cache_is_ignored_and_rebuilt(site, cache_dir, caplog):
    discover("gym", path=[str(site)])
    (cache_file,) = cache_dir.iterdir()
    for garbage in (b"\x00\xff not json", b'{"format": 1, "dirs": {"x": 3}}', b"[]", b'{"format": 99, "dirs": {}}',
                    b'{"format": 1, "dirs": {"/x": {"sig": [1, 2, 3], "stored": 0, "listing": {"folders": 5}}}}'):
        cache_file.write_bytes(garbage)
        os.chmod(cache_file, 0o600)
        assert ids(site) == ["Ans", "a-v0", "b-v0"]
        assert json.loads(cache_file.read_text())["format"] == _cache.FORMAT  # rewritten whole
    # a listing of the wrong shape under the right directory and signature: dropped, the directory read
    data = json.loads(cache_file.read_text())
    (entry,) = (e for d, e in data["dirs"].items() if d == str(site))
    entry["listing"]["files"] = "not a list"
    cache_file.write_text(json.dumps(data))
    assert ids(site) == ["Ans", "a-v0", "b-v0"]
    stored = json.loads(cache_file.read_text())["dirs"][str(site)]["listing"]["files"]
    assert isinstance(stored, list)  # stored anew


def test_a_forged_cache_is_not_believed_when_the_files_say_otherwise(site, cache_dir):
    discover("gym", path=[str(site)])
    (cache_file,) = cache_dir.iterdir()
    forge(cache_file)
    assert "evil-v0" in ids(site)  # the control: a forgery the files agree with is read
    forge(cache_file, files=True)
    assert ids(site) == ["Ans", "a-v0", "b-v0"]


@pytest.mark.skipif(os.name != "posix", reason="ownership and modes are POSIX")
@pytest.mark.parametrize("tamper", ["nothing", "world-writable file", "group-writable directory", "someone else's file"])
def test_a_cache_that_is_not_the_users_own_is_ignored(site, cache_dir, tamper):
    discover("gym", path=[str(site)])
    (cache_file,) = cache_dir.iterdir()
    forge(cache_file)  # the stats still match: only the owner check can refuse it
    if tamper == "nothing":  # the control: the user's own file is believed, so the refusals below are real
        assert "evil-v0" in ids(site)
        return
    if tamper == "world-writable file":
        os.chmod(cache_file, 0o666)
    elif tamper == "group-writable directory":
        os.chmod(cache_dir, 0o770)
    else:
        if os.getuid() != 0:
            pytest.skip("only root can give a file away")
        os.chown(cache_file, 65534, 65534)
    assert ids(site) == ["Ans", "a-v0", "b-v0"]


def test_an_unwritable_cache_location_is_survived(site, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("GYMPLUG_CACHE_DIR", str(blocker / "cache"))
    assert ids(site) == ["Ans", "a-v0", "b-v0"]
    assert ids(site) == ["Ans", "a-v0", "b-v0"]


def test_the_cache_can_be_turned_off_and_invalidated(site, cache_dir, monkeypatch):
    monkeypatch.setenv("GYMPLUG_CACHE", "0")
    assert _cache.cache_file() is None
    discover("gym", path=[str(site)])
    assert not cache_dir.exists()
    monkeypatch.delenv("GYMPLUG_CACHE")
    discover("gym", path=[str(site)])
    assert os.path.exists(_cache.cache_file())
    gymplug.invalidate_caches()
    assert not os.path.exists(_cache.cache_file())
    gymplug.invalidate_caches()  # nothing to remove is fine


def test_each_interpreter_and_environment_has_its_own_file(cache_dir, monkeypatch):
    mine = _cache.cache_file()
    monkeypatch.setattr("sys.prefix", "/some/other/venv")
    assert _cache.cache_file() != mine and os.path.dirname(_cache.cache_file()) == os.path.dirname(mine)


def test_listings_round_trip_and_bad_shapes_are_refused():
    listing = _cache.Listing(["a-1.dist-info", "b-2.dist-info"], ["a", "b"], ["1", "2"], [1, 2, 3, 4, -1, -1, -1, -1],
                             {"gym.envs": [["x-v0", "m:E", "env"], None]})
    assert _cache.Listing.decode(json.loads(json.dumps(listing.encode()))) == listing
    good = listing.encode()
    for broken in ({**good, "names": "a"}, {**good, "files": [1]}, {**good, "groups": {"gym.envs": ["x"]}},
                   {**good, "groups": {"gym.envs": [3, ""]}}, {**good, "groups": {"gym.envs": ["a\nb", ""]}},
                   {**good, "folders": 7}, {k: v for k, v in good.items() if k != "files"}, "nonsense", None):
        assert _cache.Listing.decode(broken) is None, broken


def test_a_listing_without_the_group_still_hides_later_distributions_of_its_names(tmp_path, cache_dir):
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "plug", "2.0", "[gymnasium.envs]\nother-v0 = pkg:Env\n")
    dist_info(second, "plug", "1.0", GROUP_TEXT.format("old-v0 = pkg:Env"))
    settle(first, second)
    path = [str(first), str(second)]
    assert [d.name for d in discover("gym", path=path).declarations] == []  # plug 2.0 comes first and wins
    (cache_file,) = cache_dir.iterdir()
    data = json.loads(cache_file.read_text())
    data["dirs"][str(first)]["listing"]["groups"].pop("gym.envs")  # a cache that lacks the column
    cache_file.write_text(json.dumps(data))
    assert [d.name for d in discover("gym", path=path).declarations] == []


def test_the_default_location_is_the_documented_one(tmp_path, monkeypatch):
    monkeypatch.delenv("GYMPLUG_CACHE_DIR", raising=False)
    monkeypatch.delenv("GYMPLUG_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix":
        assert os.path.dirname(_cache.cache_file()) == str(tmp_path / "xdg" / "gymplug")
        monkeypatch.delenv("XDG_CACHE_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert os.path.dirname(_cache.cache_file()) == str(tmp_path / "home" / ".cache" / "gymplug")
    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert os.path.dirname(_cache.cache_file()) == os.path.join(str(tmp_path / "local"), "gymplug", "Cache")


def test_the_64_most_recently_stored_other_directories_are_kept(tmp_path, cache_dir):
    sites = [tmp_path / f"site{i}" for i in range(70)]
    for i, site in enumerate(sites):
        dist_info(site, f"plug{i}", "1.0", GROUP_TEXT.format(f"p{i}-v0 = pkg:Env"))
    settle(*sites)
    for site in sites:  # one project after another, each with its own path: each stores its directory
        discover("gym", path=[str(site)])
    (cache_file,) = cache_dir.iterdir()
    kept = set(json.loads(cache_file.read_text())["dirs"])
    assert kept == {str(site) for site in sites[-65:]}  # the current path's, and the 64 most recent others


def test_a_directory_with_an_undecodable_entry_points_txt_is_reported_on_every_run(tmp_path, cache_dir, caplog):
    site = tmp_path / "site"
    dist_info(site, "plug-a", "1.0", GROUP_TEXT.format("a-v0 = pkg_a:Env"))
    latin = dist_info(site, "latin-gym", "1.0", "[gym.envs]\ncaf\xe9-v0 = x:y\n".encode("latin-1"))
    settle(site)
    for _ in range(2):  # not cached with the problem left out: the next run reports it too
        found = discover("gym", path=[str(site)])
        assert [p.dist.name for p in found.problems] == ["latin-gym"]
        assert [d.name for d in found.declarations] == ["a-v0"]
    (latin / "entry_points.txt").write_text("[gym.envs]\ncafe-v0 = x:y\n")  # the control: fixed, it is cached
    settle(site)
    assert ids(site) == ["a-v0", "cafe-v0"]
    assert hits(site, caplog) == 1
