"""What gymplug must know about one host, as plain values: nothing here imports the host."""

from __future__ import annotations

import importlib
import re
import sys
from types import ModuleType
from typing import Optional

from .. import _locks

__all__ = ["HostFacts"]

_errors_lock = _locks.Lock()
_errors: dict[str, dict[type, type]] = {}


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of a version: ``"0.26.3"`` -> ``(0, 26, 3)``, ``"1.0.0a1"`` -> ``(1, 0, 0)``.

    Versions come from installed metadata: a number too long to be one is no release, ``()``.
    """
    match = re.match(r"\d{1,9}(?:\.\d{1,9})*(?!\d)", version.strip())
    return tuple(int(part) for part in match.group().split(".")) if match else ()


def _first_in(module: ModuleType, names: tuple[str, ...]) -> Optional[str]:
    return next((name for name in names if hasattr(module, name)), None)


class HostFacts:
    """One host's names and quirks. Adding a host is one module that defines ``FACTS``.

    A name that differs between the host's releases is a tuple of every name it has had, newest
    first; the ``*_in(registration)`` methods pick the one the installed release has, by ``hasattr``
    on its registration module (exact, and nothing more is imported).

    A plain class, not a NamedTuple: it is built as a host is imported, and creating a NamedTuple
    class takes about 0.1 ms.
    """

    __slots__ = ("name", "group", "load_names", "requirements", "eager_loaders", "numpy_below", "numpy_fixed_in",
                 "flavour")

    def __init__(
        self,
        *,
        name: str,
        group: str,
        load_names: tuple[str, ...],
        requirements: tuple[str, ...],
        eager_loaders: tuple[str, ...] = (),
        numpy_below: Optional[int] = None,
        numpy_fixed_in: Optional[str] = None,
        flavour: str = "",
    ) -> None:
        #: the import name of the host's top package, and how gymplug names the host
        self.name = name
        #: the entry-point group its plugins declare environments in
        self.group = group
        #: the registration module's function that imports a "module:attr" string, under each of its names
        self.load_names = load_names
        #: the requirements a plugin for this host lists (the scaffold and the tests use them)
        self.requirements = requirements
        #: the eager entry-point loader the host runs at import (which gymplug replaces), under each of its
        #: names; a release that has none of them loads no plugins at import
        self.eager_loaders = eager_loaders
        #: the first numpy major version the host does not work with, if any
        self.numpy_below = numpy_below
        #: the first release of the host that works with numpy ``numpy_below`` (None: no release does)
        self.numpy_fixed_in = numpy_fixed_in
        #: the module of gymplug's errors flavoured with this host's error base
        self.flavour = flavour

    def __repr__(self) -> str:
        return f"HostFacts(name={self.name!r}, group={self.group!r})"

    @property
    def registration_module(self) -> str:
        return f"{self.name}.envs.registration"

    @property
    def envs_module(self) -> str:
        return f"{self.name}.envs"

    def load_name_in(self, registration: ModuleType) -> str:
        """The name of the function that imports a "module:attr" string in ``registration``'s release."""
        name = _first_in(registration, self.load_names)
        if name is None:
            raise AttributeError(f"{registration.__name__} has none of {', '.join(self.load_names)}")
        return name

    def eager_loader_in(self, registration: ModuleType) -> Optional[str]:
        """The name of the eager loader that ``registration``'s release runs at import, or None."""
        return _first_in(registration, self.eager_loaders)

    @property
    def eager_loader(self) -> Optional[str]:
        """:meth:`eager_loader_in` the imported registration module (the learning child turns it off).

        Before the host is imported the release is unknown: the newest name, or None if there is none.
        """
        module = sys.modules.get(self.registration_module)
        if module is not None:
            return self.eager_loader_in(module)
        return self.eager_loaders[0] if self.eager_loaders else None

    def numpy_problem(self, numpy_version: Optional[str], host_version: Optional[str] = None) -> Optional[str]:
        """Why this host (release ``host_version``) cannot work with ``numpy_version``, or None."""
        if self.numpy_below is None or not numpy_version:
            return None
        major = _release(numpy_version)[:1]
        if not major or major[0] < self.numpy_below:
            return None
        fixed = _release(self.numpy_fixed_in) if self.numpy_fixed_in else None
        release = _release(host_version) if host_version else ()
        if fixed is not None and (not release or release >= fixed):
            return None
        host = f"{self.name} {host_version or ''}".rstrip()
        fix = f"pip install 'numpy<{self.numpy_below}'"
        newer = f"{self.name}>={self.numpy_fixed_in}" if self.numpy_fixed_in else "gymnasium"
        return f"{host} does not work with numpy {numpy_version}: {fix} (or move to {newer})"

    def errors(self) -> dict[type, type]:
        """gymplug's plugin errors, each also a subclass of the host's ``error.Error``.

        Built on first use, so that importing the facts never imports the host: an error unpickled
        before the host is imported imports the host then, which attaches gymplug as usual.
        """
        with _errors_lock:
            built = _errors.get(self.name)
            if built is None:
                from .._errors import host_flavoured

                base = importlib.import_module(f"{self.name}.error").Error
                built = _errors[self.name] = host_flavoured(self.flavour, base)
            return built

    def base_error(self) -> type:
        return importlib.import_module(f"{self.name}.error").Error

    def flavoured(self, class_name: str) -> type:
        """The host-flavoured error class named ``class_name`` (AttributeError if there is none)."""
        for cls in self.errors().values():
            if cls.__name__ == class_name:
                return cls
        raise AttributeError(f"module {self.flavour!r} has no attribute {class_name!r}")
