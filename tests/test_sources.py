"""Import sources from real dist-info folders (the three rules, ownership, the cache), and in a real venv."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from gymplug._learning import _sources
from gymplug._learning._metadata import normalize, parse_requirement
from gymplug._learning._sources import Source, find_sources, folder_signature
from helpers import FIXTURES, Venv, build_wheels  # FIXTURES: tests/fixtures/plugins
from helpers import HOST as TESTED  # the host installed here (the unit tests above name gymnasium, installed or not)

HOST = "gymnasium"


def dist(
    site: Path,
    name: str,
    version: str = "1.0",
    requires: tuple[str, ...] = ("gymnasium",),
    top_level: Optional[str] = None,
    record: Optional[str] = None,
    entry_points: Optional[str] = None,
) -> Path:
    """A real ``*.dist-info`` folder as pip writes one."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    headers = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{headers}\nBody\n")
    if top_level is not None:
        (folder / "top_level.txt").write_text(top_level)
    if record is not None:
        (folder / "RECORD").write_text(record)
    if entry_points is not None:
        (folder / "entry_points.txt").write_text(entry_points)
    return folder


def usable(path: Any, host: str = HOST, disable: tuple[str, ...] = ()) -> list[Source]:
    found, disabled = find_sources(host, path if isinstance(path, list) else [str(path)], disable)
    assert not disabled or disable
    return found


def keys(site: Path, host: str = HOST) -> dict[str, tuple[str, ...]]:
    return {s.key: s.modules for s in usable(site, host)}


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test reads the folders it made (its directories are new, but two seconds may not have passed)."""
    _sources.clear_cache()
    yield
    _sources.clear_cache()


def test_a_distribution_that_requires_the_host_and_declares_nothing_is_a_source(tmp_path: Path) -> None:
    dist(tmp_path, "Mini_Grid", "2.3.0", ("gymnasium>=0.28.1", "numpy>=1.18.0"), top_level="minigrid\n")
    (source,) = usable(tmp_path)
    assert (source.key, source.version, source.modules, source.via) == ("mini-grid", "2.3.0", ("minigrid",), "")
    assert source.signature == folder_signature(source.folder) and len(source.signature) == 8
    assert keys(tmp_path, "gym") == {}  # it is no source for the other host


@pytest.mark.parametrize(
    "requirement, counts",
    [
        ("gymnasium", True),
        ("Gymnasium[atari] (>=1.0)", True),
        ("gymnasium ; python_version >= '3.8'", True),
        ("gymnasium; extra == 'rl'", False),
        ('gymnasium; python_version > "3" and extra == "all"', False),
        ("gymnasium-robotics", False),
        ("gym", False),
    ],
)
def test_only_an_unconditional_requirement_on_the_host_counts(tmp_path: Path, requirement: str, counts: bool) -> None:
    dist(tmp_path, "probe", requires=(requirement,), top_level="probe\n")
    assert keys(tmp_path) == ({"probe": ("probe",)} if counts else {})


def test_a_declaration_in_the_host_group_excludes_it_and_one_in_another_group_does_not(tmp_path: Path) -> None:
    dist(tmp_path, "declares", top_level="declares\n", entry_points="[gymnasium.envs]\nX-v0 = declares:X\n")
    other = "[gym.envs]\nX-v0 = other:X\n[console_scripts]\nx = a:b\n"
    dist(tmp_path, "other-group", top_level="other\n", entry_points=other)
    dist(tmp_path, "empty-group", top_level="empty\n", entry_points="[gymnasium.envs]\n# nothing\n")
    assert keys(tmp_path) == {"other-group": ("other",), "empty-group": ("empty",)}


def test_gymplug_the_hosts_and_disabled_distributions_are_never_sources(tmp_path: Path) -> None:
    for name in ("gymplug", "gymnasium", "gym", "blocked"):
        dist(tmp_path, name, top_level=f"{name}\n")
    assert keys(tmp_path) == {"blocked": ("blocked",)}
    found, disabled = find_sources(HOST, [str(tmp_path)], disable={"Blocked"})
    assert found == [] and [s.key for s in disabled] == ["blocked"]


def test_modules_come_from_record_when_there_is_no_top_level(tmp_path: Path) -> None:
    record = "\n".join(
        [
            "pkg/__init__.py,sha256=x,1",
            "pkg/sub/mod.py,,",
            "single.py,,",
            "_ext.cpython-311-x86_64-linux-gnu.so,,",
            '"with,comma/__init__.py",,',
            "probe-1.0.dist-info/METADATA,,",
            "probe-1.0.data/scripts/x,,",
            "__pycache__/single.cpython-311.pyc,,",
            "../../bin/tool,,",
            "__editable___probe_1_0_finder.py,,",
            "not-an-identifier/x.py,,",
        ]
    )
    dist(tmp_path, "probe", record=record, top_level="other\n")  # the RECORD, not top_level.txt, says what it owns
    assert keys(tmp_path) == {"probe": ("_ext", "pkg", "single")}


def test_no_modules_means_no_source(tmp_path: Path) -> None:
    dist(tmp_path, "nothing", top_level="\n")
    dist(tmp_path, "no-files")
    assert keys(tmp_path) == {}


def test_the_first_distribution_of_a_name_on_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    dist(first, "probe", requires=("numpy",), top_level="probe\n")  # shadows the one that requires the host
    dist(second, "probe", "2.0", top_level="probe\n")
    dist(second, "other", top_level="other\n")
    assert {s.key: s.version for s in usable([str(first), str(second)])} == {"other": "1.0"}


def test_an_egg_info_counts_its_requires_txt_outside_extras(tmp_path: Path) -> None:
    for name, requires in (("egg-a", "numpy\n[:python_version > '3']\ngymnasium\n"), ("egg-b", "[rl]\ngymnasium\n")):
        folder = tmp_path / f"{name.replace('-', '_')}.egg-info"
        folder.mkdir()
        (folder / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (folder / "requires.txt").write_text(requires)
        (folder / "top_level.txt").write_text(name.replace("-", "_") + "\n")
    assert {s.key: s.version for s in usable(tmp_path)} == {"egg-a": "0.1"}


def test_a_reinstall_changes_the_signature(tmp_path: Path) -> None:
    folder = dist(tmp_path, "probe", top_level="probe\n", record="probe.py,,\n")
    before = folder_signature(str(folder))
    (folder / "RECORD").unlink()
    (folder / "RECORD").write_text("probe.py,,\n")
    assert folder_signature(str(folder)) != before


def test_hostile_metadata_is_skipped_never_raised(tmp_path: Path) -> None:
    dist(tmp_path, "undecodable", top_level="x\n")
    (tmp_path / "undecodable-1.0.dist-info" / "METADATA").write_bytes(b"Name: x\nRequires-Dist: gymnasium\n\xff\xfe\n")
    dist(tmp_path, "bad-top", top_level="x\n")
    (tmp_path / "bad_top-1.0.dist-info" / "top_level.txt").write_bytes(b"\xff\n")
    dist(tmp_path, "huge", top_level="huge\n")
    with open(tmp_path / "huge-1.0.dist-info" / "METADATA", "wb") as file:  # headers that never end: not read
        file.write(b"Name: huge\nRequires-Dist: gymnasium\nX: " + b"x" * (2 << 20))
    dist(tmp_path, "long-body", top_level="long_body\n")  # only the headers are read: a long description is fine
    with open(tmp_path / "long_body-1.0.dist-info" / "METADATA", "ab") as file:
        file.truncate(2 << 20)
    folder = dist(tmp_path, "dir-metadata", top_level="d\n")
    (folder / "METADATA").unlink()
    (folder / "METADATA").mkdir()
    missing = tmp_path / "missing-1.0.dist-info"
    missing.mkdir()
    (tmp_path / "file-1.0.dist-info").write_text("not a folder")
    if hasattr(os, "symlink"):
        os.symlink(tmp_path / "huge-1.0.dist-info" / "METADATA", tmp_path / "missing-1.0.dist-info" / "METADATA")
    dist(tmp_path, "fine", top_level="fine\n")
    assert keys(tmp_path) == {"fine": ("fine",), "long-body": ("long_body",)}
    odd: list = [str(tmp_path / "nowhere"), "\0bad", str(tmp_path / "fine-1.0.dist-info" / "METADATA"), None, b"x", 3]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        odd.append(str(tmp_path / "fifo"))  # read as a zip, it would block
    assert find_sources(HOST, odd) == ([], [])
    assert find_sources("no-such-host", [str(tmp_path)]) == ([], [])


def real_host(site: Path, host: str = HOST) -> list[str]:
    """A copy of the installed host's own metadata folder in ``site``; the names its metadata lists under extras."""
    installed = Path(str(getattr(metadata.distribution(host), "_path")))
    shutil.copytree(installed, site / installed.name)
    requirements = [parse_requirement(line) for line in metadata.requires(host) or []]
    return sorted({r.name for r in requirements if r is not None and r.conditional and r.name != host})


def test_a_distribution_the_host_names_in_an_extra_and_that_names_the_host_is_a_source(tmp_path: Path) -> None:
    """Rule (b) against the real host's metadata: whatever it names in an extra (ale-py for Gymnasium's atari)."""
    named = real_host(tmp_path, TESTED)
    assert named, "the installed host names nothing under an extra"
    first, second = named[0], named[-1]
    dist(tmp_path, first, requires=(f'{TESTED}>=0.1; extra == "vector"', "numpy"), top_level=first.replace("-", "_") + "\n")
    dist(tmp_path, second, requires=("numpy",), top_level="second\n")  # named by the host, but never names it
    dist(tmp_path, "unnamed", requires=(f'{TESTED}; extra == "vector"',), top_level="unnamed\n")  # not named by it
    assert {s.key: s.via for s in usable(tmp_path, TESTED)} == {first: "extra"}
    assert usable(tmp_path, "gym" if TESTED == "gymnasium" else "gymnasium") == []


def test_without_the_host_installed_no_extra_rule_applies(tmp_path: Path) -> None:
    dist(tmp_path, "ale-py", requires=(f'{HOST}; extra == "vector"',), top_level="ale_py\n")
    assert usable(tmp_path) == []


def test_a_chain_of_two_installed_distributions_reaches_the_host(tmp_path: Path) -> None:
    dist(tmp_path, "gym-super-mario-bros", requires=("nes-py>=8", "gp-base"), top_level="gym_super_mario_bros\n")
    dist(tmp_path, "nes-py", requires=("gym>=0.17", "numpy"), top_level="nes_py\n")  # a source itself
    dist(tmp_path, "gp-base", requires=("numpy",), top_level="gp_base\n")
    dist(tmp_path, "three-steps", requires=("gym-super-mario-bros",), top_level="far\n")  # two hops before the host
    dist(tmp_path, "optional-mid", requires=("nes-py; extra == 'x'",), top_level="opt\n")
    dist(tmp_path, "missing-mid", requires=("not-installed",), top_level="miss\n")
    found = {s.key: s.via for s in usable(tmp_path, "gym")}
    assert found == {"gym-super-mario-bros": "nes-py", "nes-py": ""}


def test_a_conditional_requirement_of_the_intermediate_breaks_the_chain(tmp_path: Path) -> None:
    dist(tmp_path, "top", requires=("mid",), top_level="top\n")
    dist(tmp_path, "mid", requires=("gym; extra == 'envs'",), top_level="mid\n")
    assert usable(tmp_path, "gym") == []


def test_depends_holds_every_requirement_with_its_installed_version(tmp_path: Path) -> None:
    """Installing an extra's requirement (``shimmy[dm-control]``) changes the source's state."""
    requires = ("gymnasium>=1", "numpy", 'dm-control>=1.0; extra == "dm-control"', "shimmy[all]; extra == 'x'")
    dist(tmp_path, "shimmy", "2.0.1", requires, top_level="shimmy\n")
    dist(tmp_path, "numpy", "2.1.0", (), top_level="numpy\n")
    (before,) = usable(tmp_path)
    assert before.depends == (("dm-control", ""), ("gymnasium", ""), ("numpy", "2.1.0"))
    dist(tmp_path, "dm-control", "1.0.28", (), top_level="dm_control\n")
    _sources.clear_cache()
    (after,) = usable(tmp_path)
    assert after.depends == (("dm-control", "1.0.28"), ("gymnasium", ""), ("numpy", "2.1.0"))


def test_a_module_that_a_disabled_distribution_claims_is_no_source_s(tmp_path: Path) -> None:
    """B6: `innocent2` names the blocked distribution's module in its top_level.txt."""
    dist(tmp_path, "blocked-dist2", requires=("gymplug",), entry_points="[gymnasium.envs]\nCanary2-v0 = canarymod2:Env\n")
    dist(tmp_path, "innocent2", top_level="canarymod2\n")
    dist(tmp_path, "blocked-rec", requires=("numpy",), record="recmod/__init__.py,,\n")
    dist(tmp_path, "blocked-top", requires=("numpy",), top_level="topmod\n")
    dist(tmp_path, "mixed", top_level="recmod\ntopmod\nmixed\n")
    assert keys(tmp_path) == {"innocent2": ("canarymod2",), "mixed": ("mixed", "recmod", "topmod")}
    disable = ("blocked-dist2", "blocked-rec", "blocked-top")
    found, disabled = find_sources(HOST, [str(tmp_path)], disable)
    assert {s.key: s.modules for s in found} == {"mixed": ("mixed",)} and disabled == []


def test_a_disabled_source_keeps_its_own_modules_and_is_reported_apart(tmp_path: Path) -> None:
    dist(tmp_path, "blocked", record="blocked/__init__.py,,\nshared/a.py,,\n")
    dist(tmp_path, "other", record="other.py,,\nshared/b.py,,\n")
    found, disabled = find_sources(HOST, [str(tmp_path)], ["blocked"])
    assert [(s.key, s.modules) for s in found] == [("other", ("other",))]
    assert [(s.key, s.modules) for s in disabled] == [("blocked", ("blocked", "shared"))]


def test_a_deleted_current_directory_is_skipped(tmp_path: Path) -> None:
    """B14: '' on sys.path while the working directory no longer exists."""
    if os.name == "nt":
        pytest.skip("a working directory cannot be removed on Windows")
    dist(tmp_path / "site", "probe", top_level="probe\n")
    gone = tmp_path / "gone"
    gone.mkdir()
    here = os.getcwd()
    os.chdir(gone)
    try:
        gone.rmdir()
        assert [s.key for s in usable(["", ".", "relative", str(tmp_path / "site")])] == ["probe"]
    finally:
        os.chdir(here)


def test_a_zip_on_the_path_is_read(tmp_path: Path) -> None:
    archive = tmp_path / "app.pyz"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("__main__.py", "")
        out.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\nRequires-Dist: gymnasium\n")
        out.writestr("zipped-1.0.dist-info/RECORD", "zipped/__init__.py,,\n")
        out.writestr("zipped/__init__.py", "import gymnasium\ngymnasium.register('Zipped-v0', entry_point='x:y')\n")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")
    (source,) = usable([str(tmp_path / "broken.zip"), str(archive)])
    assert (source.key, source.modules, source.folder) == ("zipped", ("zipped",), str(archive / "zipped-1.0.dist-info"))
    assert len(source.signature) == 8


def settle(*paths: Path) -> None:
    """Date the paths back: a state older than two seconds is trusted, as after any real install."""
    old = time.time() - 60
    for path in paths:
        os.utime(path, (old, old))


def calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list:
    """Record the calls of ``os.<name>`` from now on, still calling it."""
    seen: list = []
    real = getattr(os, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(_sources.os, name, counting)
    return seen


def test_nothing_changed_costs_a_stat_per_path_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = dist(tmp_path, "probe", top_level="probe\n", record="probe.py,,\n")
    settle(*folder.iterdir(), folder, tmp_path)
    path = [str(tmp_path), str(tmp_path / "missing")]
    first = usable(path)
    listed, stats = calls(monkeypatch, "listdir"), calls(monkeypatch, "stat")
    assert usable(path) == first and [s.key for s in first] == ["probe"]
    assert listed == [] and stats == path  # no listing, no metadata read: one stat per entry


def test_a_distribution_installed_into_the_running_process_is_found_on_the_next_call(tmp_path: Path) -> None:
    """Hot install: the directory's stat changes, so it is listed again; folders unchanged are not read again."""
    old = dist(tmp_path, "old", top_level="old\n")
    settle(*old.iterdir(), old, tmp_path)
    assert [s.key for s in usable(tmp_path)] == ["old"]
    dist(tmp_path, "new", top_level="new\n")
    assert sorted(s.key for s in usable(tmp_path)) == ["new", "old"]
    shutil.rmtree(tmp_path / "old-1.0.dist-info")
    assert [s.key for s in usable(tmp_path)] == ["new"]


def test_a_state_younger_than_two_seconds_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second change within the file system's timestamp granularity cannot hide behind an equal mtime."""
    folder = dist(tmp_path, "probe", top_level="probe\n")
    files = [*folder.iterdir(), folder, tmp_path]
    usable(tmp_path)
    listed = calls(monkeypatch, "listdir")
    usable(tmp_path)
    assert listed == [str(tmp_path)]
    settle(*files)
    usable(tmp_path)
    usable(tmp_path)
    assert listed == [str(tmp_path)] * 2  # once more for the new state, then trusted


def test_a_reinstall_of_the_same_version_is_read_again(tmp_path: Path) -> None:
    folder = dist(tmp_path, "probe", top_level="probe\n", record="probe.py,,\n")
    settle(*folder.iterdir(), folder, tmp_path)
    (before,) = usable(tmp_path)
    shutil.rmtree(folder)
    dist(tmp_path, "probe", top_level="probe\n", record="probe.py,,\nprobe_extra.py,,\n")
    (after,) = usable(tmp_path)
    assert after.signature != before.signature and after.modules == ("probe", "probe_extra")


# In a real venv: the fixture distributions of each class (tests/fixtures/learn/README.md), read by a process
# of that venv. Learning itself (children, store, make) is tested on top of these in test_learn.py.
CLASSES = ["gp-learn-licence", "gp-learn-submodule", "gp-learn-nspkg", "gp-learn-chain-mid", "gp-learn-chain-top"]
DRIVER = """
import json, sys
from gymplug._learning._sources import find_sources
from gymplug._learning._scan import registration_modules
usable, disabled = find_sources({host!r}, sys.path, sys.argv[1:])
print(json.dumps({{s.key: {{"via": s.via, "modules": list(s.modules), "scan": registration_modules(s, {host!r}),
    "depends": dict(s.depends), "disabled": s in disabled}} for s in usable + disabled}}))
"""


def host_extra_name(site: Path) -> str:
    """A name that the venv's real host lists under an extra and that is not installed there (the last, sorted).

    A fixture built under this name is what rule (b) is about: the host's metadata is real, not a fake host's.
    """
    installed = {normalize(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])}
    lines = installed[TESTED].requires or []
    names = {r.name for r in map(parse_requirement, lines) if r is not None and r.conditional}
    return sorted(names - set(installed) - {"gym", "gymnasium", "gymplug"})[-1]


@pytest.fixture(scope="module")
def sources_venv(tmp_path_factory: pytest.TempPathFactory, learn_wheels: Path) -> tuple[Venv, str]:
    """gymplug, the host and the fixtures; gp-learn-extra built under a name the installed host names in an extra."""
    env = Venv.create(tmp_path_factory.mktemp("sources-venv") / "env")
    env.install_host()
    env.install_wheels(learn_wheels, ["gymplug", "gp-fixture-base", "gp-learn-base", "gp-learn-optional", *CLASSES])
    named = host_extra_name(env.site_packages)
    source = tmp_path_factory.mktemp("extra-src") / "gp-learn-extra"
    shutil.copytree(FIXTURES.parent / "learn" / "gp-learn-extra", source)
    setup = source / "setup.cfg"
    setup.write_text(setup.read_text().replace("name = gp-learn-extra", f"name = {named}"))
    house = tmp_path_factory.mktemp("extra-wheel")
    build_wheels([source], house, tmp_path_factory.mktemp("extra-build"))
    env.pip("install", "--no-deps", *house.glob("*.whl"))
    return env, named


def read_sources(env: Venv, canary: Any) -> dict[str, Any]:
    proc = env.run_python(DRIVER.format(host=TESTED), env=canary.env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.integration
def test_each_class_of_source_in_a_real_venv_read_without_importing(sources_venv: tuple[Venv, str], canary: Any) -> None:
    env, named = sources_venv
    found = {k: v for k, v in read_sources(env, canary).items() if k.startswith("gp-learn-") or k == named}
    expected = {
        "gp-learn-licence": ("", ["gp_learn_licence"], ["gp_learn_licence"]),  # its Requires-Dist follow the licence
        "gp-learn-submodule": ("", ["gp_learn_sub"], ["gp_learn_sub.envs"]),
        "gp-learn-nspkg": ("", ["gp_learn_nsp"], ["gp_learn_nsp.plug"]),
        "gp-learn-chain-mid": ("", ["gp_learn_mid"], []),  # requires the host, registers nothing: no child needed
        "gp-learn-chain-top": ("gp-learn-chain-mid", ["gp_learn_chain"], ["gp_learn_chain"]),
        named: ("extra", ["gp_learn_extra"], ["gp_learn_extra"]),
    }
    assert {k: (v["via"], v["modules"], v["scan"]) for k, v in found.items()} == expected
    assert found["gp-learn-chain-top"]["depends"] == {"gp-learn-base": "1.0.0", "gp-learn-chain-mid": "1.0.0"}
    assert canary.modules() == []  # nothing was imported to find them
    site = env.site_packages
    licence = (site / "gp_learn_licence-1.0.0.dist-info" / "METADATA").read_text().split("\nRequires-Dist:")[0]
    assert any(line and not line.strip() for line in licence.splitlines())  # the case that lost Requires-Dist
    (folder,) = site.glob(f"{named.replace('-', '_')}-1.0.0.dist-info")
    requires = [parse_requirement(line) for line in metadata.PathDistribution(folder).requires or []]
    assert {r.name for r in requires if r and r.conditional} >= {TESTED}  # it names the host in an extra only
    assert TESTED not in {r.name for r in requires if r and not r.conditional}


@pytest.mark.integration
def test_a_disabled_source_is_apart_in_a_real_venv(sources_venv: tuple[Venv, str], canary: Any) -> None:
    env, _ = sources_venv
    proc = env.run_python(DRIVER.format(host=TESTED), env=canary.env)
    assert json.loads(proc.stdout)["gp-learn-nspkg"]["disabled"] is False
    code = DRIVER.format(host=TESTED).replace("sys.argv[1:]", "['GP_Learn.NSPkg']")
    assert json.loads(env.run_python(code, env=canary.env).stdout)["gp-learn-nspkg"]["disabled"] is True


@pytest.mark.integration
def test_a_deleted_working_directory_gives_the_host_s_own_error(sources_venv: tuple[Venv, str], tmp_path: Path) -> None:
    """B14: '' on sys.path names a directory that no longer exists; the lookups still answer as the host does."""
    if os.name == "nt":
        pytest.skip("a working directory cannot be removed on Windows")
    env, _ = sources_venv
    code = f"""
        import os, tempfile
        gone = tempfile.mkdtemp()
        os.chdir(gone)
        os.rmdir(gone)
        import {TESTED} as host
        print("Typo-v0" in host.envs.registry)
        try:
            host.make("CartPol-v1")
        except Exception as exc:
            print(type(exc).__module__, type(exc).__name__)
    """
    for learn in ("1", "0"):
        extra = {"GYMPLUG_CACHE_DIR": str(tmp_path / f"cache-{learn}"), "GYMPLUG_LEARN": learn}
        proc = env.run_python(code, env=extra, check=False)
        assert proc.returncode == 0 and "FileNotFoundError" not in proc.stderr, proc.stderr
        typo, error = proc.stdout.splitlines()
        assert typo == "False" and error.startswith(f"{TESTED}.error "), proc.stdout


@pytest.mark.integration
def test_a_distribution_pip_installs_into_the_running_process_is_found_next(sources_venv: tuple[Venv, str], learn_wheels: Path) -> None:
    """Hot install (a notebook's %pip install): the same process finds the new source on its next call."""
    env, _ = sources_venv
    (wheel,) = learn_wheels.glob("gp_learn_root-*.whl")
    code = f"""
        import json, subprocess, sys
        from gymplug._learning._sources import find_sources
        before = [s.key for s in find_sources({TESTED!r}, sys.path)[0]]
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", {str(wheel)!r}]
        subprocess.run(pip, check=True, timeout=300, capture_output=True)
        after = [s.key for s in find_sources({TESTED!r}, sys.path)[0]]
        print(json.dumps([before, after]))
    """
    before, after = json.loads(env.run_python(code).stdout)
    assert "gp-learn-root" not in before and set(after) - set(before) == {"gp-learn-root"}
