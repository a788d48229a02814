"""Settings: every ``GYMPLUG_*`` environment variable, read in one place and passed down as values.

Discovery, the cache and the loader take a :class:`Settings`; none of them reads the environment.
The startup shim (``_gymplug_startup``) reads ``GYMPLUG_AUTOLOAD`` by the same rule itself, because
it must not import gymplug; ``tests/test_settings.py`` holds the two rules equal.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, NamedTuple, Optional

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

_DIST_SEP = re.compile(r"[-_.]+")
_SEPARATORS = re.compile(r"[\s,]+")


def switch_on(value: Optional[str]) -> bool:
    """False when ``value`` turns a switch off ("0", "false", "no", "off"); unset means on."""
    return value is None or value.strip().lower() not in OFF_VALUES


def _absolute(value: Optional[str]) -> Optional[str]:
    # A relative or '~' value would put the cache under whatever the current directory is.
    return value if value and os.path.isabs(value) else None


class Settings(NamedTuple):
    """What the environment asks of gymplug. Immutable; build one with :meth:`from_environ`."""

    autoload: bool = True
    #: normalized names of the distributions GYMPLUG_DISABLE blocks
    disable: frozenset[str] = frozenset()
    #: the names as written, for messages about values that match nothing
    disable_raw: tuple[str, ...] = ()
    cache: bool = True
    cache_dir: Optional[str] = None
    learn: bool = True
    #: the base of the default cache location: XDG_CACHE_HOME, LOCALAPPDATA or the home directory
    cache_home: Optional[str] = None

    @classmethod
    def from_environ(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if environ is None else environ
        raw = tuple(name for name in _SEPARATORS.split(env.get("GYMPLUG_DISABLE", "")) if name)
        home = env.get("LOCALAPPDATA") if os.name == "nt" else env.get("XDG_CACHE_HOME")
        return cls(
            autoload=switch_on(env.get("GYMPLUG_AUTOLOAD")),
            disable=frozenset(_DIST_SEP.sub("-", name).lower() for name in raw),
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
