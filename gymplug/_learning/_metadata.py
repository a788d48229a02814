"""Installed metadata read as the standard library reads it: headers, requirements, RECORD; bounded, never importing.

Headers are read as :class:`email.parser.HeaderParser` reads them (the ``compat32`` policy that
``importlib.metadata`` uses): lines end at ``\\r\\n``, ``\\r`` or ``\\n``; a line that starts with a
space or a tab continues the header before it, even when it holds only whitespace; the headers end
at the first line that is neither a header nor a continuation (a blank line, a line without a
colon). ``tests/test_metadata.py`` holds the reader equal to the email parser on generated text,
and to ``importlib.metadata`` over a real venv.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from typing import Any, NamedTuple, Optional

__all__ = [
    "Folder",
    "Metadata",
    "Requirement",
    "header_items",
    "normalize",
    "parse_metadata",
    "parse_requirement",
    "read_bounded",
    "read_metadata",
    "record_paths",
]

MAX_METADATA = 1 << 20  # bytes of METADATA / PKG-INFO: a larger file is not read
MAX_RECORD = 16 << 20  # bytes of RECORD / installed-files.txt
MAX_SMALL = 1 << 20  # top_level.txt, requires.txt, entry_points.txt
MISSING = (-1, -1, -1, -1)  # the stat of a file that is not there
_HEAD = 16 << 10  # METADATA is read this far first: the headers end at the first blank line, the body is not needed
# A blank line, whatever the line breaks: "\n\n", "\r\n\r\n", "\n\r\n", "\r\r" (a lone "\r\n" is one break).
_BLANKS = (b"\n\n", b"\n\r", b"\r\r")
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
# email.feedparser's line breaks and its test for a header or continuation line (headerRE).
_BREAK = re.compile(r"\r\n|\r|\n")
_HEADER_LINE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")
# The fast path for the usual text (no "\r", no "From " or ":" line, no leading continuation): the
# header block's end found, then each wanted header with its continuations, by the regex engine.
_NOT_HEADER = re.compile(r"\n(?![\t ]|From |[\041-\071\073-\176]*:)")
_ITEM = re.compile(r"\n([^:\n]+):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)")
_WANTED = re.compile(r"\n(requires-dist|name|version):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)", re.I | re.A)
_NAME_SEP = re.compile(r"[-_.]+")
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_EXTRA_VARIABLE = re.compile(r"(?<![\w.])extra(?![\w.])")
_EXTRA_EQUALS = re.compile(r"(?<![\w.])extra\s*===?\s*(['\"])(.*?)\1|(['\"])(.*?)\3\s*===?\s*extra(?![\w.])")


def normalize(name: str) -> str:
    """PEP 503 (and PEP 685, for extras) normalized name.

    >>> normalize("Gym_Super.Mario--Bros")
    'gym-super-mario-bros'
    """
    return _NAME_SEP.sub("-", name).lower()


def _lines(text: str) -> list[str]:
    """The lines of the header block, each with its line break, as email.feedparser collects them."""
    lines: list[str] = []
    start = 0
    end = len(text)
    while start < end:
        found = _BREAK.search(text, start)
        stop = found.end() if found else end
        line = text[start:stop]
        if not _HEADER_LINE.match(line):
            break
        lines.append(line)
        start = stop
    return lines


def _header(lines: list[str]) -> tuple[str, str]:
    """compat32's header_source_parse: the name as written, the value left-stripped, continuations kept."""
    name, value = lines[0].split(":", 1)
    value = value.lstrip(" \t") + "".join(lines[1:])
    return name, value.rstrip("\r\n")


def _fast_block(text: str) -> Optional[str]:
    """The header block when the fast path reads it as the email parser does, else None."""
    if not _HEADER_LINE.match(text):
        return "\n"
    found = _NOT_HEADER.search(text)
    block = text if found is None else text[: found.start() + 1]
    if "\r" in block or "\n:" in block or "\nFrom " in block or block[:1] in (" ", "\t", ":", "F"):
        return None
    return "\n" + block


def header_items(text: str) -> list[tuple[str, str]]:
    """Every (name, value) header of ``text``, in order, as ``HeaderParser().parsestr(text).items()`` gives them.

    >>> header_items("Name: x\\nLicense: a\\n \\n b\\nRequires-Dist: y\\n\\nBody: no\\n")
    [('Name', 'x'), ('License', 'a\\n \\n b'), ('Requires-Dist', 'y')]
    """
    block = _fast_block(text)
    if block is not None:
        return _ITEM.findall(block)
    lines = _lines(text)
    items: list[tuple[str, str]] = []
    current: list[str] = []
    for line in lines:
        if line[0] in " \t":
            if current:  # a continuation before any header is dropped, as the email parser drops it
                current.append(line)
            continue
        if current:
            items.append(_header(current))
            current = []
        if line.startswith("From "):  # a Unix "From " line: never a header
            continue
        if line.find(":") == 0:  # no name: dropped, and so are its continuations
            continue
        current = [line]
    if current:
        items.append(_header(current))
    return items


class Requirement(NamedTuple):
    """One requirement line, as far as sources need it (PEP 508, read leniently)."""

    #: PEP 503 normalized name
    name: str
    #: the extras it asks of the required distribution, normalized: ``gymnasium[atari]`` -> ("atari",)
    extras: tuple[str, ...]
    #: the environment marker, as written ("" for none)
    marker: str

    @property
    def conditional(self) -> bool:
        """Does the marker name ``extra``? Then it holds only when an extra is asked for.

        Other markers (``python_version``, ``sys_platform``) do not make it conditional here.
        """
        return bool(self.marker) and _EXTRA_VARIABLE.search(_QUOTED.sub("''", self.marker)) is not None

    @property
    def under_extras(self) -> tuple[str, ...]:
        """The extras the marker compares ``extra`` equal to, normalized: ``extra == "atari"`` -> ("atari",)."""
        return tuple(normalize(m[2] if m[2] is not None else m[4]) for m in _EXTRA_EQUALS.finditer(self.marker))


def parse_requirement(line: str) -> Optional[Requirement]:
    """A ``Requires-Dist`` value as a :class:`Requirement`, or None when it names nothing.

    >>> parse_requirement('Gym_Nasium[Atari, other] (>=1.0) ; python_version > "3" and extra == "rl"')
    Requirement(name='gym-nasium', extras=('atari', 'other'), marker='python_version > "3" and extra == "rl"')
    """
    match = _NAME.match(line)
    if match is None:
        return None
    rest = line[match.end() :]
    if rest.startswith("@"):  # a URL: its marker follows whitespace and ';' (PEP 508)
        found = re.search(r"\s;", rest)
        marker = rest[found.end() :] if found else ""
    else:
        marker = rest.partition(";")[2]
    extras = tuple(normalize(e.strip()) for e in (match[2] or "").split(",") if e.strip())
    return Requirement(normalize(match[1]), extras, marker.strip())


class Metadata(NamedTuple):
    """What a METADATA or PKG-INFO says of a distribution, as importlib.metadata reads it."""

    #: the first Name header, as written, or None
    name: Optional[str]
    #: the first Version header, as written, or None
    version: Optional[str]
    #: every Requires-Dist value, in order (importlib's ``requires``)
    requires: tuple[str, ...]


def parse_metadata(text: str) -> Metadata:
    """Name, Version and every Requires-Dist of a METADATA text, as ``importlib.metadata`` gives them."""
    name = version = None
    requires: list[str] = []
    block = _fast_block(text)
    items = header_items(text) if block is None else _WANTED.findall(block)
    for key, value in items:
        key = key.lower()
        if key == "requires-dist":
            requires.append(value)
        elif key == "name" and name is None:
            name = value
        elif key == "version" and version is None:
            version = value
    return Metadata(name, version, tuple(requires))


def egg_requires(text: str) -> tuple[str, ...]:
    """The requirements of a ``requires.txt``, with sections turned into markers as importlib.metadata does.

    >>> egg_requires("numpy\\n[rl]\\ngymnasium\\n[:python_version > '3']\\nx\\n[a:os_name == 'nt']\\ny\\n")
    ('numpy', 'gymnasium; extra == "rl"', "x; python_version > '3'", 'y; (os_name == \\'nt\\') and extra == "a"')
    """
    found: list[str] = []
    section = ""
    for line in filter(None, map(str.strip, text.splitlines())):
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        extra, _, markers = section.partition(":")
        if extra and markers:
            markers = f"({markers})"
        conditions = [c for c in (markers, extra and f'extra == "{extra}"') if c]
        found.append(line + " " * ("@" in line) + ("; " + " and ".join(conditions) if conditions else ""))
    return tuple(found)


def record_paths(data: bytes) -> list[str]:
    """The first column of every row of a RECORD, as importlib.metadata's ``files`` reads them."""
    import csv  # RECORD is read for a few sources only: most lookups never need the module
    return [row[0] for row in csv.reader(data.decode("utf-8").splitlines()) if row]


def read_bounded(path: str, limit: int) -> Optional[bytes]:
    """At most ``limit`` bytes of a regular file, or None (missing, not a regular file, unreadable, larger).

    Opened without blocking (a FIFO would hang the reader).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
        return None if len(data) > limit else data
    except (OSError, ValueError, MemoryError):
        return None
    finally:
        os.close(fd)


def read_head(path: str, limit: int = MAX_METADATA) -> Optional[bytes]:
    """A METADATA file up to its first blank line (the headers end there or before), else whole; None as read_bounded.

    The body (a long description) is not read, nor checked for UTF-8 as importlib.metadata would: its
    headers are what it says of the distribution.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        data = os.read(fd, _HEAD)
        end = data.find(b"\n\n")
        if data.find(b"\r", 0, end if end >= 0 else len(data)) >= 0:  # "\r" line breaks: look for each kind
            end = min([found for found in (data.find(blank) for blank in _BLANKS) if found >= 0], default=-1)
        if end >= 0:
            return data[: end + 1]
        if st.st_size > limit:
            return None
        while len(data) <= limit:
            more = os.read(fd, limit + 1 - len(data))
            if not more:
                break
            data += more
        return None if len(data) > limit else data
    except (OSError, ValueError, MemoryError):
        return None
    finally:
        os.close(fd)


def file_stat(path: str) -> tuple[int, int, int, int]:
    """(mtime ns, size, inode, ctime ns) of a file, or MISSING: an upgrade or a reinstall changes at least one."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return MISSING
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


class Folder:
    """A metadata folder (``*.dist-info`` / ``*.egg-info``) in a directory, its files read with bounds.

    :class:`ZipFolder` is the same for a folder inside a zip on ``sys.path``.
    """

    def __init__(self, path: str) -> None:
        #: the folder, absolute
        self.path = path

    @property
    def egg(self) -> bool:
        return self.path.lower().endswith(".egg-info")

    def read(self, name: str, limit: int = MAX_SMALL) -> Optional[bytes]:
        """A file of the folder, or None."""
        return read_bounded(os.path.join(self.path, name), limit)

    def read_installed(self, relative: str, limit: int) -> Optional[bytes]:
        """A file named as RECORD names it (relative to the folder's parent), or None."""
        return read_bounded(os.path.join(os.path.dirname(self.path), *relative.split("/")), limit)

    def stat(self, name: str) -> tuple[int, int, int, int]:
        return file_stat(os.path.join(self.path, name))

    def signature(self) -> tuple[int, ...]:
        """Stats of METADATA and RECORD (egg-info: PKG-INFO and installed-files.txt): 8 ints."""
        first, second = ("PKG-INFO", "installed-files.txt") if self.egg else ("METADATA", "RECORD")
        return self.stat(first) + self.stat(second)

    def head(self, name: str) -> Optional[bytes]:
        """METADATA or PKG-INFO up to the end of its headers (see read_head)."""
        return read_head(os.path.join(self.path, name))

    def metadata_text(self) -> Optional[str]:
        """The headers of METADATA, else PKG-INFO, as importlib.metadata picks them; None if not UTF-8."""
        for name in ("METADATA", "PKG-INFO"):
            data = self.head(name)
            if data:
                try:
                    return data.decode("utf-8")
                except UnicodeDecodeError:
                    return None
        return None

    def installed_files(self) -> Optional[list[str]]:
        """The files it installed, relative to the folder's parent ("/" separated): RECORD (egg-info:
        installed-files.txt); None when there is no such list."""
        if not self.egg:
            data = self.read("RECORD", MAX_RECORD)
            return None if data is None else [p.replace("\\", "/") for p in record_paths(data)]
        data = self.read("installed-files.txt", MAX_RECORD)
        if data is None:
            return None
        base = posixpath.basename(self.path.replace(os.sep, "/"))
        lines = [line.strip().replace("\\", "/") for line in data.decode("utf-8").splitlines()]
        return [posixpath.normpath(posixpath.join(base, line)) for line in lines if line]


class ZipFolder(Folder):
    """A metadata folder inside a zip on ``sys.path``: its small files read while the zip is open."""

    _NAMES = (
        *("METADATA", "PKG-INFO", "RECORD", "installed-files.txt"),
        *("top_level.txt", "requires.txt", "entry_points.txt"),
    )

    def __init__(self, archive: Any, archive_path: str, member: str) -> None:
        super().__init__(os.path.join(archive_path, member))
        self.archive_path = archive_path
        self.member = member
        self._files: dict[str, tuple[bytes, tuple[int, int, int, int]]] = {}
        for name in self._NAMES:
            try:
                info = archive.getinfo(f"{member}/{name}")
                limit = MAX_RECORD if name in ("RECORD", "installed-files.txt") else MAX_METADATA
                if info.file_size <= limit:
                    with archive.open(info) as file:
                        data = file.read(limit + 1)
                    if len(data) <= limit:
                        self._files[name] = (data, (info.CRC, info.file_size, info.compress_size, 0))
            except Exception:  # noqa: BLE001 - absent or damaged: read as missing
                continue

    def read(self, name: str, limit: int = MAX_SMALL) -> Optional[bytes]:
        found = self._files.get(name)
        return found[0] if found is not None and len(found[0]) <= limit else None

    def head(self, name: str) -> Optional[bytes]:
        return self.read(name, MAX_METADATA)

    def stat(self, name: str) -> tuple[int, int, int, int]:
        found = self._files.get(name)
        return found[1] if found is not None else MISSING

    def read_installed(self, relative: str, limit: int) -> Optional[bytes]:
        """Not kept: :mod:`._scan` reads a zipped source's files from the archive itself."""
        return None


def read_metadata(folder: Folder) -> Optional[Metadata]:
    """The folder's Name, Version and requirements (requires.txt when there is no Requires-Dist), or None."""
    text = folder.metadata_text()
    if text is None:
        return None
    found = parse_metadata(text)
    if not found.requires:
        extra = folder.read("requires.txt")
        if extra is not None:
            found = found._replace(requires=egg_requires(extra.decode("utf-8")))
    return found
