"""Where a source registers: its own modules whose text calls the host's registration, read from RECORD, never imported.

:func:`registration_modules` reads the ``.py`` files that the source's RECORD lists under the
modules it owns (``Source.modules``; test files, ``tests``/``test`` packages and ``__main__`` aside)
and keeps the modules whose text registers, as far as text can tell:

* a call ``X.register(`` where ``X`` is the host (``gymnasium.register(``, ``gym.envs.registration.register(``,
  an alias of an import of the host), or a name such as ``envs`` / ``registration`` / ``registry`` that
  the file binds to nothing of its own;
* a call of ``register(`` (or an alias of it) imported from the host or from another distribution (a
  helper such as ``gp_learn_base.register``), or of unknown origin;
* a call of a ``*regist*`` function (``register_v5_envs()``, ``_register_highway_envs()``) imported
  from one of its own modules that registers, or an attribute call of one (``registration.register_all()``);
* ``registry[...] = ...`` / ``env_specs[...] = ...``, or ``EnvSpec(`` with ``registry`` mentioned, in a
  file that imports the host.

A ``register`` of its own that never reaches the host is no registration (pettingzoo's own registry),
nor is ``EnvSpec(`` alone (stable-baselines3 gives an env a spec), nor ``x.register(`` on another
object (``functools.singledispatch``, ``torch``'s ``register_buffer``) or on a module of the standard
library (``atexit``). Comments and docstrings are read as code:
a false positive costs one child process, a false negative loses environments.

Bounds: at most 2,000 files, 2 MiB each, 32 MiB in all; beyond them the answer is None. Only files
that mention ``regist``, ``EnvSpec`` or ``env_specs`` are parsed further (regular expressions on bytes,
each led by a literal). Cost, CPU on Python 3.11 (``python benchmarks/sources.py --real``): 0.4 ms for
gym-trading-env (8 files), 0.8 ms for tetris-gymnasium (19), 3-4 ms for ale-py, shimmy and highway-env,
8-14 ms for pettingzoo (183 files), stable-baselines3 (64) and minigrid (61): the price of one child
process saved is about a second.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, NamedTuple, Optional

from .._hosts import HOSTS
from .._log import get_logger
from ._metadata import Folder, ZipFolder, read_bounded
from ._sources import Source

__all__ = ["MAX_BYTES", "MAX_FILE", "MAX_FILES", "registration_modules"]

logger = get_logger(__name__)

MAX_FILES = 2000
MAX_FILE = 2 << 20
MAX_BYTES = 32 << 20
_MAX_RESULT = 32
_COMPILED = (".so", ".pyd")
_NEEDLES = (b"regist", b"EnvSpec", b"env_specs")
_HOST_NAMES = frozenset(HOSTS)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ("atexit", "codecs", "copyreg", "functools")))  # 3.9: a few
# Names that mean the host's registration when the file binds them to nothing of its own.
_HOSTISH = frozenset({*HOSTS, "envs", "registration", "registry"})
# Each pattern starts with a literal, which the regex engine looks for first: a file is read in one pass or so.
_FROM = re.compile(rb"(?<![\w.])from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)")
_IMPORT = re.compile(rb"(?<![\w.])import[ \t]+([^\n#;]+)")
_REGIST_CALL = re.compile(rb"regist\w*[ \t]*\(")  # then what comes before it is read back (see _calls)
_REGISTRY_SET = re.compile(rb"(?:registry|env_specs)[ \t]*\[[^\]\n]*\][ \t]*=(?!=)")
_ENV_SPEC = re.compile(rb"(?<!\w)EnvSpec[ \t]*\(")
_WORD = re.compile(rb"[A-Za-z_0-9]*\Z")


class _File(NamedTuple):
    """What one file's text says about registration."""

    module: str
    package: str  # what a relative import in it is relative to
    host_imported: bool
    direct: bool  # registry assignment, or EnvSpec with the registry
    origins: dict[str, tuple[str, str]]  # local name -> (absolute module, imported name or "" for a module)
    stars: tuple[str, ...]  # modules it imports * from
    calls: tuple[str, ...]  # bare calls of *regist* names and of aliases of them
    attr_calls: tuple[tuple[str, str], ...]  # (object, *regist* name)


def _module_name(path: str) -> Optional[tuple[str, bool]]:
    """(dotted module, is a package) of a RECORD path ``a/b/c.py``, or None when it is not importable or a test."""
    parts = path[:-3].split("/")
    if not all(p.isidentifier() for p in parts) or any(p in ("tests", "test") for p in parts[:-1]):
        return None
    last = parts[-1]
    if last == "__main__" or last == "conftest" or last.startswith("test_") or last.endswith("_test"):
        return None
    if last == "__init__":
        return (".".join(parts[:-1]), True) if len(parts) > 1 else None
    return ".".join(parts), False


def _absolute(module: str, package: str) -> str:
    """``from .x import y`` in ``package`` -> ``package.x``."""
    level = len(module) - len(module.lstrip("."))
    if not level:
        return module
    base = package.split(".")
    base = base[: len(base) - (level - 1)] if level - 1 < len(base) else []
    rest = module[level:]
    return ".".join([*base, rest] if rest else base)


def _names(text: str) -> list[tuple[str, str]]:
    """(imported, bound) of ``a, b as c`` (parentheses and line continuations allowed)."""
    found = []
    text = re.sub(r"#[^\n]*", "", text).strip().strip("()").replace("\\\n", " ")
    for item in text.split(","):
        words = item.split()
        if len(words) == 1:
            found.append((words[0], words[0]))
        elif len(words) == 3 and words[1] == "as":
            found.append((words[0], words[2]))
    return found


def _statement_start(data: bytes, index: int) -> bool:
    """Does only indentation stand between the start of its line and ``index``?"""
    return not data[data.rfind(b"\n", 0, index) + 1 : index].strip()


def _word_before(data: bytes, index: int) -> bytes:
    """The identifier characters just before ``index`` (at most 200)."""
    found = _WORD.search(data, max(0, index - 200), index)
    return found.group() if found is not None else b""


def _calls(data: bytes) -> tuple[set[str], set[tuple[str, str]]]:
    """Bare calls ``name(`` and attribute calls ``obj.name(`` of names that hold ``regist``; definitions aside."""
    bare: set[str] = set()
    attributes: set[tuple[str, str]] = set()
    for match in _REGIST_CALL.finditer(data):
        start = match.start() - len(_word_before(data, match.start()))
        name = data[start : match.end()].split(b"(")[0].strip().decode("ascii", "replace")
        if not name or not (name[0].isalpha() or name[0] == "_"):
            continue
        before = data[max(0, start - 200) : start].rstrip(b" \t")
        if before.endswith(b"."):
            head = before[:-1].rstrip(b" \t")
            obj = _word_before(head, len(head)).decode("ascii", "replace")
            if obj:
                attributes.add((obj, name))
        elif _word_before(before, len(before)) not in (b"def", b"class"):
            bare.add(name)
    return bare, attributes


def _read_file(module: str, package: bool, data: bytes) -> _File:
    pkg = module if package else module.rpartition(".")[0]
    origins: dict[str, tuple[str, str]] = {}
    stars = []
    for source, names in _FROM.findall(data):
        target = _absolute(source.decode("ascii", "replace"), pkg)
        for imported, bound in _names(names.decode("utf-8", "replace")):
            if imported == "*":
                stars.append(target)
            else:
                origins[bound] = (target, imported)
    for found in _IMPORT.finditer(data):
        if not _statement_start(data, found.start()):
            continue  # the `import` of a `from ... import`
        for imported, bound in _names(found.group(1).decode("utf-8", "replace")):
            if bound == imported:  # `import a.b` binds `a`
                bound = imported = imported.partition(".")[0]
            origins[bound] = (imported, "")
    host_imported = any(m.partition(".")[0] in _HOST_NAMES for m in [*stars, *(m for m, _ in origins.values())])
    direct = host_imported and (
        (b"registry" in data or b"env_specs" in data)
        and (_REGISTRY_SET.search(data) is not None or (b"EnvSpec" in data and _ENV_SPEC.search(data) is not None))
    )
    calls, attr_calls = _calls(data)
    for bound, (_, imported) in origins.items():  # `from gymnasium import register as reg`; reg(...)
        if "regist" in imported and "regist" not in bound:
            if re.search(rb"(?<![\w.])" + re.escape(bound.encode()) + rb"[ \t]*\(", data):
                calls.add(bound)
    return _File(
        module, pkg, host_imported, direct, origins, tuple(stars), tuple(sorted(calls)), tuple(sorted(attr_calls))
    )


class _Package:
    """The files of one source that mention registration, and which of them register."""

    def __init__(self, files: dict[str, _File], own: set[str], tops: tuple[str, ...]) -> None:
        self.files = files
        self.own = own  # every importable module of the source, registering or not
        self.tops = tops
        self._memo: dict[str, bool] = {}

    def is_own(self, module: str) -> bool:
        return module.partition(".")[0] in self.tops

    def registers(self, module: str) -> bool:
        """Does importing ``module`` (an own module) register, as far as its text and its imports tell?"""
        if module not in self._memo:
            self._memo[module] = False  # a cycle of imports adds nothing
            found = self.files.get(module)
            self._memo[module] = found is not None and self._file_registers(found)
        return self._memo[module]

    def _reaches(self, module: str, name: str) -> bool:
        """Does ``name`` of ``module`` (a function, or a submodule when ``name`` names one) register?"""
        top = module.partition(".")[0]
        if top in _HOST_NAMES:
            return name == "register"
        if top in _STDLIB:
            return False  # atexit.register, copyreg, codecs: never a host's registration
        if not self.is_own(module):
            return name == "register"  # another distribution's helper: err towards a child
        candidate = f"{module}.{name}"
        while candidate:  # the submodule, else the module that defines the name (or an object holding it)
            if candidate in self.files:
                return self.registers(candidate)
            if candidate in self.own:
                return False  # its text never mentions registration
            candidate = candidate.rpartition(".")[0]
        return name == "register"  # an own module not found as text (compiled): unknown

    def _file_registers(self, found: _File) -> bool:
        if found.direct:
            return True
        for name in found.calls:
            if name in found.origins:
                module, imported = found.origins[name]
                if imported and self._reaches(module, imported):
                    return True
            elif name == "register" or any(self._reaches(star, name) for star in found.stars):
                return True  # `register(` of unknown origin, or brought by `import *`
        for obj, name in found.attr_calls:
            if obj in found.origins:
                module, imported = found.origins[obj]
                if self._reaches(f"{module}.{imported}" if imported else module, name):
                    return True
            elif obj in _HOSTISH and name == "register" and found.host_imported:
                return True
        return False


class _TooLarge(Exception):
    """A file larger than the bound: the scan cannot tell."""


class _Files:
    """The files of a source, named as its RECORD names them: in a directory, or in a zip on sys.path."""

    def __init__(self, folder: str) -> None:
        self._archive: Any = None
        self._prefix = ""
        self._base = os.path.dirname(folder)
        if os.path.isdir(self._base):
            self.paths = Folder(folder).installed_files()
            return
        archive_path, inner = self._base, ""
        while archive_path and not os.path.isfile(archive_path):  # a folder inside a zip on sys.path
            archive_path, tail = os.path.split(archive_path)
            if not tail:
                break
            inner = f"{tail}/{inner}"
        import zipfile

        self._archive = zipfile.ZipFile(archive_path)
        self._prefix = inner.replace(os.sep, "/")
        self.paths = ZipFolder(self._archive, archive_path, self._prefix + os.path.basename(folder)).installed_files()

    def read(self, relative: str) -> Optional[bytes]:
        """The file's bytes; None when it is not there; _TooLarge beyond MAX_FILE."""
        if self._archive is None:
            path = os.path.join(self._base, *relative.split("/"))
            data = read_bounded(path, MAX_FILE)
            if data is None and os.path.isfile(path) and os.path.getsize(path) > MAX_FILE:
                raise _TooLarge(relative)
            return data
        try:
            info = self._archive.getinfo(self._prefix + relative)
        except KeyError:
            return None
        if info.file_size > MAX_FILE:
            raise _TooLarge(relative)
        with self._archive.open(info) as file:
            return file.read(MAX_FILE + 1)

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()


def registration_modules(source: Source, host: str) -> Optional[tuple[str, ...]]:
    """The source's own modules (dotted, namespace packages included) whose text calls the host's registration.

    ``()`` when none of its Python files could register anything (no child is needed); None when it cannot
    tell (no RECORD, compiled modules only, beyond the bounds). At most 32 modules, shallowest first.
    Found by reading, never importing; never raises.
    """
    try:
        return _registration_modules(source)
    except Exception as exc:  # noqa: BLE001 - hostile files: a child will look
        logger.info("could not read %s's modules: %s: %s", source.key, type(exc).__name__, exc)
        return None


def _registration_modules(source: Source) -> Optional[tuple[str, ...]]:
    files = _Files(source.folder)
    try:
        return _scan(source.modules, files)
    except _TooLarge:
        return None
    finally:
        files.close()


def _scan(tops: tuple[str, ...], reader: _Files) -> Optional[tuple[str, ...]]:
    paths = reader.paths
    if paths is None:
        return None
    sources: list[tuple[str, str, bool]] = []
    compiled = False
    for path in paths:
        top = path.partition("/")[0].partition(".")[0]
        if top not in tops or path.startswith(("../", "/")):
            continue
        if path.endswith(".py"):
            named = _module_name(path)
            if named is not None:
                sources.append((path, *named))
        elif path.endswith(_COMPILED) or (path.endswith(".pyc") and "__pycache__/" not in path):
            compiled = True
    if not sources:
        return None if compiled or not any(p.partition("/")[0].partition(".")[0] in tops for p in paths) else ()
    if len(sources) > MAX_FILES:
        return None
    files: dict[str, _File] = {}
    total = 0
    for path, module, package in sources:
        data = reader.read(path)
        if data is None:
            continue  # listed but gone: it cannot be imported either
        total += len(data)
        if total > MAX_BYTES:
            return None
        if any(needle in data for needle in _NEEDLES):
            files[module] = _read_file(module, package, data)
    found = _Package(files, {module for _, module, _ in sources}, tops)
    registering = sorted((m for m in files if found.registers(m)), key=lambda m: (m.count("."), m))
    if not registering and compiled:
        return None
    return tuple(registering[:_MAX_RESULT])
