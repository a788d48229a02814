"""Import sources: installed distributions that may register environments when imported, read from metadata only.

A distribution is an import source for a host when, read as ``importlib.metadata`` reads it
(:mod:`._metadata`), one of these holds (``via`` says which):

* ``""``: it requires the host unconditionally. A marker that names ``extra`` makes a requirement
  optional and it does not count; other markers (``python_version``, ``sys_platform``) count as true:
  a wrong guess costs one child that finds nothing.
* ``"extra"``: the host's own metadata names it under an extra, and it names the host in any
  requirement (ale-py: ``gymnasium[atari]`` names ``ale_py``, which names gymnasium in its extras).
* the name of an installed distribution that requires the host unconditionally and that it requires
  unconditionally: a chain of two installed distributions (gym-super-mario-bros -> nes-py -> gym).

The hosts and gymplug are never sources, nor is a distribution that declares an entry in the host's
group (it is a plugin), nor one with no module of its own. A source's ``modules`` are the top-level
modules whose files its RECORD lists (its ``top_level.txt`` when it has no RECORD); a module that a
disabled distribution claims (in its RECORD, its ``top_level.txt`` or an entry point) is never one
(issue 17, B6). Zips on ``sys.path`` are read too. Nothing is imported; nothing here raises.

Cost: what each ``sys.path`` directory holds is kept in this process, keyed on the directory's stat,
and each metadata folder on its files' stats; the result is kept while every directory stats the
same. A call that finds nothing changed costs a stat per ``sys.path`` entry; a distribution installed
into the running process changes its directory and is found on the next call. A state younger than
two seconds is not trusted (coarse timestamps could hide a second change). A first call reads each
METADATA up to its headers: about 40 ms of CPU for 1,000 distributions (``benchmarks/sources.py``).
"""

from __future__ import annotations

import os
import re
import stat
import time
from typing import Iterable, NamedTuple, Optional

from .._cache import SETTLE_NS
from .._hosts import HOSTS, facts
from .._log import get_logger
from ._metadata import Folder, Requirement, ZipFolder, normalize, parse_requirement, read_metadata

__all__ = ["EXCLUDED", "Source", "clear_cache", "find_sources", "folder_signature"]

logger = get_logger(__name__)

#: Distributions that are never sources: gymplug itself and the hosts.
EXCLUDED = frozenset({"gymplug", *HOSTS})
_SUFFIXES = (".dist-info", ".egg-info")
_MAX_MODULES = 32
_MAX_DIRECTORIES = 256  # directories kept in this process; the least recently read go first
_MAX_RESULTS = 16  # (host, disabled names) results kept


class Source(NamedTuple):
    """One distribution whose import may register environments. Immutable."""

    #: PEP 503 normalized name: the key of everything learned about it
    key: str
    version: str
    #: the top-level modules it owns, sorted, at most 32
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


def folder_signature(folder: str) -> tuple[int, ...]:
    """The state of a metadata folder: stats of its METADATA and RECORD (egg-info: PKG-INFO, installed-files.txt)."""
    return Folder(folder).signature()


def _identifier(name: str) -> bool:
    return name.isidentifier() and not name.startswith("__editable__")


def _top(path: str) -> Optional[str]:
    """The top-level module a RECORD path belongs to: ``x/...``, ``x.py``, ``x.cpython-311-....so``."""
    top, sep, _ = path.partition("/")
    if not top or top in ("..", ".", "__pycache__") or top.endswith((".dist-info", ".data", ".egg-info")):
        return None
    if not sep:
        if not top.endswith((".py", ".so", ".pyd", ".pyc")):
            return None
        top = top.partition(".")[0]
    return top if _identifier(top) else None


class _Dist:
    """One metadata folder as read; kept while its files stat the same. What only sources need is read lazily."""

    __slots__ = (
        *("key", "version", "folder", "signature", "lines", "settled"),
        *("_requires", "_blob", "_entries", "_modules", "_claims"),
    )

    def __init__(
        self,
        folder: Folder,
        key: str,
        version: str,
        signature: tuple[int, ...],
        lines: tuple[str, ...],
        settled: bool,
    ) -> None:
        self.folder = folder
        self.key = key
        self.version = version
        self.signature = signature
        #: its requirement lines as written; parsed when a rule needs them (most distributions never)
        self.lines = lines
        self._requires: Optional[tuple[Requirement, ...]] = None
        self._blob: Optional[str] = None
        self.settled = settled
        self._entries: Optional[list[tuple[str, str]]] = None
        self._modules: Optional[tuple[str, ...]] = None
        self._claims: Optional[frozenset[str]] = None

    @property
    def requires(self) -> tuple[Requirement, ...]:
        if self._requires is None:
            self._requires = tuple(r for r in map(parse_requirement, self.lines) if r is not None)
        return self._requires

    @property
    def blob(self) -> str:
        """Its requirement lines normalized as names are: searched before they are parsed."""
        if self._blob is None:
            self._blob = normalize(" ".join(self.lines))
        return self._blob

    def names_host(self, host: str, unconditionally: bool) -> bool:
        if host not in self.blob:
            return False
        return any(r.name == host and not (unconditionally and r.conditional) for r in self.requires)

    def entry_points(self) -> list[tuple[str, str]]:
        """(group, value) of every entry point in entry_points.txt (malformed lines included)."""
        if self._entries is None:
            entries: list[tuple[str, str]] = []
            data = self.folder.read("entry_points.txt")
            group = ""
            for raw in (data or b"").decode("utf-8", "replace").splitlines():
                line = raw.strip()
                if line.startswith("["):
                    group = line.strip("[]").strip()
                elif line and not line.startswith(("#", ";")):
                    entries.append((group, line.partition("=")[2].strip()))
            self._entries = entries
        return self._entries

    def declares(self, group: str) -> bool:
        return any(g == group for g, _ in self.entry_points())

    def _top_level(self) -> set[str]:
        data = self.folder.read("top_level.txt")
        if data is None:
            return set()
        lines = data.decode("utf-8", "replace").splitlines()
        names = (line.strip().replace("\\", "/").partition("/")[0] for line in lines)
        return {name for name in names if _identifier(name)}

    def _record(self) -> Optional[set[str]]:
        files = self.folder.installed_files()
        return None if files is None else {top for top in map(_top, files) if top}

    def modules(self) -> tuple[str, ...]:
        """The top-level modules it owns: from RECORD, else top_level.txt; sorted."""
        if self._modules is None:
            owned = self._record() or self._top_level()
            self._modules = tuple(sorted(owned))
        return self._modules

    def claims(self) -> frozenset[str]:
        """Every top-level module it may run: RECORD, top_level.txt and its entry points' modules (a disabled one's)."""
        if self._claims is None:
            tops = {value.partition(":")[0].strip().partition(".")[0] for _, value in self.entry_points()}
            self._claims = frozenset((self._record() or set()) | self._top_level() | {t for t in tops if t})
        return self._claims


def _folder_name(entry: str) -> tuple[str, str]:
    """(normalized name, version or "") of a metadata folder's name."""
    project, _, rest = entry.rpartition(".")[0].partition("-")
    return normalize(project), rest.partition("-")[0]


def _read_dist(folder: Folder, entry: str, signature: tuple[int, ...], now: int) -> _Dist:
    key, version = _folder_name(entry)
    lines: tuple[str, ...] = ()
    try:
        found = read_metadata(folder)
    except Exception:  # noqa: BLE001 - hostile metadata: it shadows its name, and is no source
        found = None
    if found is not None:
        version = found.version or version
        lines = found.requires
    settled = all(now - mtime > SETTLE_NS for mtime in signature[::4])
    return _Dist(folder, key, version or "?", signature, lines, settled)


class _Listing(NamedTuple):
    state: tuple[int, ...]
    settled: bool
    dists: tuple[_Dist, ...]


class _Result(NamedTuple):
    state: tuple[tuple[str, tuple[int, ...]], ...]
    settled: bool
    found: tuple[_Dist, ...]  # the distribution of each name, in path order (compared by identity)
    usable: tuple[Source, ...]
    blocked: tuple[Source, ...]


_DIRECTORIES: dict[str, _Listing] = {}
_RESULTS: dict[tuple[str, frozenset[str]], _Result] = {}


def clear_cache() -> None:
    """Forget what this process has read of the metadata on ``sys.path``."""
    _DIRECTORIES.clear()
    _RESULTS.clear()


def _state(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns, st.st_dev)


def _keep(directory: str, listing: _Listing) -> None:
    _DIRECTORIES.pop(directory, None)
    _DIRECTORIES[directory] = listing  # most recently read last
    while len(_DIRECTORIES) > _MAX_DIRECTORIES:
        _DIRECTORIES.pop(next(iter(_DIRECTORIES)), None)


def _directory(directory: str, state: tuple[int, ...], now: int) -> _Listing:
    """The distributions in a directory, in listing order; folders whose files stat the same are not read again."""
    cached = _DIRECTORIES.get(directory)
    if cached is not None and cached.state == state and cached.settled:
        return cached
    known = {d.folder.path: d for d in cached.dists} if cached is not None else {}
    try:
        names = os.listdir(directory)
    except (OSError, ValueError):
        names = []  # unreadable: holds nothing until it changes
    dists = []
    for entry in names:
        if not entry.lower().endswith(_SUFFIXES):
            continue
        folder = Folder(os.path.join(directory, entry))
        signature = folder.signature()
        old = known.get(folder.path)
        if old is not None and old.settled and old.signature == signature:
            dists.append(old)
        else:
            dists.append(_read_dist(folder, entry, signature, now))
    listing = _Listing(state, now - state[0] > SETTLE_NS and all(d.settled for d in dists), tuple(dists))
    _keep(directory, listing)
    return listing


def _zip(entry: str, state: tuple[int, ...], now: int) -> _Listing:
    """The distributions in a zip on the path (a zipapp, a zipped site), in importlib's order."""
    cached = _DIRECTORIES.get(entry)
    if cached is not None and cached.state == state and cached.settled:
        return cached
    import zipfile

    dists = []
    try:
        with zipfile.ZipFile(entry) as archive:
            members = archive.namelist()
            for name in dict.fromkeys(m.split("/", 1)[0] for m in members):
                if name.lower().endswith(_SUFFIXES):
                    folder = ZipFolder(archive, entry, name)
                    dists.append(_read_dist(folder, name, folder.signature(), now))
    except Exception as exc:  # noqa: BLE001 - not a zip, or a damaged one
        logger.info("skipping %r on sys.path: %s", entry, exc)
    listing = _Listing(state, now - state[0] > SETTLE_NS, tuple(dists))
    _keep(entry, listing)
    return listing


def _entries(path: Iterable[object]) -> list[tuple[str, os.stat_result]]:
    """(absolute entry, stat) of each usable ``sys.path`` entry: non-str entries skipped, as the import system
    skips them; so is '' (any relative entry) when the current directory has been deleted (B14)."""
    found = []
    for item in path:
        if not isinstance(item, str):
            continue
        try:
            directory = os.path.abspath(item or ".")  # os.getcwd() raises if the directory was deleted
            st = os.stat(directory)
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
            found.append((directory, st))
    return found


def find_sources(host: str, path: Iterable[object], disable: Iterable[str] = ()) -> tuple[list[Source], list[Source]]:
    """(usable, disabled) import sources for ``host`` on ``path`` (a sys.path list); the first of a name wins.

    ``disable`` holds the names whose code must never run (GYMPLUG_DISABLE): their sources are the second
    list, and the modules they claim are no other source's. Never raises: what cannot be read is skipped.
    """
    try:
        return _find(host, path, frozenset(map(normalize, disable)))
    except Exception as exc:  # noqa: BLE001 - a scan must never break a lookup
        logger.warning("gymplug: could not read the import sources on sys.path: %s: %s", type(exc).__name__, exc)
        return [], []


def _find(host: str, path: Iterable[object], disable: frozenset[str]) -> tuple[list[Source], list[Source]]:
    entries = _entries(path)
    state = tuple((entry, _state(st)) for entry, st in entries)
    cached = _RESULTS.get((host, disable))
    if cached is not None and cached.state == state and cached.settled:
        return list(cached.usable), list(cached.blocked)
    now = time.time_ns()
    dists: dict[str, _Dist] = {}
    settled = True
    for (entry, st), (_, key) in zip(entries, state):
        listing = _directory(entry, key, now) if stat.S_ISDIR(st.st_mode) else _zip(entry, key, now)
        settled = settled and listing.settled
        for dist in listing.dists:
            dists.setdefault(dist.key, dist)  # the first of a name wins, whether or not it is a source
    found = tuple(dists.values())
    if cached is not None and cached.found == found:  # a directory changed, not what it holds (a log written in '')
        usable, blocked = list(cached.usable), list(cached.blocked)
    else:
        usable, blocked = _sources(host, facts(host).group, dists, disable)
    _RESULTS.pop((host, disable), None)
    _RESULTS[(host, disable)] = _Result(state, settled, found, tuple(usable), tuple(blocked))
    while len(_RESULTS) > _MAX_RESULTS:
        _RESULTS.pop(next(iter(_RESULTS)), None)
    return usable, blocked


def _via(
    host: str, dist: _Dist, extras: frozenset[str], intermediates: frozenset[str], named: Optional["re.Pattern[str]"]
) -> Optional[str]:
    """Why ``dist`` is a source ("", "extra" or the intermediate's name), or None if it is not one."""
    if dist.names_host(host, unconditionally=True):
        return ""
    if dist.key in extras and dist.names_host(host, unconditionally=False):
        return "extra"
    if named is None or named.search(dist.blob) is None:
        return None
    chain = sorted({r.name for r in dist.requires if not r.conditional and r.name in intermediates} - {dist.key})
    return chain[0] if chain else None


def _sources(
    host: str, group: str, dists: dict[str, _Dist], disable: frozenset[str]
) -> tuple[list[Source], list[Source]]:
    host_dist = dists.get(host)
    host_extras = frozenset(r.name for r in host_dist.requires if r.conditional) if host_dist else frozenset()
    intermediates = frozenset(k for k, d in dists.items() if k not in EXCLUDED and d.names_host(host, True))
    named = re.compile("|".join(map(re.escape, sorted(intermediates)))) if intermediates else None
    claimed = {key: dists[key].claims() for key in disable if key in dists}
    usable: list[Source] = []
    blocked: list[Source] = []
    for key, dist in dists.items():
        if key in EXCLUDED:
            continue
        via = _via(host, dist, host_extras, intermediates, named)
        if via is None or dist.declares(group):
            continue
        others = frozenset().union(*(c for k, c in claimed.items() if k != key))
        modules = tuple(m for m in dist.modules() if m not in others)[:_MAX_MODULES]
        if not modules:
            continue
        depends = {(r.name, dists[r.name].version if r.name in dists else "") for r in dist.requires if r.name != key}
        source = Source(key, dist.version, modules, dist.signature, dist.folder.path, tuple(sorted(depends)), via)
        (blocked if key in disable else usable).append(source)
    return usable, blocked
