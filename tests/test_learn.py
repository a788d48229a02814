"""Learning against real installs: register-on-import distributions, learned in children, stored once."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from helpers import HOST, Venv, clean_env

pytestmark = pytest.mark.integration

MODULES = {
    "gp-learn-root": "gp_learn_root",
    "gp-learn-namespaced": "gp_learn_ns",
    "gp-learn-slow": "gp_learn_slow",
    "gp-learn-fails": "gp_learn_fails",
    "gp-learn-noisy": "gp_learn_noisy",
    "gp-learn-thread": "gp_learn_thread",
    "gp-learn-versions": "gp_learn_versions",
}
# Prints one JSON line: the sources found, what learn_missing returned, which fixture modules this process imported.
DRIVE = """
import json, sys
from gymplug._learning import _learn, _sources, _store
skip = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else set()
sources = [s for s in _sources.find_sources({host!r}, sys.path)[0] if s.key.startswith("gp-learn-") and s.key not in skip]
seen = {{}}  # what this round learned, timeouts included (they are not kept, so learn_missing leaves them out)
found = _learn.learn_missing({host!r}, sources, timeout=float(sys.argv[1]), deadline=__import__("time").monotonic() + 120,
                             on_result=lambda source, item: seen.__setitem__(source.key, item))
found = {{**seen, **found}}
print(json.dumps({{
    "sources": {{s.key: list(s.modules) for s in sources}},
    "learned": {{k: {{"ids": list(v.ids), "error": v.error, "seconds": v.seconds}} for k, v in found.items()}},
    "imported": sorted(m for m in sys.modules if m.startswith("gp_learn")),
    "store": _store.store_file(),
}}))
""".format(host=HOST)


@pytest.fixture(scope="module")
def learn_venv(tmp_path_factory: pytest.TempPathFactory, learn_wheels: Path) -> Venv:
    env = Venv.create(tmp_path_factory.mktemp("learn-venv") / "env")
    env.install_host()
    names = [n for n in MODULES if n != "gp-learn-versions"] + ["gp-learn-versions==1.0.0"]
    env.install_wheels(learn_wheels, ["gymplug", "gp-fixture-base", "gp-learn-base", *names])
    return env


class Run:
    """One driver process's output, decoded."""

    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        if proc.returncode != 0:
            raise AssertionError(f"driver failed ({proc.returncode})\n{proc.stdout}\n{proc.stderr}")
        lines = proc.stdout.splitlines()
        assert len(lines) == 1, f"the imported code's output leaked to the parent:\n{proc.stdout[:2000]}"
        self.data: dict[str, Any] = json.loads(lines[0])
        self.stderr = proc.stderr

    def ids(self, dist: str) -> list[str]:
        return self.data["learned"][dist]["ids"]

    def error(self, dist: str) -> Any:
        return self.data["learned"][dist]["error"]


def drive_cmd(env: Venv, timeout: float, skip: tuple[str, ...] = ()) -> list[str]:
    return [str(env.python), "-c", DRIVE, str(timeout), ",".join(skip)]


def drive(env: Venv, store: Path, canary: Path, timeout: float = 3.0, skip: tuple[str, ...] = ()) -> Run:
    extra = {"GYMPLUG_CACHE_DIR": str(store), "GYMPLUG_CANARY": str(canary), "GP_LEARN_SLOW_SECONDS": "30"}
    cmd = drive_cmd(env, timeout, skip)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(extra), timeout=240)
    return Run(proc)


def imports(canary: Path) -> Counter:
    return Counter(canary.read_text().split()) if canary.exists() else Counter()


def test_each_source_is_learned_in_a_child_and_then_read_from_the_store(learn_venv: Venv, tmp_path: Path) -> None:
    store, canary = tmp_path / "store", tmp_path / "canary.log"
    first = drive(learn_venv, store, canary)
    assert set(first.data["sources"]) == set(MODULES)  # not gp-learn-base, gp-fixture-base, gymplug
    assert first.data["sources"]["gp-learn-namespaced"] == ["gp_learn_ns"]
    assert first.data["imported"] == []  # the parent never imported a fixture module
    assert first.ids("gp-learn-root") == ["LearnRoot-v0", "LearnRoot-v1"]
    assert first.ids("gp-learn-namespaced") == ["Learn/Grid-v0", "Learn/Maze-v2"]
    assert first.ids("gp-learn-noisy") == ["LearnNoisy-v0"]  # the fake report printed by the module is ignored
    assert first.ids("gp-learn-thread") == ["LearnThread-v0"]
    assert first.data["learned"]["gp-learn-thread"]["seconds"] < 20  # its thread did not hold the child
    assert first.ids("gp-learn-versions") in (["LearnVer/A-v0"], ["LearnVer/B-v0"])
    for dist in ("gp-learn-root", "gp-learn-namespaced", "gp-learn-noisy", "gp-learn-thread"):
        assert first.error(dist) is None
    assert first.ids("gp-learn-fails") == ["LearnFails-v0"]
    assert first.error("gp-learn-fails") == "import gp_learn_fails: RuntimeError: gp_learn_fails refuses to import"
    assert first.ids("gp-learn-slow") == []
    assert first.error("gp-learn-slow") == "timed out after 3 s importing gp_learn_slow"
    assert "\n" not in first.error("gp-learn-slow")
    announce = [line for line in first.stderr.splitlines() if line.startswith("gymplug: learning")]
    assert announce == ["gymplug: learning which environments 7 installed packages provide (once) ..."]
    assert "noisy" not in first.stderr  # the children's output is captured, not passed on
    seen = imports(canary)
    assert "gp_learn_slow:start" in seen and "gp_learn_slow" not in seen  # killed in its sleep
    assert all(seen[module] == 1 for dist, module in MODULES.items() if dist != "gp-learn-slow")

    second = drive(learn_venv, store, canary)
    kept = {dist: item for dist, item in first.data["learned"].items() if dist != "gp-learn-slow"}
    assert {dist: second.data["learned"][dist] for dist in kept} == kept  # from the store
    assert second.error("gp-learn-slow") == "timed out after 3 s importing gp_learn_slow"  # a timeout is not kept
    again = imports(canary)
    assert again["gp_learn_slow:start"] == seen["gp_learn_slow:start"] + 1  # the one child: the slow source again
    assert again - Counter({"gp_learn_slow:start": 1}) == seen


def test_learning_off_reads_the_store_only(learn_venv: Venv, tmp_path: Path) -> None:
    store, canary = tmp_path / "store", tmp_path / "canary.log"
    extra = {"GYMPLUG_CACHE_DIR": str(store), "GYMPLUG_CANARY": str(canary), "GYMPLUG_LEARN": "0"}
    proc = subprocess.run(drive_cmd(learn_venv, 3.0), capture_output=True, text=True, env=clean_env(extra), timeout=240)
    assert Run(proc).data["learned"] == {}
    assert imports(canary) == Counter()


def test_an_upgrade_or_a_reinstall_invalidates(learn_venv: Venv, learn_wheels: Path, tmp_path: Path) -> None:
    store, canary = tmp_path / "store", tmp_path / "canary.log"
    skip = tuple(d for d in MODULES if d != "gp-learn-versions")
    reinstall = ("install", "--no-index", "--no-deps", "--force-reinstall", "--find-links", learn_wheels)
    learn_venv.pip(*reinstall, "gp-learn-versions==1.0.0")
    assert drive(learn_venv, store, canary, skip=skip).ids("gp-learn-versions") == ["LearnVer/A-v0"]
    assert drive(learn_venv, store, canary, skip=skip).ids("gp-learn-versions") == ["LearnVer/A-v0"]
    assert imports(canary)["gp_learn_versions"] == 1
    learn_venv.pip(*reinstall, "gp-learn-versions==1.0.0")  # the same version, new files
    assert drive(learn_venv, store, canary, skip=skip).ids("gp-learn-versions") == ["LearnVer/A-v0"]
    assert imports(canary)["gp_learn_versions"] == 2
    learn_venv.pip(*reinstall, "gp-learn-versions==2.0.0")
    assert drive(learn_venv, store, canary, skip=skip).ids("gp-learn-versions") == ["LearnVer/B-v0"]
    assert imports(canary)["gp_learn_versions"] == 3
    learn_venv.pip(*reinstall, "gp-learn-versions==1.0.0")


def test_concurrent_processes_learn_each_source_once(learn_venv: Venv, tmp_path: Path) -> None:
    store, canary = tmp_path / "store", tmp_path / "canary.log"
    extra = {"GYMPLUG_CACHE_DIR": str(store), "GYMPLUG_CANARY": str(canary)}
    cmd = drive_cmd(learn_venv, 10.0, ("gp-learn-slow",))
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(extra))
        for _ in range(8)
    ]
    runs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            runs.append(Run(subprocess.CompletedProcess(proc.args, proc.returncode, out, err)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    expected = runs[0].data["learned"]
    assert set(expected) == set(MODULES) - {"gp-learn-slow"}
    assert all(run.data["learned"] == expected for run in runs)
    counts = imports(canary)
    assert {m: counts[m] for d, m in MODULES.items() if d != "gp-learn-slow"} == {
        m: 1 for d, m in MODULES.items() if d != "gp-learn-slow"
    }
    data = json.loads(Path(runs[0].data["store"]).read_text())
    assert set(data["hosts"][HOST]) == set(expected)
    assert [p.name for p in store.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("damage", ["garbage", "wrong-shape", "group-writable", "symlink"])
def test_a_hostile_store_is_ignored_and_rebuilt(learn_venv: Venv, tmp_path: Path, damage: str) -> None:
    store, canary = tmp_path / "store", tmp_path / "canary.log"
    skip = tuple(d for d in MODULES if d != "gp-learn-root")
    path = Path(drive(learn_venv, store, canary, skip=skip).data["store"])
    assert imports(canary)["gp_learn_root"] == 1
    lie = json.loads(path.read_text())  # a valid entry that would be believed, were the file trusted
    (entry,) = lie["hosts"][HOST]["gp-learn-root"].values()  # one metadata folder
    entry["ids"] = ["Lie-v0"]
    path.unlink()
    if damage == "garbage":
        path.write_bytes(b"\xff\x00{not json")
    elif damage == "wrong-shape":
        entry["ids"] = "Lie-v0"
        path.write_text(json.dumps(lie))
    elif damage == "group-writable":
        path.write_text(json.dumps(lie))
        os.chmod(path, 0o664)
    else:
        target = tmp_path / "elsewhere.json"
        target.write_text(json.dumps(lie))
        os.chmod(target, 0o600)
        path.symlink_to(target)
    run = drive(learn_venv, store, canary, skip=skip)
    assert run.ids("gp-learn-root") == ["LearnRoot-v0", "LearnRoot-v1"]
    assert imports(canary)["gp_learn_root"] == 2  # learned again
    assert not path.is_symlink() and oct(path.stat().st_mode & 0o777) == "0o600"
    (entry,) = json.loads(path.read_text())["hosts"][HOST]["gp-learn-root"].values()
    assert entry["ids"] == ["LearnRoot-v0", "LearnRoot-v1"]
