"""Settings: every ``GYMPLUG_*`` environment variable, read in one place and passed down as values.

Discovery, the cache and the loader take a :class:`Settings`; none of them reads the environment.
The startup shim (``_gymplug_startup``) reads ``GYMPLUG_AUTOLOAD`` by the same rule itself, because
it must not import gymplug; ``tests/test_settings.py`` holds the two rules equal.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping, Optional

__all__ = ["OFF_VALUES", "VARIABLES", "Settings", "current", "switch_on"]

#: Values that turn a switch off (case and surrounding white space ignored).
OFF_VALUES = frozenset({"0", "false", "no", "off"})

#: Every variable gymplug reads, with what it does: the CLI's help and README list these.
VARIABLES = {
    "GYMPLUG_AUTOLOAD": "0 turns the startup hook off; then `import gymplug` before the host activates it",
    "GYMPLUG_DISABLE": "distributions whose code never runs, comma or space separated",
    "GYMPLUG_CACHE": "0 turns the discovery cache off",
    "GYMPLUG_CACHE_DIR": "where the discovery cache lives (an absolute path; default ~/.cache/gymplug)",
    "GYMPLUG_LEARN": "0 turns learning off: packages that declare no entry point are never imported to learn their ids",
}

_FIELDS = ("autoload", "disable", "disable_raw", "cache", "cache_dir", "learn", "cache_home")


def switch_on(value: Optional[str]) -> bool:
    """False when ``value`` turns a switch off ("0", "false", "no", "off"); unset means on."""
    return value is None or value.strip().lower() not in OFF_VALUES


def _absolute(value: Optional[str]) -> Optional[str]:
    # A relative or '~' value would put the cache under whatever the current directory is.
    return value if value and os.path.isabs(value) else None


class Settings:
    """What the environment asks of gymplug. Immutable by convention, compared by value; build one with
    :meth:`from_environ`, and a changed copy with :meth:`_replace`.

    A plain class, not a NamedTuple: one is built as a host is imported, and creating a NamedTuple
    class takes about 0.1 ms.
    """

    __slots__ = _FIELDS

    def __init__(
        self,
        autoload: bool = True,
        disable: frozenset[str] = frozenset(),
        disable_raw: tuple[str, ...] = (),
        cache: bool = True,
        cache_dir: Optional[str] = None,
        learn: bool = True,
        cache_home: Optional[str] = None,
    ) -> None:
        self.autoload = autoload
        #: normalized names of the distributions GYMPLUG_DISABLE blocks
        self.disable = disable
        #: the names as written, for messages about values that match nothing
        self.disable_raw = disable_raw
        self.cache = cache
        self.cache_dir = cache_dir
        self.learn = learn
        #: the base of the default cache location: XDG_CACHE_HOME, LOCALAPPDATA or the home directory
        self.cache_home = cache_home

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in _FIELDS)

    def _replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` (field names as keywords), as a NamedTuple's ``_replace``."""
        return Settings(**{**dict(zip(_FIELDS, self._values())), **changes})

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, Settings) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={value!r}" for name, value in zip(_FIELDS, self._values())) + ")"

    @classmethod
    def from_environ(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if environ is None else environ
        disable = env.get("GYMPLUG_DISABLE", "")
        # The patterns are compiled only for a value to split (most processes have none).
        raw = tuple(name for name in re.split(r"[\s,]+", disable) if name) if disable else ()
        home = env.get("LOCALAPPDATA") if os.name == "nt" else env.get("XDG_CACHE_HOME")
        return cls(
            autoload=switch_on(env.get("GYMPLUG_AUTOLOAD")),
            disable=frozenset(re.sub(r"[-_.]+", "-", name).lower() for name in raw),
            disable_raw=raw,
            cache=switch_on(env.get("GYMPLUG_CACHE")),
            cache_dir=_absolute(env.get("GYMPLUG_CACHE_DIR")),
            learn=switch_on(env.get("GYMPLUG_LEARN")),
            cache_home=_absolute(home),
        )

    def default_cache_dir(self) -> str:
        """Where the cache lives: GYMPLUG_CACHE_DIR, else the platform's user cache directory."""
        if self.cache_dir:
            return self.cache_dir
        if os.name == "nt":
            return os.path.join(self.cache_home or os.path.expanduser("~"), "gymplug", "Cache")
        return os.path.join(self.cache_home or os.path.expanduser("~/.cache"), "gymplug")


def current() -> Settings:
    """The settings of this process's environment now (cheap: a few dictionary reads)."""
    return Settings.from_environ()
