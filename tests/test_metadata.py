"""Metadata as the standard library reads it: the email parser's headers, importlib.metadata's requirements and files."""

from __future__ import annotations

import doctest
import email.parser
import os
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gymplug._learning import _metadata
from gymplug._learning._metadata import (
    Folder,
    ZipFolder,
    header_items,
    parse_metadata,
    parse_requirement,
    read_bounded,
    read_head,
    read_metadata,
    record_paths,
)
from helpers import Venv

# Header names as METADATA writes them, and odd ones: a space or a non-ASCII letter ends the headers.
NAMES = st.sampled_from(["Name", "Version", "Requires-Dist", "requires-dist", "REQUIRES-DIST", "License", "Classifier", "X", ""]) | st.text(
    st.characters(min_codepoint=32, max_codepoint=0x17F, blacklist_characters=":\r\n"), max_size=6
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
BREAKS = st.sampled_from(["\n", "\r\n", "\r"])
LINES = st.one_of(
    st.tuples(NAMES, st.sampled_from([":", ": ", ":\t", " :"]), TEXT).map("".join),  # a header
    st.tuples(st.sampled_from([" ", "\t", "        ", " \t"]), TEXT).map("".join),  # a continuation, maybe blank
    st.sampled_from(["", " ", "\t", "From x", "From: y", ":no name", "no colon"]),
    TEXT,
)


def as_email(text: str) -> tuple[object, object, object, list[tuple[str, str]]]:
    message = email.parser.HeaderParser().parsestr(text)
    return message["Name"], message["Version"], message.get_all("Requires-Dist"), message.items()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(LINES, BREAKS), max_size=14), st.booleans())
def test_headers_are_read_as_the_email_parser_reads_them(lines: list[tuple[str, str]], final_break: bool) -> None:
    text = "".join(line + brk for line, brk in lines)
    if not final_break and lines:
        text = text[: -len(lines[-1][1])]
    name, version, requires, items = as_email(text)
    assert header_items(text) == items
    assert parse_metadata(text) == (name, version, tuple(requires or ()))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_is_read_as_the_email_parser_reads_it(text: str) -> None:
    name, version, requires, items = as_email(text)
    assert header_items(text) == items
    assert parse_metadata(text) == (name, version, tuple(requires or ()))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(LINES, BREAKS), max_size=14), st.text(max_size=40))
def test_reading_up_to_the_first_blank_line_loses_no_header(lines: list[tuple[str, str]], body: str) -> None:
    """METADATA is read only as far as its first blank line (whatever its line breaks): the headers are all there."""
    text = "".join(line + brk for line, brk in lines) + body
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "METADATA")
        with open(path, "wb") as file:
            file.write(text.encode("utf-8", "surrogatepass"))
        head = read_head(path)
    assert head is not None and text.encode("utf-8", "surrogatepass").startswith(head)
    assert header_items(head.decode("utf-8", "surrogatepass")) == header_items(text)


def test_a_multi_line_licence_keeps_the_requirements_after_it() -> None:
    text = (
        "Metadata-Version: 2.1\r\nName: gym-trading-env\r\nVersion: 0.3.5\r\nLicense: MIT License\r\n        \r\n"
        "        Permission is hereby granted\r\n\t\r\nRequires-Dist: pandas>=1.5.3\r\nRequires-Dist: gymnasium>=0.28.1\r\n\r\nBody\r\n"
    )
    assert parse_metadata(text) == ("gym-trading-env", "0.3.5", ("pandas>=1.5.3", "gymnasium>=0.28.1"))
    assert header_items(text) == as_email(text)[3]


@pytest.mark.parametrize(
    "line, name, extras, marker, conditional, under",
    [
        ("gymnasium", "gymnasium", (), "", False, ()),
        ("Gym_Nasium[Atari,  Other] (>=1.0)", "gym-nasium", ("atari", "other"), "", False, ()),
        ("gymnasium; python_version >= '3.8'", "gymnasium", (), "python_version >= '3.8'", False, ()),
        ('ale_py>=0.9; extra == "atari"', "ale-py", (), 'extra == "atari"', True, ("atari",)),
        ("x ; 'Dm_Control' == extra or extra=='all'", "x", (), "'Dm_Control' == extra or extra=='all'", True, ("dm-control", "all")),
        ('x; platform_machine == "extra"', "x", (), 'platform_machine == "extra"', False, ()),
        ("x; extra != 'a'", "x", (), "extra != 'a'", True, ()),
        ("pkg @ https://host/p;x.whl ; extra == 'a'", "pkg", (), "extra == 'a'", True, ("a",)),
        ("pkg@https://host/p.whl", "pkg", (), "", False, ()),
    ],
)
def test_requirement_lines(line: str, name: str, extras: tuple, marker: str, conditional: bool, under: tuple) -> None:
    requirement = parse_requirement(line)
    assert requirement is not None
    assert (requirement.name, requirement.extras, requirement.marker) == (name, extras, marker)
    assert (requirement.conditional, requirement.under_extras) == (conditional, under)


@pytest.mark.parametrize("line", ["", "  ", "; extra == 'a'", "-x", "[x]"])
def test_a_line_that_names_nothing_is_no_requirement(line: str) -> None:
    assert parse_requirement(line) is None


def test_the_doctests_hold() -> None:
    assert doctest.testmod(_metadata, raise_on_error=False).failed == 0


def test_an_egg_info_requires_txt_as_importlib_reads_it(tmp_path: Path) -> None:
    folder = tmp_path / "egg.egg-info"
    folder.mkdir()
    (folder / "PKG-INFO").write_text("Metadata-Version: 1.2\nName: egg\nVersion: 0.1\n")
    text = "numpy\n# a comment\n\n[rl]\ngymnasium>=1\n[:python_version > '3']\nx\n[a:sys_platform == 'linux']\ny @ https://h/y.whl\n"
    (folder / "requires.txt").write_text(text)
    found = read_metadata(Folder(str(folder)))
    assert found is not None and list(found.requires) == metadata.PathDistribution(folder).requires
    assert (found.name, found.version) == ("egg", "0.1")


def test_record_paths_as_importlib_reads_them(tmp_path: Path) -> None:
    folder = tmp_path / "probe-1.0.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text("Name: probe\nVersion: 1.0\n")
    (folder / "RECORD").write_text('pkg/__init__.py,sha256=x,1\n"with,comma/a.py",,\r\nprobe-1.0.dist-info/RECORD,,\n')
    for name in ("pkg/__init__.py", "with,comma/a.py"):  # Python 3.12+ lists only files that exist
        (tmp_path / name).parent.mkdir()
        (tmp_path / name).write_text("")
    data = read_bounded(str(folder / "RECORD"), 1000)
    assert data is not None
    expected = [str(p.as_posix()) for p in metadata.PathDistribution(folder).files or []]
    assert record_paths(data) == expected and len(expected) == 3
    assert record_paths(data + b"\n\nlast.py,,\n")[-1] == "last.py"  # a blank row, which importlib fails on, is skipped


def test_metadata_falls_back_to_pkg_info_as_importlib_does(tmp_path: Path) -> None:
    folder = tmp_path / "odd-1.0.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text("")
    (folder / "PKG-INFO").write_text("Name: odd\nVersion: 2.0\nRequires-Dist: gymnasium\n")
    found = read_metadata(Folder(str(folder)))
    assert found is not None and (found.name, found.version, found.requires) == ("odd", "2.0", ("gymnasium",))
    assert metadata.PathDistribution(folder).version == "2.0"


def test_reads_are_bounded_and_never_block(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    assert read_bounded(str(big), 100) is None and read_bounded(str(big), 101) == b"x" * 101
    assert read_bounded(str(tmp_path), 100) is None  # a directory
    assert read_bounded(str(tmp_path / "missing"), 100) is None
    assert read_bounded("bad\0path", 100) is None
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")  # no writer: a blocking open would hang here
        assert read_bounded(str(tmp_path / "fifo"), 100) is None
    folder = tmp_path / "huge-1.0.dist-info"
    folder.mkdir()
    with open(folder / "METADATA", "wb") as file:
        file.write(b"Name: huge\nVersion: 1\n")
        file.truncate(_metadata.MAX_METADATA + 1)
    assert read_metadata(Folder(str(folder))) is None
    (folder / "METADATA").write_bytes(b"Name: huge\nVersion: \xff\n")
    assert read_metadata(Folder(str(folder))) is None  # not UTF-8: importlib.metadata cannot read it either


def test_a_folder_inside_a_zip_is_read_like_one_in_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "site.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("z_pkg-1.0.dist-info/METADATA", "Name: z-pkg\r\nVersion: 1.0\r\nRequires-Dist: gymnasium\r\n")
        archive.writestr("z_pkg-1.0.dist-info/RECORD", "z_pkg/__init__.py,,\n")
    with zipfile.ZipFile(path) as archive:
        folder = ZipFolder(archive, str(path), "z_pkg-1.0.dist-info")
    found = read_metadata(folder)
    assert found is not None and found.requires == ("gymnasium",)
    assert folder.installed_files() == ["z_pkg/__init__.py"]
    assert folder.path == os.path.join(str(path), "z_pkg-1.0.dist-info") and len(folder.signature()) == 8
    (dist,) = metadata.distributions(path=[str(path)])
    assert (found.name, found.version, list(found.requires)) == (dist.metadata["Name"], dist.version, dist.requires)


@pytest.mark.integration
def test_equal_to_importlib_metadata_over_a_real_venv(tmp_path: Path) -> None:
    """Every distribution of a venv with matplotlib and scipy (whose License fields hold whole licences)."""
    env = Venv.create(tmp_path / "env")
    env.pip("install", "matplotlib", "scipy")
    site = str(env.site_packages)
    dists = list(metadata.distributions(path=[site]))
    names = {d.metadata["Name"].lower() for d in dists}
    assert {"matplotlib", "scipy", "contourpy", "cycler", "numpy"} <= names, names
    licences = 0
    for dist in dists:
        folder = getattr(dist, "_path")
        found = read_metadata(Folder(str(folder)))
        assert found is not None, folder
        assert (found.name, found.version) == (dist.metadata["Name"], dist.version), folder
        assert list(found.requires) == (dist.requires or []), folder
        text = (Path(folder) / "METADATA").read_text(encoding="utf-8")
        head = text.split("\nRequires-Dist:", 1)[0]
        licences += "\nRequires-Dist:" in text and any(not line.strip() and line for line in head.splitlines())
    assert licences >= 2  # the case that lost requirements: whitespace-only continuation lines before them
