"""Import sources: installed distributions that may register environments when imported, read from metadata only.

A distribution is an import source for a host when it requires the host (a ``Requires-Dist`` of
``gym`` or ``gymnasium``), declares nothing in the host's entry-point group, and has top-level
modules. Nothing is imported: the metadata folders are read as bytes, with bounds, like discovery
reads them, and a folder that cannot be read or decoded is skipped.

A requirement whose marker names ``extra`` does not count: the host is then optional, and a
package's top-level import does not reach optional integrations (importing them all to find out
would cost every user a child process per heavy package). Other markers (``python_version``,
``sys_platform``) count as if true: a wrong guess costs one child that finds nothing.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from typing import Iterable, NamedTuple, Optional

from .._hosts import HOSTS, facts

__all__ = ["Source", "find_sources", "folder_signature"]

_SUFFIXES = (".dist-info", ".egg-info")
_MAX_METADATA = 1 << 20  # bytes of METADATA read: the headers come first
_MAX_RECORD = 16 << 20
_MAX_SMALL = 64 << 10  # top_level.txt, requires.txt, entry_points.txt
_MAX_MODULES = 32
_NAME_SEP = re.compile(r"[-_.]+")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)(?:;(.*))?$")
_EXTRA_MARKER = re.compile(r"\bextra\s*[=!]=")
#: Distributions that are never sources: gymplug itself and the hosts.
EXCLUDED = frozenset({"gymplug", *HOSTS})
#: The stat fields a metadata file is known by: an upgrade or a reinstall changes at least one.
_MISSING = (-1, -1, -1, -1)


class Source(NamedTuple):
    """One distribution whose import may register environments. Immutable."""

    #: PEP 503 normalized name: the key of everything learned about it
    key: str
    version: str
    #: the importable top-level modules, sorted
    modules: tuple[str, ...]
    #: stats of its METADATA and RECORD (or PKG-INFO and installed-files.txt): 8 ints
    signature: tuple[int, ...]
    #: the metadata folder (absolute): two projects sharing one venv, each with its own copy, are two sources
    folder: str
    #: (normalized name, installed version or "") of every requirement it names, extras included, sorted:
    #: what its learned ids may depend on
    depends: tuple[tuple[str, str], ...] = ()
    #: why it is a source: "" it requires the host; "extra" the host names it in an extra and it names the
    #: host; else the installed distribution it reaches the host through ("nes-py")
    via: str = ""


def _normalize(name: str) -> str:
    return _NAME_SEP.sub("-", name).lower()


def _read(path: str, limit: int) -> Optional[bytes]:
    """At most ``limit`` bytes of a regular file, or None (missing, not a file, unreadable, larger)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
        return None if len(data) > limit else data
    except OSError:
        return None
    finally:
        os.close(fd)


def _file_stat(path: str) -> tuple[int, ...]:
    try:
        st = os.stat(path)
    except OSError:
        return _MISSING
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def folder_signature(folder: str) -> tuple[int, ...]:
    """The state of a metadata folder: stats of its METADATA and RECORD (egg-info: PKG-INFO, installed-files.txt)."""
    egg = folder.lower().endswith(".egg-info")
    first, second = ("PKG-INFO", "installed-files.txt") if egg else ("METADATA", "RECORD")
    return _file_stat(os.path.join(folder, first)) + _file_stat(os.path.join(folder, second))


def _headers(text: str) -> tuple[dict[str, str], list[str]]:
    """The single headers (lower-cased names) and every Requires-Dist value of a METADATA text."""
    single: dict[str, str] = {}
    requires: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            break
        if line[:1] in " \t":  # a continuation line
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "requires-dist":
            requires.append(value.strip())
        else:
            single.setdefault(key, value.strip())
    return single, requires


def _required(requirement: str) -> Optional[str]:
    """The normalized name a requirement line needs unconditionally (extras aside), or None."""
    match = _REQUIREMENT.match(requirement)
    if match is None or (match[3] and _EXTRA_MARKER.search(match[3])):
        return None
    return _normalize(match[1])


def _egg_requires(text: str) -> list[str]:
    """The requirement lines of a requires.txt outside ``[extra]`` sections (``[:marker]`` ones count)."""
    lines, optional = [], False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            optional = not line.startswith("[:")
        elif line and not optional:
            lines.append(line)
    return lines


def _declares(data: bytes, group: str) -> bool:
    """Does an entry_points.txt hold at least one entry in ``group``? (Malformed ones count: discovery reports them.)"""
    if f"[{group}]".encode() not in data:
        return False
    inside = False
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{group}]"
        elif inside and line and not line.startswith(("#", ";")):
            return True
    return False


def _is_module_name(name: str) -> bool:
    return name.isidentifier() and not name.startswith("__editable__")


def _record_modules(data: bytes) -> list[str]:
    """Top-level modules and packages listed in a RECORD: ``x.py``, ``x/...``, ``x.cpython-311-....so``."""
    found = set()
    for row in csv.reader(data.decode("utf-8").splitlines()):
        if not row:
            continue
        path = row[0].replace("\\", "/")
        top, sep, _ = path.partition("/")
        if not top or top in ("..", ".", "__pycache__") or top.endswith((".dist-info", ".data", ".egg-info")):
            continue
        if sep:
            found.add(top)
        elif top.endswith((".py", ".so", ".pyd")):
            found.add(top.partition(".")[0])
    return [name for name in found if _is_module_name(name)]


def _modules(folder: str) -> list[str]:
    top = _read(os.path.join(folder, "top_level.txt"), _MAX_SMALL)
    if top is not None:
        names = [line.strip().replace("\\", "/").partition("/")[0] for line in top.decode("utf-8").splitlines()]
        return sorted({name for name in names if _is_module_name(name)})
    record = _read(os.path.join(folder, "RECORD"), _MAX_RECORD)
    return sorted(_record_modules(record)) if record is not None else []


def _source(directory: str, entry: str, hosts: dict[str, str]) -> Optional[tuple[str, Source]]:
    """The host this folder is a source for and the source, or None. May raise on hostile bytes."""
    folder = os.path.join(directory, entry)
    egg = entry.lower().endswith(".egg-info")
    meta = _read(os.path.join(folder, "PKG-INFO" if egg else "METADATA"), _MAX_METADATA)
    if meta is None or not (egg or b"gym" in meta.lower()):  # the fast path: most distributions never mention a host
        return None
    single, requires = _headers(meta.decode("utf-8"))
    if egg:
        extra = _read(os.path.join(folder, "requires.txt"), _MAX_SMALL)
        requires += _egg_requires(extra.decode("utf-8")) if extra is not None else []
    needed = {name for name in map(_required, requires) if name}
    host = next((h for h in hosts if h in needed), None)
    if host is None:
        return None
    project, _, rest = entry.rpartition(".")[0].partition("-")
    key = _normalize(project)  # from the folder's name, as discovery names it
    version = rest.partition("-")[0] or single.get("version") or "?"
    if key in EXCLUDED:
        return None
    entry_points = _read(os.path.join(folder, "entry_points.txt"), _MAX_SMALL * 16)
    if entry_points is not None and _declares(entry_points, hosts[host]):
        return None
    modules = _modules(folder)
    if not modules:
        return None
    return host, Source(key, version, tuple(modules[:_MAX_MODULES]), folder_signature(folder), folder)


def find_sources(host: str, path: Iterable[str], disable: Iterable[str] = ()) -> list[Source]:
    """The import sources for ``host`` on ``path`` (a sys.path list), first of a name wins; never raises.

    ``disable`` holds normalized names whose code must never run (GYMPLUG_DISABLE): they are skipped.
    """
    group = facts(host).group
    seen = set(disable)
    found: list[Source] = []
    for item in path:
        directory = os.path.abspath(item or ".")
        try:
            entries = sorted(os.listdir(directory))
        except (OSError, ValueError):
            continue
        for entry in entries:
            if not entry.lower().endswith(_SUFFIXES):
                continue
            name = _normalize(entry.rpartition(".")[0].partition("-")[0])
            if name in seen:
                continue
            seen.add(name)  # first of a name wins, whether or not it is a source
            try:
                result = _source(directory, entry, {host: group})
            except (OSError, ValueError, UnicodeError, csv.Error):  # hostile metadata: not a source
                continue
            if result is not None:
                found.append(result[1])
    return found
