"""Entry points as gymplug reads them: parse one name/value pair into a declaration or a problem."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Optional, Union

__all__ = [
    "GROUPS",
    "ROOT_NAMES",
    "Declaration",
    "Distribution",
    "EntryProblem",
    "Form",
    "normalize_name",
    "parse_entry",
    "printable",
    "split_env_id",
]

#: Entry-point group of each host.
GROUPS = {"gym": "gym.envs", "gymnasium": "gymnasium.envs"}
#: Entry names that mean "the root namespace" (gym 0.22-0.26, gymnasium 0.26-0.29).
ROOT_NAMES = frozenset({"__root__", "__internal__"})

# The hosts' own id grammar, `[namespace/]name[-vN]`, less ':' which make() reads as "module:id".
_ENV_ID = re.compile(r"^(?:(?P<ns>[\w-]+)/)?(?P<name>[\w.-]+?)(?:-v(?P<version>\d+))?$")
_NAMESPACE = re.compile(r"^[\w-]+$")
_VALUE = re.compile(r"^(?P<module>[^:\[\]\s]+)\s*(?::\s*(?P<attr>[^:\[\]\s]+))?\s*(?P<extras>\[.*\])?$")
_DIST_SEP = re.compile(r"[-_.]+")


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


@dataclass(frozen=True)
class Distribution:
    """An installed distribution that declares environments."""

    name: str
    version: str

    @property
    def key(self) -> str:
        return normalize_name(self.name)

    def __str__(self) -> str:
        return printable(f"{self.name} {self.version}")


@dataclass(frozen=True)
class _Entry:
    """One ``name = value`` line of a host group in a distribution's entry points."""

    dist: Distribution
    group: str
    name: str
    value: str

    @property
    def entry(self) -> str:
        return printable(f"{self.name} = {self.value}")

    def describe(self) -> str:
        return f"{self.dist} (entry point {self.group}: '{self.entry}')"


@dataclass(frozen=True)
class Declaration(_Entry):
    """A well-formed entry: an env (Form A) or a registration plugin (Form B)."""

    form: Form
    module: str
    attr: Optional[str]
    env_id: Optional[str] = None  # Form A
    namespace: Optional[str] = None  # Form B; None is the root namespace

    @property
    def plugin_name(self) -> str:
        """The name gymplug's plugin manager knows this declaration's plugin by."""
        return self.dist.name if self.form is Form.ENV else f"{self.dist.name}:{self.name}"


@dataclass(frozen=True)
class EntryProblem(_Entry):
    """An entry gymplug cannot use, and why."""

    reason: str

    @property
    def env_id(self) -> Optional[str]:
        """The env id the entry meant to declare, when its name is one."""
        parsed = split_env_id(self.name.strip())
        return self.name.strip() if parsed and parsed[2] is not None else None

    def describe(self) -> str:
        return f"{super().describe()}: {self.reason}"


def _dotted(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def parse_entry(dist: Distribution, group: str, name: str, value: str) -> Union[Declaration, EntryProblem]:
    """Classify one entry; never raises for any text."""
    name, value = name.strip(), value.strip()

    def problem(reason: str) -> EntryProblem:
        return EntryProblem(dist, group, name, value, reason)

    if not name:
        return problem("the entry has no name")
    if not value:
        return problem("the entry has no value (expected 'module:attribute')")
    match = _VALUE.match(value)
    if match is None or not _dotted(match["module"]) or (match["attr"] and not _dotted(match["attr"])):
        return problem("the value is not an object reference 'package.module:attribute'")
    if match["extras"]:
        return problem("extras ('[...]') are not supported in environment entry points")
    module, attr = match["module"], match["attr"]

    if name in ROOT_NAMES:
        return Declaration(dist, group, name, value, Form.PLUGIN, module, attr, namespace=None)
    if name.startswith("__") and name.endswith("__"):
        return problem("unknown magic namespace; use '__root__' for the root namespace")
    parsed = split_env_id(name)
    if parsed is not None and parsed[2] is not None:
        if attr is None:
            return problem("an env entry must name an Env class or factory: 'package.module:Attribute'")
        if "." in attr:
            return problem("the hosts resolve one attribute: 'package.module:Attribute', not a dotted path")
        return Declaration(dist, group, name, value, Form.ENV, module, attr, env_id=name)
    if _NAMESPACE.match(name):
        return Declaration(dist, group, name, value, Form.PLUGIN, module, attr, namespace=name)
    if parsed is not None:
        return problem("the name looks like an env id without a version; write it as 'Name-v0'")
    if ":" in name:
        return problem("the name contains ':', which make() reads as 'module:id'")
    return problem("the name is neither an env id ('[Namespace/]Name-vN') nor a namespace")
