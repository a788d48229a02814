"""Hostile states of the path, the metadata and the cache: discovery neither hangs, nor raises, nor loses plugins.

Each test sets up real files (dist-info folders, zips, FIFOs, cache files) and, where a hang or a
process-wide state is at stake, runs discovery in a real subprocess with a timeout.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from gymplug import _cache, discover
from gymplug._settings import Settings
from helpers import NEUTRAL_CWD, clean_env, dist_info, run

GYM = "[gym.envs]\n{}\n"
IDS = ["Ans", "a-v0", "b-v0"]
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, ownership and modes are POSIX")
root_only = pytest.mark.skipif(os.name != "posix" or os.getuid() != 0, reason="only root can give a file away")
NOBODY = 65534


def settle(*paths: Path) -> None:
    """Date files and folders a minute back: the cache stores no younger state."""
    past = time.time() - 60
    for path in paths:
        for item in [path, *path.rglob("*")]:
            os.utime(item, (past, past))


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    dist_info(site, "plug-a", "1.0", GYM.format("a-v0 = pkg_a:Env\nAns = pkg_a.reg:register"))
    dist_info(site, "plug-b", "1.0", GYM.format("b-v0 = pkg_b:Env"))
    dist_info(site, "unrelated", "2.0", "[console_scripts]\nx = y:z\n")
    settle(site)
    return site


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GYMPLUG_CACHE_DIR", str(folder))
    monkeypatch.delenv("GYMPLUG_CACHE", raising=False)
    return folder


def ids(path: list, host: str = "gym") -> list[str]:
    return sorted(d.name for d in discover(host, path=path).declarations)


def cache_path(cache_dir: Path) -> Path:
    return Path(_cache.cache_file(Settings.from_environ({"GYMPLUG_CACHE_DIR": str(cache_dir)})))


def discover_in_subprocess(path: list[str], cache_dir: Path, timeout: float = 60, **extra: str) -> list[str]:
    """The gym ids another interpreter discovers on ``path``; a hang fails the test at ``timeout``."""
    code = ("import json; from gymplug import discover; "
            f"print(json.dumps(sorted(d.name for d in discover('gym', path={path!r}).declarations)))")
    proc = run([sys.executable, "-c", code], env={"GYMPLUG_CACHE_DIR": str(cache_dir), **extra}, timeout=timeout)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# 1. A FIFO where the cache file should be.


@posix_only
@pytest.mark.parametrize("owner", ["another user", "the user"])
def test_a_fifo_in_place_of_the_cache_file_does_not_hang_discovery(site, tmp_path, owner):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    fifo = cache_path(cache_dir)
    os.mkfifo(fifo, 0o600)
    if owner == "another user":
        if os.getuid() != 0:
            pytest.skip("only root can give a directory away")
        os.chmod(cache_dir, 0o755)
        os.chown(cache_dir, NOBODY, NOBODY)
        os.chown(fifo, NOBODY, NOBODY)
    assert discover_in_subprocess([str(site)], cache_dir, timeout=30) == IDS  # before the fix: blocked forever
    assert discover_in_subprocess([str(site)], cache_dir, timeout=30) == IDS
    if owner == "the user":  # the FIFO was replaced by a real cache
        assert stat.S_ISREG(os.lstat(fifo).st_mode)
        assert json.loads(fifo.read_text())["format"] == _cache.FORMAT
    else:  # someone else's directory is never written to
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_a_fifo_as_entry_points_txt_does_not_hang_discovery(site, tmp_path):
    folder = dist_info(site, "hostile", "0.1", None)
    os.mkfifo(folder / "entry_points.txt")
    assert discover_in_subprocess([str(site)], tmp_path / "cache", timeout=30) == IDS


@posix_only
def test_a_symlinked_cache_file_is_not_followed(site, cache_dir):
    ids([str(site)])
    real = cache_path(cache_dir)
    data = json.loads(real.read_text())
    (entry,) = data["dirs"].values()
    entry["listing"]["groups"]["gym.envs"] = ["evil-v0\nevil:Env\nenv"] * 3
    forged = cache_dir.parent / "forged.json"
    forged.write_text(json.dumps(data))
    os.chmod(forged, 0o600)
    real.unlink()
    real.symlink_to(forged)
    assert ids([str(site)]) == IDS


# 4. A cache file that is not sensible JSON, or holds what cannot be looked up.


def _forge(cache_dir: Path, change) -> None:
    path = cache_path(cache_dir)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _nul_in_a_folder(data):
    (entry,) = data["dirs"].values()
    folders = entry["listing"]["folders"].split("\n")
    entry["listing"]["folders"] = "\n".join(["plug_a\0-1.0.dist-info", *folders[1:]])


def _nul_in_a_directory(data):
    data["dirs"]["/tmp/with\0nul"] = dict(next(iter(data["dirs"].values())))


@pytest.mark.parametrize(
    "garbage",
    [b"[" * 100_000 + b"]" * 100_000, b'{"format": 2, "dirs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     b'{"format": 2, "dirs": {"/x": {"sig": [1, 2, 3], "stored": NaN, "listing": null}}}', _nul_in_a_folder,
     _nul_in_a_directory],
    ids=["deeply nested", "deeply nested dirs", "NaN", "NUL in a folder", "NUL in a directory key"],
)
def test_a_cache_that_is_not_sensible_is_ignored_and_rebuilt(site, cache_dir, garbage):
    assert ids([str(site)]) == IDS
    path = cache_path(cache_dir)
    if callable(garbage):
        _forge(cache_dir, garbage)
    else:
        path.write_bytes(garbage)
    os.chmod(path, 0o600)
    assert ids([str(site)]) == IDS  # before the fix: RecursionError or ValueError
    data = json.loads(path.read_text())
    assert data["format"] == _cache.FORMAT and list(data["dirs"]) == [str(site)]  # rebuilt, clean
    assert ids([str(site)]) == IDS


# 5, 7. Path entries that are not directories one can stat.


def test_a_deleted_current_directory_is_skipped(site, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    code = textwrap.dedent(f"""
        import json, os, sys
        from gymplug import discover
        os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})
        sys.path[:] = ['', *sys.path, {str(site)!r}]
        print(json.dumps(sorted(d.name for d in discover('gym').declarations)))
    """)
    proc = run([sys.executable, "-c", code], env={"GYMPLUG_CACHE_DIR": str(tmp_path / "cache")}, timeout=60)
    assert set(IDS) <= set(json.loads(proc.stdout.strip().splitlines()[-1]))  # before the fix: FileNotFoundError


def test_entries_that_are_not_str_are_skipped(site, cache_dir):
    assert ids([str(site).encode(), 3, None, Path("/"), str(site)]) == IDS


@posix_only
def test_a_fifo_on_the_path_is_skipped(site, tmp_path):
    fifo = tmp_path / "on-the-path"
    os.mkfifo(fifo)
    assert discover_in_subprocess([str(fifo), str(site)], tmp_path / "cache", timeout=30) == IDS


# 6. Zips on the path.


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_an_unrelated_zip_with_latin1_metadata_loses_no_plugin(site, tmp_path, cache_dir):
    latin = _zip(tmp_path / "latin.zip", {
        "caf\xe9-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: caf\xe9\nVersion: 1.0\n".encode("latin-1"),
        "caf\xe9-1.0.dist-info/entry_points.txt": "[console_scripts]\ncaf\xe9 = x:y\n".encode("latin-1"),
    })
    plugin = _zip(tmp_path / "plugin.zip", {
        "broken-1.0.dist-info/METADATA": b"Name: broken\nVersion: 1.0\n\xff",
        "broken-1.0.dist-info/entry_points.txt": b"[gym.envs]\n\xff-v0 = m:E\n",
        "zipped-2.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: zipped\nVersion: 2.0\n",
        "zipped-2.0.dist-info/entry_points.txt": b"[gym.envs]\nzipped-v0 = zipped.envs:Env\n",
    })
    not_a_zip = tmp_path / "not-a.zip"
    not_a_zip.write_bytes(b"PK\x03\x04 truncated")
    found = discover("gym", path=[str(latin), str(not_a_zip), str(plugin), str(site)])
    assert sorted(d.name for d in found.declarations) == sorted([*IDS, "zipped-v0"])  # before: UnicodeDecodeError
    assert [(p.dist.name, p.group) for p in found.problems] == [("broken", "gym.envs")]
    assert discover("gymnasium", path=[str(latin), str(plugin)]).problems == ()  # it mentions gym.envs only


# 10. Values written with spaces around ':'.


def test_a_value_with_spaces_around_the_colon_is_normalized_as_importlib_does(tmp_path, cache_dir):
    from importlib import metadata

    site = tmp_path / "site"
    dist_info(site, "spst", "1.0", "[gym.envs]\nspst-v0 = spst.envs : Env\nSp = spst.reg  :  register\n")
    settle(site)
    cold = discover("gym", path=[str(site)]).declarations
    (dist,) = metadata.distributions(path=[str(site)])
    expected = {ep.name: f"{ep.module}:{ep.attr}" for ep in dist.entry_points}
    assert {d.name: d.value for d in cold} == expected == {"spst-v0": "spst.envs:Env", "Sp": "spst.reg:register"}
    rows = json.loads(cache_path(cache_dir).read_text())["dirs"][str(site)]["listing"]["groups"]["gym.envs"]
    assert rows == ["spst-v0\nspst.envs:Env\nenv\nSp\nspst.reg:register\nplugin"]  # the cache stores them normalized
    assert discover("gym", path=[str(site)]).declarations == cold


# '[[group]]' is a section header to importlib, so it is one to gymplug.


@pytest.mark.parametrize("header", ["[[gym.envs]]", "[gym.envs]]", "  [gym.envs]  ", "[ gym.envs ]"])
def test_section_headers_are_read_as_importlib_reads_them(tmp_path, cache_dir, header):
    from importlib import metadata

    site = tmp_path / "site"
    dist_info(site, "hdr", "1.0", f"{header}\nh-v0 = m:E\n")
    expected = sorted(ep.name for ep in metadata.distributions(path=[str(site)]).__next__().entry_points
                      if ep.group == "gym.envs")
    assert ids([str(site)]) == expected


# Unreadable and undecodable entry_points.txt of distributions that may or may not be plugins.


def test_only_a_file_that_may_declare_for_a_group_is_reported_in_it(tmp_path, cache_dir):
    site = tmp_path / "site"
    dist_info(site, "latin-unrelated", "1.0", "[console_scripts]\ncaf\xe9 = x:y\n".encode("latin-1"))
    dist_info(site, "latin-gym", "1.0", "[gym.envs]\ncaf\xe9-v0 = x:y\n".encode("latin-1"))
    (dist_info(site, "unreadable", "1.0", None) / "entry_points.txt").mkdir()  # cannot be read, so not checked
    reported = {host: sorted(p.dist.name for p in discover(host, path=[str(site)]).problems)
                for host in ("gym", "gymnasium")}
    assert reported == {"gym": ["latin-gym", "unreadable"], "gymnasium": ["unreadable"]}
    assert all("unreadable" in p.reason for p in discover("gym", path=[str(site)]).problems)


# Cache rough edges.


def test_a_rewrite_in_place_with_the_same_size_and_a_restored_mtime_is_seen(site, cache_dir):
    assert ids([str(site)]) == IDS
    file = site / "plug_b-1.0.dist-info" / "entry_points.txt"
    before = file.stat()
    file.write_text(file.read_text().replace("b-v0", "q-v0"))  # same size, same inode
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (file.stat().st_size, file.stat().st_ino) == (before.st_size, before.st_ino)
    assert ids([str(site)]) == ["Ans", "a-v0", "q-v0"]


def test_a_path_of_many_directories_is_stored_whole_and_not_rewritten(tmp_path, cache_dir):
    path = []
    for index in range(70):
        folder = tmp_path / f"dir{index}"
        dist_info(folder, f"plug{index}", "1.0", GYM.format(f"e{index}-v0 = m:E"))
        path.append(str(folder))
    settle(tmp_path)
    assert len(ids(path)) == 70
    before = os.stat(cache_path(cache_dir))
    assert len(ids(path)) == 70
    after = os.stat(cache_path(cache_dir))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert len(json.loads(cache_path(cache_dir).read_text())["dirs"]) == 70


def test_stale_temporary_files_of_killed_writers_are_removed(site, cache_dir):
    cache_dir.mkdir(mode=0o700)
    stale, fresh = cache_dir / ".discovery-killed-abc.tmp", cache_dir / ".discovery-writing-def.tmp"
    stale.write_text("{")
    fresh.write_text("{")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert ids([str(site)]) == IDS  # writes the cache
    assert not stale.exists() and fresh.exists()  # a writer may still be busy with a fresh one


def test_a_relative_or_tilde_cache_location_writes_nothing_under_the_current_directory(site, tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    code = f"from gymplug import discover; print(len(discover('gym', path=[{str(site)!r}]).declarations))"
    for variables in ({"GYMPLUG_CACHE_DIR": "relative/cache"}, {"GYMPLUG_CACHE_DIR": "~/cache"},
                      {"XDG_CACHE_HOME": "relative"}, {"XDG_CACHE_HOME": "~/xdg"}):
        env = {k: v for k, v in clean_env().items() if k not in ("GYMPLUG_CACHE_DIR", "XDG_CACHE_HOME")}
        env.update(variables, HOME=str(home))
        proc = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
                              timeout=60, check=True)
        assert proc.stdout.strip() == "3"
        assert list(work.iterdir()) == [], variables
    assert [p.name.startswith("discovery-") for p in (home / ".cache" / "gymplug").iterdir()] == [True]


# The doctor's helper: GYMPLUG_DISABLE values that name nothing installed.


def test_disable_values_that_match_no_distribution_are_found(site, cache_dir):
    from gymplug._discovery import unmatched_disable_values

    found = discover("gym", path=[str(site)])
    assert found.seen == {"plug-a", "plug-b", "unrelated"}
    settings = Settings.from_environ({"GYMPLUG_DISABLE": "Plug_A plug-a;plug-b gym\u2010foo, UNRELATED"})
    assert unmatched_disable_values(settings, found.seen) == ("plug-a;plug-b", "gym\u2010foo")
    assert unmatched_disable_values(settings, [d.dist for d in found.declarations]) == (
        "plug-a;plug-b", "gym\u2010foo", "UNRELATED")


# Many processes at once on an empty cache.


def test_fifty_processes_starting_together_agree_and_leave_a_valid_cache(site, tmp_path):
    cache_dir = tmp_path / "cache"
    code = ("import json; from gymplug import discover; "
            f"print(json.dumps([[str(x) for x in d] for d in discover('gym', path=[{str(site)!r}]).declarations]))")
    env = clean_env({"GYMPLUG_CACHE_DIR": str(cache_dir)})
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=NEUTRAL_CWD, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(50)]
    deadline = time.monotonic() + 45
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert proc.returncode == 0, err
            outputs.append(out.strip())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert len(set(outputs)) == 1 and len(json.loads(outputs[0])) == 3
    (cache_file,) = cache_dir.iterdir()  # one file, no temporary left over
    data = json.loads(cache_file.read_text())
    assert data["format"] == _cache.FORMAT and list(data["dirs"]) == [str(site)]
    assert _cache.Listing.decode(data["dirs"][str(site)]["listing"]) is not None
