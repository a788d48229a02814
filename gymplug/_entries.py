"""Entry points as gymplug reads them: parse name/value pairs into declarations or problems."""

from __future__ import annotations

import enum
import functools
import re
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

__all__ = [
    "ROOT_NAMES",
    "Declaration",
    "Distribution",
    "EntryProblem",
    "Form",
    "entry_rows",
    "from_rows",
    "normalize_name",
    "parse_entry",
    "parse_entry_points",
    "parse_entry_points_text",
    "printable",
    "provides",
    "split_env_id",
]

#: Entry names that mean "the root namespace" (gym 0.22-0.26, gymnasium 0.26-0.29).
ROOT_NAMES = frozenset({"__root__", "__internal__"})


class _Pattern:
    """A regular expression compiled when first used: most processes that import this module (a first
    ``make`` of a built-in reads the cache only) never use most of them, and compiling is most of the
    cost of importing it."""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: Optional[re.Pattern[str]] = None

    def __getattr__(self, name: str) -> Any:  # match, search, findall: the compiled pattern's methods
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._source, self._flags)
        return getattr(compiled, name)


# The hosts' own id grammar, `[namespace/]name[-vN]`, less ':' which make() reads as "module:id".
_ENV_ID = _Pattern(r"^(?:(?P<ns>[\w-]+)/)?(?P<name>[\w.-]+?)(?:-v(?P<version>\d+))?$")
_NAMESPACE = _Pattern(r"^[\w-]+$")
_VALUE = _Pattern(r"^(?P<module>[^:\[\]\s]+)\s*(?::\s*(?P<attr>[^:\[\]\s]+))?\s*(?P<extras>\[.*\])?$")
_DIST_SEP = re.compile(r"[-_.]+")
# One line of the common case, an env entry with an ASCII 'package.module:Attribute' value, which
# parse_entry would accept as it stands. Whole sections are matched at once: per-line Python work
# is what makes discovery slow (see benchmarks/).
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# The value as importlib reads it, 'module:attr' with no white space: one with spaces around ':' is
# normalized on the careful path.
_FAST_ENV_LINE = _Pattern(
    rf"^[ \t]*((?:[\w-]+/)?[\w.-]+-v\d+)[ \t]*=[ \t]*({_IDENT}(?:\.{_IDENT})*:{_IDENT})[ \t]*$", re.M
)
# What str.splitlines (and so importlib.metadata) ends a line at, besides '\n': the fast path splits
# on '\n' only, so a file holding any of these takes the careful path.
_OTHER_LINE_BREAKS = _Pattern("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@functools.lru_cache(maxsize=4096)  # hot: every declaration's distribution is compared by it
def normalize_name(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return _DIST_SEP.sub("-", name).lower()


def printable(text: str) -> str:
    """``text`` with control and format characters escaped: metadata is untrusted, terminals are not."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else ascii(c)[1:-1] for c in text)


def split_env_id(env_id: str) -> Optional[tuple[Optional[str], str, Optional[int]]]:
    """(namespace, name, version) of an env id, or None if it is not one."""
    match = _ENV_ID.match(env_id)
    if match is None:
        return None
    version = match["version"]
    return match["ns"], match["name"], None if version is None else int(version)


class Form(enum.Enum):
    """The two kinds of declaration."""

    ENV = "env"  # Form A: the entry name is an env id, the value an Env class or factory
    PLUGIN = "plugin"  # Form B: the entry name is a namespace, the value registers envs
    IMPORT = "import"  # no entry point: the distribution's top-level module registers envs when imported


class Distribution(NamedTuple):
    """An installed distribution that declares environments. Immutable."""

    name: str
    version: str

    @property
    def key(self) -> str:
        """PEP 503 normalized name: how GYMPLUG_DISABLE and conflicts compare distributions."""
        return normalize_name(self.name)

    def __str__(self) -> str:
        return printable(f"{self.name} {self.version}")


class _Entry:
    """What declarations and problems share: the ``name = value`` line they come from."""

    __slots__ = ()
    dist: Distribution
    group: str
    name: str
    value: str

    @property
    def entry(self) -> str:
        return printable(f"{self.name} = {self.value}")

    def describe(self) -> str:
        if getattr(self, "form", None) is Form.IMPORT:
            return f"{self.dist} (registers its environments when '{printable(self.value)}' is imported)"
        return f"{self.dist} (entry point {self.group}: '{self.entry}')"


class _DeclarationFields(NamedTuple):
    dist: Distribution
    group: str
    name: str
    value: str
    form: Form


class Declaration(_DeclarationFields, _Entry):
    """A well-formed entry: an env (Form A) or a registration plugin (Form B). Immutable.

    A tuple of five fields, because installs with thousands of env ids hold one per id; what else
    it tells is derived from the name and value, which :func:`parse_entry` has validated.
    """

    __slots__ = ()

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    @property
    def attr(self) -> Optional[str]:
        return self.value.partition(":")[2].strip() or None

    @property
    def env_id(self) -> Optional[str]:
        """The env id of a Form A entry."""
        return self.name if self.form is Form.ENV else None

    @property
    def namespace(self) -> Optional[str]:
        """The namespace of a Form B entry; None for Form A and for the root namespace."""
        return None if self.form is not Form.PLUGIN or self.name in ROOT_NAMES else self.name

    @property
    def plugin_name(self) -> str:
        """The name gymplug's plugin manager knows a Form B plugin by."""
        return f"{self.dist.name}:{self.name}"


class _ProblemFields(NamedTuple):
    dist: Distribution
    group: str
    name: str
    value: str
    reason: str


class EntryProblem(_ProblemFields, _Entry):
    """An entry gymplug cannot use, and why. Immutable."""

    __slots__ = ()

    @property
    def env_id(self) -> Optional[str]:
        """The env id the entry meant to declare, when its name is one."""
        parsed = split_env_id(self.name.strip())
        return self.name.strip() if parsed and parsed[2] is not None else None

    def describe(self) -> str:
        return f"{_Entry.describe(self)}: {self.reason}"


def _dotted(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _classify(name: str, value: str) -> tuple[str, str, str]:
    """(name, value, kind) of one entry, stripped: kind is "env", "plugin" or "!" and why it is malformed."""
    name, value = name.strip(), value.strip()
    if not name:
        return name, value, "!the entry has no name"
    if not value:
        return name, value, "!the entry has no value (expected 'module:attribute')"
    match = _VALUE.match(value)
    if match is None or not _dotted(match["module"]) or (match["attr"] and not _dotted(match["attr"])):
        return name, value, "!the value is not an object reference 'package.module:attribute'"
    if match["extras"]:
        return name, value, "!extras ('[...]') are not supported in environment entry points"
    attr = match["attr"]
    written, value = value, match["module"] + (":" + attr if attr else "")  # as importlib reads it

    if name in ROOT_NAMES:
        return name, value, "plugin"
    if name.startswith("__") and name.endswith("__"):
        return name, written, "!unknown magic namespace; use '__root__' for the root namespace"
    parsed = split_env_id(name)
    if parsed is not None and parsed[2] is not None:
        if attr is None:
            return name, written, "!an env entry must name an Env class or factory: 'package.module:Attribute'"
        if "." in attr:
            return name, written, "!the hosts resolve one attribute: 'package.module:Attribute', not a dotted path"
        return name, value, "env"
    if _NAMESPACE.match(name):
        return name, value, "plugin"
    if parsed is not None:
        return name, written, "!the name looks like an env id without a version; write it as 'Name-v0'"
    if ":" in name:
        return name, written, "!the name contains ':', which make() reads as 'module:id'"
    return name, written, "!the name is neither an env id ('[Namespace/]Name-vN') nor a namespace"


def parse_entry(dist: Distribution, group: str, name: str, value: str) -> Union[Declaration, EntryProblem]:
    """Classify one entry; never raises for any text."""
    declarations, problems = from_rows(dist, group, _classify(name, value))
    return declarations[0] if declarations else problems[0]


def parse_entry_points_text(text: str, group: str) -> Iterator[tuple[Optional[str], Optional[str], str]]:
    """(name, value, line) for each line of ``group``'s sections of an entry_points.txt.

    Tolerant by design: a line without '=' yields (None, None, line) instead of failing the file.
    Lines and section headers are found as importlib.metadata finds them:

    >>> list(parse_entry_points_text("[[gym.envs]]\\ra-v0 = m:E\\n[ gym.envs ]\\nb-v0 = m:E", "gym.envs"))
    [('a-v0 ', ' m:E', 'a-v0 = m:E')]
    """
    in_group = False
    for raw in text.splitlines():  # as importlib.metadata's Sectioned.read: every line break str knows
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):  # Sectioned.read again: '[[group]]' names group
            in_group = line.strip("[]") == group
            continue
        if not in_group:
            continue
        name, sep, value = line.partition("=")
        if sep:
            yield name, value, line
        else:
            yield None, None, line


def _fast_section(text: str, group: str) -> Optional[list[tuple[str, str]]]:
    """(env id, value) of every line of ``group``'s section when all are plain env entries, else None.

    Only for a file whose one mention of ``group`` is its section header, at the start of a line.
    """
    header = f"[{group}]\n"
    if _OTHER_LINE_BREAKS.search(text):
        return None
    start = text.find(header)
    if start < 0 or (start and text[start - 1] != "\n") or text.count(group) != 1:
        return None
    start += len(header)
    end = text.find("\n[", start - 1)
    if end < 0:
        body = text[start:]
    else:
        line_end = text.find("\n", end + 1)
        if not text[end + 1 : None if line_end < 0 else line_end].rstrip().endswith("]"):
            return None  # '[' opens a line that is no section header: an entry line
        body = text[start:end]
    found = _FAST_ENV_LINE.findall(body)
    lines = body.rstrip("\n").count("\n") + 1 if body.strip("\n") else 0
    if len(found) != lines and len(found) != sum(1 for line in body.split("\n") if line.strip()):
        return None  # a comment, a Form B or malformed entry, odd white space: the careful path
    return found


def entry_rows(text: str, group: str) -> list[str]:
    """``group``'s entries in an entry_points.txt, flat: name, value, kind, name, value, kind, ...

    ``kind`` is "env", "plugin", or "!" and the reason the entry is malformed. The flat list of
    strings is what the discovery cache stores; :func:`from_rows` turns it into declarations.
    """
    fast = _fast_section(text, group)
    if fast is not None:
        return [text for name, value in fast for text in (name, value, "env")]
    rows: list[str] = []
    for name, value, line in parse_entry_points_text(text, group):
        if name is not None and value is not None:
            rows += _classify(name, value)
        else:
            rows += (line, "", "!the line is not 'name = value'")
    return rows


def from_rows(dist: Distribution, group: str, rows: Sequence[str]) -> tuple[list[Declaration], list[EntryProblem]]:
    """The declarations and problems that :func:`entry_rows` describes, for ``dist``."""
    make, env, plugin = tuple.__new__, Form.ENV, Form.PLUGIN  # the namedtuple's __new__ is a Python call
    if rows[2::3].count("env") * 3 == len(rows):  # the common case, at C speed
        return [make(Declaration, (dist, group, name, value, env)) for name, value in zip(rows[0::3], rows[1::3])], []
    declarations: list[Declaration] = []
    problems: list[EntryProblem] = []
    it = iter(rows)
    for name, value, kind in zip(it, it, it):
        if kind == "env":
            declarations.append(make(Declaration, (dist, group, name, value, env)))
        elif kind == "plugin":
            declarations.append(make(Declaration, (dist, group, name, value, plugin)))
        else:
            problems.append(make(EntryProblem, (dist, group, name, value, kind[1:] or "malformed")))
    return declarations, problems


def parse_entry_points(dist: Distribution, group: str, text: str) -> tuple[list[Declaration], list[EntryProblem]]:
    """Every entry of ``group`` in an entry_points.txt, as declarations and problems, in file order."""
    return from_rows(dist, group, entry_rows(text, group))


def provides(ids: Iterable[str], key: str) -> bool:
    """Does loading a source that registered ``ids`` answer a lookup of ``key``? It does for the id,
    for another version of it (the host then names the versions there are), and for a namespaced key,
    for any id of that namespace (the host then says which names it has).

    >>> provides(["Grid/Maze-v2"], "Grid/Maze"), provides(["Grid/Maze-v2"], "Grid/Maze-v1")
    (True, True)
    >>> provides(["Grid/Maze-v2"], "Grid/Typo-v0"), provides(["Maze-v2"], "Typo-v0"), provides(["Maze-v2"], "Maze")
    (True, False, True)
    """
    namespace, slash, rest = key.rpartition("/")
    name = rest.rsplit("-v", 1)[0] if rest.rsplit("-v", 1)[-1].isdigit() else rest
    for env_id in ids:
        if env_id == key:
            return True
        other_namespace, _, other_rest = env_id.rpartition("/")
        if slash and other_namespace == namespace:
            return True
        if not slash and not other_namespace and other_rest.rsplit("-v", 1)[0] == name:
            return True
    return False
