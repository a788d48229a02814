"""The learned store in-process: validation, the lock's bounded wait, learning off (no child is started)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import HOST

from gymplug import _locks
from gymplug._learning import _learn, _store
from gymplug._learning._children import Learned
from gymplug._settings import Settings
from gymplug._learning._sources import Source

SOURCE = Source("probe", "1.0", ("probe",), (1, 2, 3, 4, 5, 6, 7, 8), "nowhere")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_environ({"GYMPLUG_CACHE_DIR": str(tmp_path / "cache")})


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list:
    """Stands in for learn_many: records what would be learned, starts no process."""
    calls: list = []

    def fake(host: str, jobs: list, *, deadline: float, timeout: float, path: Any = None, stream: Any = None,
             stop_when: Any = None) -> list:
        calls.append([job.source.key for job in jobs])
        return [Learned(j.source.key, j.source.version, j.source.signature, ("Probe-v0",), None, 0.1) for j in jobs]

    monkeypatch.setattr(_learn, "learn_many", fake)
    return calls


def test_learned_once_then_known_while_version_and_signature_hold(settings: Settings, children: list) -> None:
    assert _learn.learn_missing("gymnasium", [SOURCE], settings)["probe"].ids == ("Probe-v0",)
    assert _learn.learn_missing("gymnasium", [SOURCE], settings)["probe"].ids == ("Probe-v0",)
    assert children == [["probe"]]
    assert _store.known("gymnasium", [SOURCE], settings)["probe"].signature == SOURCE.signature
    assert _store.known("gym", [SOURCE], settings) == {}
    assert _store.known("gymnasium", [SOURCE._replace(version="2.0")], settings) == {}
    assert _store.known("gymnasium", [SOURCE._replace(signature=(0,) * 8)], settings) == {}
    path = _store.store_file(settings)
    assert path is not None and os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700


def test_two_projects_sharing_a_venv_do_not_learn_again_on_every_run(settings: Settings, children: list) -> None:
    # Each project has its own copy of probe 1.0: the store keeps an entry per metadata folder.
    other = SOURCE._replace(folder="elsewhere", signature=(9,) * 8)
    for _ in range(3):
        assert _learn.learn_missing("gymnasium", [SOURCE], settings)["probe"].ids == ("Probe-v0",)
        assert _learn.learn_missing("gymnasium", [other], settings)["probe"].ids == ("Probe-v0",)
    assert children == [["probe"], ["probe"]]


@pytest.mark.skipif(os.name != "posix", reason="modes are POSIX")
def test_learning_writes_nothing_into_a_cache_directory_others_can_write(tmp_path: Path, children: list) -> None:
    # B11: the lock file was created there (the store itself was not).
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    settings = Settings.from_environ({"GYMPLUG_CACHE_DIR": str(shared)})
    assert _learn.learn_missing("gymnasium", [SOURCE], settings)["probe"].ids == ("Probe-v0",)
    assert list(shared.iterdir()) == []
    assert "others can write" in str(_store.unkept_reason(settings))


def test_learning_off_and_disabled_sources_start_nothing(settings: Settings, children: list) -> None:
    assert _learn.learn_missing("gymnasium", [SOURCE], settings._replace(learn=False)) == {}
    assert _learn.learn_missing("gymnasium", [SOURCE], settings._replace(disable=frozenset({"probe"}))) == {}
    assert children == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"[]",
        b"{\"format\": 1, \"hosts\": []}",
        b"{\"format\": 2, \"hosts\": {}}",
        b"[" * 100000,
        json.dumps({"format": 1, "hosts": {"gymnasium": {"probe": {"version": "1.0", "ids": 3}}}}).encode(),
    ],
)
def test_a_malformed_store_reads_as_empty_and_is_rebuilt(settings: Settings, children: list, content: bytes) -> None:
    path = _store.store_file(settings)
    assert path is not None
    os.makedirs(os.path.dirname(path), mode=0o700)
    Path(path).write_bytes(content)
    os.chmod(path, 0o600)
    assert _store.known("gymnasium", [SOURCE], settings) == {}
    _learn.learn_missing("gymnasium", [SOURCE], settings)
    assert json.loads(Path(path).read_text())["hosts"]["gymnasium"]["probe"][SOURCE.folder]["ids"] == ["Probe-v0"]


@pytest.mark.skipif(_locks.fcntl is None, reason="no fcntl: no lock")
def test_a_held_lock_is_waited_for_briefly_then_nothing_is_learned(settings: Settings, children: list) -> None:
    path = _store.store_file(settings)
    assert path is not None
    with _store.Lock(path, 1.0) as holder:
        assert holder.held is True
        started = time.monotonic()
        assert _learn.learn_missing("gymnasium", [SOURCE], settings, deadline=time.monotonic() + 0.3) == {}
        assert 0.25 < time.monotonic() - started < 5
    assert children == []
    assert _learn.learn_missing("gymnasium", [SOURCE], settings)["probe"].ids == ("Probe-v0",)


def test_without_a_cache_it_learns_and_keeps_nothing(children: list) -> None:
    settings = Settings.from_environ({"GYMPLUG_CACHE": "0"})
    assert _store.store_file(settings) is None
    _learn.learn_missing("gymnasium", [SOURCE], settings)
    _learn.learn_missing("gymnasium", [SOURCE], settings)
    assert children == [["probe"], ["probe"]]

