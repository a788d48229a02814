"""What gymplug must know about one host, as plain values: nothing here imports the host."""

from __future__ import annotations

import importlib
from typing import NamedTuple, Optional

from .. import _locks

__all__ = ["HostFacts"]

_errors_lock = _locks.Lock()
_errors: dict[str, dict[type, type]] = {}


class HostFacts(NamedTuple):
    """One host's names and quirks. Adding a host is one module that defines ``FACTS``."""

    #: the import name of the host's top package, and how gymplug names the host
    name: str
    #: the entry-point group its plugins declare environments in
    group: str
    #: the registration function of the registration module that imports a "module:attr" string
    load_name: str
    #: the requirements a plugin for this host lists (the scaffold and the tests use them)
    requirements: tuple[str, ...]
    #: the eager entry-point loader this host runs at import, which gymplug replaces
    eager_loader: Optional[str] = "load_env_plugins"
    #: True when the host's own loader has already imported every plugin if it came before gymplug
    eager_at_import: bool = False
    #: the first numpy major version the host does not work with, if any
    numpy_below: Optional[int] = None
    #: the module of gymplug's errors flavoured with this host's error base
    flavour: str = ""

    @property
    def registration_module(self) -> str:
        return f"{self.name}.envs.registration"

    @property
    def envs_module(self) -> str:
        return f"{self.name}.envs"

    def numpy_problem(self, numpy_version: Optional[str], host_version: Optional[str] = None) -> Optional[str]:
        """Why this host cannot work with ``numpy_version``, or None."""
        if self.numpy_below is None or not numpy_version:
            return None
        try:
            major = int(numpy_version.split(".")[0])
        except ValueError:
            return None
        if major < self.numpy_below:
            return None
        host = f"{self.name} {host_version or ''}".rstrip()
        fix = f"pip install 'numpy<{self.numpy_below}'"
        return f"{host} does not work with numpy {numpy_version}: {fix} (or move to gymnasium)"

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
