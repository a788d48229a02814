"""Import sources from real dist-info folders: who requires a host, declares nothing, and has modules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import pytest

from gymplug._learning._sources import find_sources, folder_signature

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


def keys(site: Path, host: str = HOST) -> dict[str, tuple[str, ...]]:
    return {s.key: s.modules for s in find_sources(host, [str(site)])}


def test_a_distribution_that_requires_the_host_and_declares_nothing_is_a_source(tmp_path: Path) -> None:
    dist(tmp_path, "Mini_Grid", "2.3.0", ("gymnasium>=0.28.1", "numpy>=1.18.0"), top_level="minigrid\n")
    (source,) = find_sources(HOST, [str(tmp_path)])
    assert (source.key, source.version, source.modules) == ("mini-grid", "2.3.0", ("minigrid",))
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
    assert find_sources(HOST, [str(tmp_path)], disable={"blocked"}) == []


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
    dist(tmp_path, "probe", record=record)
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
    assert {s.key: s.version for s in find_sources(HOST, [str(first), str(second)])} == {"other": "1.0"}


def test_an_egg_info_counts_its_requires_txt_outside_extras(tmp_path: Path) -> None:
    for name, requires in (("egg-a", "numpy\n[:python_version > '3']\ngymnasium\n"), ("egg-b", "[rl]\ngymnasium\n")):
        folder = tmp_path / f"{name.replace('-', '_')}.egg-info"
        folder.mkdir()
        (folder / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (folder / "requires.txt").write_text(requires)
        (folder / "top_level.txt").write_text(name.replace("-", "_") + "\n")
    assert {s.key: s.version for s in find_sources(HOST, [str(tmp_path)])} == {"egg-a": "0.1"}


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
    with open(tmp_path / "huge-1.0.dist-info" / "METADATA", "ab") as file:
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
    assert keys(tmp_path) == {"fine": ("fine",)}
    odd = [str(tmp_path / "nowhere"), "\0bad", str(tmp_path / "fine-1.0.dist-info" / "METADATA")]
    assert find_sources(HOST, odd) == []
