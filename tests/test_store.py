"""The learned store on real files: what holds, what is retried, what is never believed, and its lock."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from gymplug import _locks
from gymplug._entries import Declaration, Distribution, Form
from gymplug._learning import _store
from gymplug._learning._children import Learned
from gymplug._learning._sources import Source
from gymplug._settings import Settings

HOST = "gymnasium"
SOURCE = Source("dup-pkg", "1.0", ("dup_pkg",), (1, 2, 3, 4, 5, 6, 7, 8), "/project-a/venv/dup_pkg-1.0.dist-info",
                (("numpy", "1.26.4"), ("shimmy", "")))
SPEC = {"entry_point": "dup_pkg.envs:Dup", "max_episode_steps": 200, "kwargs": {"size": [3, 4], "mode": None}}


def learned(source: Source = SOURCE, **fields: Any) -> Learned:
    values: dict[str, Any] = {
        "dist": source.key, "version": source.version, "signature": source.signature, "ids": ("Dup-v0", "Dup-v1"),
        "error": None, "seconds": 0.25, "specs": {"Dup-v0": SPEC}, "modules": ("dup_pkg",),
    }
    values.update(fields)
    return Learned(**values)


def no_nan(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} written into the store")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_environ({"GYMPLUG_CACHE_DIR": str(tmp_path / "cache")})


@pytest.fixture
def path(settings: Settings) -> Path:
    found = _store.store_file(settings)
    assert found is not None
    return Path(found)


def saved(path: Path, *items: tuple[Source, Learned], host: str = HOST) -> _store.LearnedStore:
    store = _store.LearnedStore(str(path))
    for source, item in items:
        store.put(host, source, item)
    assert store.save() is True
    return _store.LearnedStore(str(path))  # read back from the file


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(data))  # NaN and Infinity as Python writes them
    os.chmod(path, 0o600)


# What holds, what is retried.


def test_an_entry_holds_while_version_signature_folder_and_depends_are_the_sources(path: Path) -> None:
    store = saved(path, (SOURCE, learned()))
    item = store.get(HOST, SOURCE)
    assert item is not None and (item.ids, item.specs, item.modules, item.seconds) == (
        ("Dup-v0", "Dup-v1"), {"Dup-v0": SPEC}, ("dup_pkg",), 0.25)
    assert store.get("gym", SOURCE) is None
    for change in ({"version": "1.1"}, {"signature": (0,) * 8}, {"folder": "/elsewhere/dup_pkg-1.0.dist-info"},
                   {"depends": (("numpy", "2.0.0"), ("shimmy", ""))},
                   {"depends": (("numpy", "1.26.4"), ("shimmy", "1.3.0"))}):  # `pip install shimmy[...]` added one
        assert store.get(HOST, SOURCE._replace(**change)) is None, change
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_two_projects_sharing_a_venv_each_keep_their_own_copy(path: Path) -> None:
    other = SOURCE._replace(folder="/project-b/site/dup_pkg-1.0.dist-info", signature=(9,) * 8)
    store = saved(path, (SOURCE, learned()), (other, learned(other, ids=("DupB-v0",), specs={})))
    first, second = store.get(HOST, SOURCE), store.get(HOST, other)
    assert first is not None and first.ids == ("Dup-v0", "Dup-v1")
    assert second is not None and second.ids == ("DupB-v0",)


def test_a_failure_is_retried_after_a_while_a_success_is_not(path: Path) -> None:
    failed = SOURCE._replace(key="failing")
    store = saved(path, (failed, learned(failed, ids=(), specs={}, error="ImportError: no module named packaging")),
                  (SOURCE, learned()))
    ((_, _, stored), _) = sorted(store.entries(HOST), key=lambda e: e[0] != "failing")
    assert store.get(HOST, failed, now=stored + 5) is not None
    assert store.get(HOST, failed, now=stored + _store.RETRY_SECONDS + 1) is None
    assert store.get(HOST, failed, now=stored - _store.RETRY_SECONDS - 1) is None  # stored "in the future": a lie
    assert store.get(HOST, SOURCE, now=stored + 100 * _store.RETRY_SECONDS) is not None


def test_a_transient_result_is_never_stored(path: Path) -> None:
    store = _store.LearnedStore(str(path))
    store.put(HOST, SOURCE, learned(ids=(), specs={}, error="timed out after 20 s importing dup_pkg", transient=True))
    store.save()
    assert _store.LearnedStore(str(path)).get(HOST, SOURCE) is None


def test_entries_and_forget_serve_doctor_list_and_index_refresh(path: Path) -> None:
    hint = Source("dup-pkg#Ns", "1.0", (), (1, 2, 3, 4), "")
    other = Source("other", "2.0", ("other",), (0,) * 8, "/venv/other-2.0.dist-info")
    store = saved(path, (SOURCE, learned()), (hint, learned(hint, specs={}, modules=())),
                  (other, learned(other, specs={})))
    assert [key for key, _, _ in store.entries(HOST)] == ["dup-pkg", "dup-pkg#Ns", "other"]
    assert all(isinstance(item, Learned) and math.isfinite(stored) for _, item, stored in store.entries(HOST))
    store.forget(HOST, keys=["Dup_Pkg"])  # normalized; its registration plugins' entries go too
    assert [key for key, _, _ in store.entries(HOST)] == ["other"]
    assert store.save() is True
    assert [key for key, _, _ in _store.LearnedStore(str(path)).entries(HOST)] == ["other"]
    store.forget()
    assert store.entries(HOST) == []


def test_invalidate_forgets_the_named_distributions_or_everything(settings: Settings, path: Path) -> None:
    other = Source("other", "2.0", ("other",), (0,) * 8, "/venv/other-2.0.dist-info")
    saved(path, (SOURCE, learned()), (other, learned(other, specs={})))
    _store.invalidate(settings, keys=["dup-pkg"])
    assert [key for key, _, _ in _store.LearnedStore(str(path)).entries(HOST)] == ["other"]
    _store.invalidate(settings)
    assert not path.exists()
    _store.invalidate(settings)  # nothing to remove is fine


# Every field checked (B10), as the discovery cache checks its file.


def good_entry(path: Path) -> dict[str, Any]:
    saved(path, (SOURCE, learned()))
    return json.loads(path.read_text())["hosts"][HOST][SOURCE.key][SOURCE.folder]


DAMAGES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "nothing": lambda e: None,
    "version not a str": lambda e: e.update(version=1.0),
    "signature of str": lambda e: e.update(signature=["1"] * 8),
    "signature int beyond any stat": lambda e: e.update(signature=[10**30] * 8),
    "depends not pairs": lambda e: e.update(depends=[["numpy"]]),
    "an id not a str": lambda e: e.update(ids=["Dup-v0", 3]),
    "an empty id": lambda e: e.update(ids=[""]),
    "an id too long": lambda e: e.update(ids=["x" * 5000]),
    "error not a str": lambda e: e.update(error=["boom"]),
    "seconds NaN": lambda e: e.update(seconds=float("nan")),
    "seconds Infinity": lambda e: e.update(seconds=float("inf")),
    "seconds negative": lambda e: e.update(seconds=-1),
    "seconds a bool": lambda e: e.update(seconds=True),
    "stored not a number": lambda e: e.update(stored="x"),
    "stored NaN": lambda e: e.update(stored=float("nan")),
    "stored missing": lambda e: e.pop("stored"),
    "specs not a dict": lambda e: e.update(specs=[]),
    "a spec of an id it does not have": lambda e: e["specs"].update({"Other-v0": SPEC}),
    "a spec without an entry point": lambda e: e["specs"].update({"Dup-v1": {"max_episode_steps": 3}}),
    "a spec with a NaN": lambda e: e["specs"]["Dup-v0"].update(reward_threshold=float("nan")),
    "a spec field that is no name": lambda e: e["specs"]["Dup-v0"].update({"a b": 1}),
    "a spec nested too deep": lambda e: e["specs"]["Dup-v0"].update(kwargs=json.loads("[" * 30 + "]" * 30)),
    "a spec too large": lambda e: e["specs"]["Dup-v0"].update(kwargs={"grid": list(range(20_000))}),
    "a module that is no module name": lambda e: e.update(modules=["dup_pkg; import os"]),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_an_entry_with_any_field_of_the_wrong_shape_is_not_believed(path: Path, damage: str) -> None:
    entry = good_entry(path)
    DAMAGES[damage](entry)
    write(path, {"format": _store.FORMAT, "hosts": {HOST: {SOURCE.key: {SOURCE.folder: entry}}}})
    store = _store.LearnedStore(str(path))
    if damage == "nothing":  # the control: the hand-written file is believed, so the refusals below are real
        assert store.get(HOST, SOURCE) is not None and len(store.entries(HOST)) == 1
        return
    assert store.get(HOST, SOURCE) is None and store.entries(HOST) == []
    other = SOURCE._replace(key="other")
    store.put(HOST, other, learned(other))
    assert store.save() is True
    data = no_nan(path.read_text())  # rewritten without it
    assert list(data["hosts"][HOST]) == ["other"]


@pytest.mark.parametrize("shape", [[], {"format": 1, "hosts": {}}, {"format": 2, "hosts": []},
                                   {"format": 2, "hosts": {HOST: []}}, {"format": 2, "hosts": {HOST: {"a": []}}},
                                   {"format": 2, "hosts": {HOST: {"a": {"/f": "entry"}}}}])
def test_a_file_of_the_wrong_shape_reads_as_empty(path: Path, shape: Any) -> None:
    write(path, shape)
    store = _store.LearnedStore(str(path))
    assert store.entries(HOST) == [] and store.get(HOST, SOURCE) is None
    store.put(HOST, SOURCE, learned())
    assert store.save() is True and _store.LearnedStore(str(path)).get(HOST, SOURCE) is not None


def test_more_than_4096_hand_edited_entries_never_raise(path: Path) -> None:
    # B10: one non-numeric `stored` among more than 4,096 entries made every make() raise TypeError.
    entry = good_entry(path)
    folders = {f"/venv/ghost{i}.dist-info": dict(entry, stored=("x" if i == 7 else 1000.0 + i)) for i in range(4100)}
    folders["/venv/nan.dist-info"] = dict(entry, seconds=float("nan"))
    write(path, {"format": _store.FORMAT, "hosts": {HOST: {SOURCE.key: folders}}})
    store = _store.LearnedStore(str(path))
    new = SOURCE._replace(key="new-pkg", folder="/venv/new_pkg-1.0.dist-info")
    store.put(HOST, new, learned(new))
    assert store.save() is True
    data = no_nan(path.read_text())
    kept = data["hosts"][HOST]
    assert sum(len(f) for f in kept.values()) == 4096 and "new-pkg" in kept
    ghosts = kept[SOURCE.key]
    assert "/venv/ghost7.dist-info" not in ghosts and "/venv/nan.dist-info" not in ghosts
    assert "/venv/ghost4099.dist-info" in ghosts and "/venv/ghost3.dist-info" not in ghosts  # the oldest went
    assert _store.LearnedStore(str(path)).get(HOST, new) is not None


def test_what_put_keeps_is_always_what_a_reader_accepts(path: Path) -> None:
    specs = {
        "Dup-v0": {"entry_point": "dup_pkg:Env", "kwargs": {"at": (1, 2)}},  # a tuple is not plain data
        "Dup-v1": {"entry_point": "dup_pkg:Env", "reward_threshold": float("nan")},
        "Dup-v2": {"entry_point": "dup_pkg:Env", "kwargs": {"obj": object()}},
        "Dup-v3": dict(SPEC),
        "Nope-v0": dict(SPEC),  # not one of its ids
    }
    item = learned(ids=("Dup-v0", "Dup-v1", "Dup-v2", "Dup-v3"), specs=specs, seconds=float("inf"))
    kept = saved(path, (SOURCE, item)).get(HOST, SOURCE)
    assert kept is not None and kept.ids == item.ids and set(kept.specs) == {"Dup-v3"} and kept.seconds == 0.0
    no_nan(path.read_text())
    huge = saved(path, (SOURCE, learned(ids=("x" * 5000,), specs={}))).get(HOST, SOURCE)
    assert huge is not None and huge.ids == () and "more than gymplug keeps" in str(huge.error)


# Whether results can be kept, and saying why not.


@pytest.mark.skipif(os.name != "posix", reason="ownership and modes are POSIX")
@pytest.mark.parametrize("case", ["kept", "cache off", "world-writable dir", "group-writable dir", "read-only dir",
                                  "store is a directory", "cache dir under a file", "another user's dir"])
def test_unkept_reason_says_why_nothing_can_be_kept(tmp_path: Path, case: str) -> None:
    cache = tmp_path / "cache"
    environ = {"GYMPLUG_CACHE_DIR": str(cache)}
    if case == "cache off":
        environ["GYMPLUG_CACHE"] = "0"
    elif case == "cache dir under a file":
        (tmp_path / "a-file").write_text("")
        environ["GYMPLUG_CACHE_DIR"] = str(tmp_path / "a-file" / "cache")
    elif case != "kept":
        cache.mkdir(mode=0o700)
    settings = Settings.from_environ(environ)
    store_path = _store.store_file(settings)
    if case in ("world-writable dir", "group-writable dir"):
        os.chmod(cache, 0o1777 if case == "world-writable dir" else 0o770)
    elif case == "read-only dir":
        if os.getuid() == 0:
            pytest.skip("root writes into a read-only directory")
        os.chmod(cache, 0o500)
    elif case == "store is a directory":
        assert store_path is not None
        os.mkdir(store_path)
    elif case == "another user's dir":
        if os.getuid() != 0:
            pytest.skip("only root can give a directory away")
        os.chown(cache, 65534, 65534)
    reason = _store.unkept_reason(settings)
    store = _store.LearnedStore(store_path)
    store.put(HOST, SOURCE, learned())
    kept = store.save()
    if case == "kept":
        assert reason is None and kept is True
        return
    expected = {"cache off": "GYMPLUG_CACHE=0", "world-writable dir": "others can write",
                "group-writable dir": "others can write", "read-only dir": "read-only",
                "store is a directory": "is a directory", "cache dir under a file": "a-file",
                "another user's dir": "not the user's own"}[case]
    assert reason is not None and expected in reason, reason
    assert kept is False  # the reason is true: the write fails
    if os.path.isdir(cache):
        os.chmod(cache, 0o700)


@pytest.mark.skipif(_locks.fcntl is None, reason="no fcntl: no lock")
@pytest.mark.skipif(os.name != "posix", reason="modes are POSIX")
def test_the_store_lock_is_never_created_in_a_world_writable_directory(tmp_path: Path) -> None:
    # B11: learned-<hash>.lock was created in a 1777 cache directory.
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    store_path = _store.store_file(Settings.from_environ({"GYMPLUG_CACHE_DIR": str(shared)}))
    with _store.Lock(store_path, time.monotonic() + 1) as lock:
        assert lock.held is None
    assert list(shared.iterdir()) == []


# Form B hints (B18).


def declaration(name: str = "Ns") -> Declaration:
    return Declaration(Distribution("gp-hinted", "1.0"), "gymnasium.envs", name, "gp_hinted:register", Form.PLUGIN)


def hints(settings: Settings) -> _store.PluginHints:
    return _store.PluginHints(HOST, {"gp-hinted": (1, 2, 3, 4)}, settings)


def test_a_hint_is_recorded_and_read_back(settings: Settings) -> None:
    hints(settings).record(declaration(), ["Ns/A-v0", "Ns/B-v0"], 0.01)
    assert hints(settings).ids(declaration()) == ("Ns/A-v0", "Ns/B-v0")
    assert hints(settings).ids(declaration("Other")) is None
    assert hints(settings._replace(learn=False)).ids(declaration()) is None


def test_recording_never_waits_for_the_lock(settings: Settings, path: Path) -> None:
    # B18: every Form B load waited up to 5 s while another process held the lock.
    with _store.Lock(str(path), time.monotonic()) as other:
        assert other.held is True
        releaser = threading.Timer(1.0, other.__exit__, (None, None, None))  # a waiter would get it then
        releaser.start()
        hints(settings).record(declaration(), ["Ns/A-v0"], 0.01)
        releaser.join(10)
    assert hints(settings).ids(declaration()) is None  # skipped at once, not written after a wait
    hints(settings).record(declaration(), ["Ns/A-v0"], 0.01)
    assert hints(settings).ids(declaration()) == ("Ns/A-v0",)


def test_recording_what_is_already_stored_writes_nothing(settings: Settings, path: Path) -> None:
    hints(settings).record(declaration(), ["Ns/A-v0"], 0.01)
    before = path.stat()
    lock_file = path.with_suffix(".lock")
    lock_file.unlink()
    recorder = hints(settings)
    recorder.record(declaration(), ["Ns/A-v0"], 0.02)
    assert not lock_file.exists()  # nothing new: not even the lock is tried
    with _store.Lock(str(path), time.monotonic()) as other:  # and without even trying the lock
        assert other.held is True
        recorder.record(declaration(), ["Ns/A-v0"], 0.03)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    recorder.record(declaration(), ["Ns/A-v0", "Ns/C-v0"], 0.01)  # something new is written
    assert path.stat().st_ino != before.st_ino and hints(settings).ids(declaration()) == ("Ns/A-v0", "Ns/C-v0")


def test_known_reads_a_store_once_while_its_file_is_the_same(settings: Settings, path: Path) -> None:
    """One lookup asks the store several times: a settled, unchanged file is decoded once, and any write (by
    this process or another, a rename or in place) is read again; a file younger than 2 s is read each time."""
    saved(path, (SOURCE, learned()))
    assert _store.known(HOST, [SOURCE], settings)["dup-pkg"].ids == ("Dup-v0", "Dup-v1")
    assert _store._snapshot(str(path)) is not _store._snapshot(str(path))  # young: two writes could stat alike
    time.sleep(2.1)  # bounded: the state settles
    assert _store._snapshot(str(path)) is _store._snapshot(str(path))
    before = _store._snapshot(str(path))
    saved(path, (SOURCE, learned(ids=("Dup-v2",))))  # another store's save: a new file
    assert _store._snapshot(str(path)) is not before
    assert _store.known(HOST, [SOURCE], settings)["dup-pkg"].ids == ("Dup-v2",)
    time.sleep(2.1)
    assert _store.known(HOST, [SOURCE], settings)["dup-pkg"].ids == ("Dup-v2",)  # kept as a settled snapshot
    with open(path, "r+", encoding="utf-8") as file:  # in place, the same size
        text = file.read()
        file.seek(0)
        file.write(text.replace("Dup-v2", "Dup-v3"))
    assert _store.known(HOST, [SOURCE], settings)["dup-pkg"].ids == ("Dup-v3",)
    path.unlink()
    assert _store.known(HOST, [SOURCE], settings) == {}
