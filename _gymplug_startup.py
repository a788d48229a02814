"""gymplug's startup hook: run by gymplug.pth / gymplug.start in every interpreter; tiny and never raises.

It imports nothing but ``os`` and ``sys`` and only puts a finder on ``sys.meta_path``. The
finder does nothing until a host's registry module is imported; then it lets the module run
and hands it to ``gymplug._activation``, which takes over plugin loading for that host.

PYTEST_DONT_REWRITE: pytest would otherwise warn that this module, imported at startup, cannot
be assertion-rewritten (gymplug's distribution has a pytest11 entry point).
"""

import os
import sys

# Host modules whose execution gymplug follows, to the (host, part) they are.
HOOKED = {
    "gym.envs.registration": ("gym", "registration"),
    "gym.envs": ("gym", "envs"),
    "gymnasium.envs.registration": ("gymnasium", "registration"),
    "gymnasium.envs": ("gymnasium", "envs"),
}
_OFF = {"0", "false", "no", "off"}

# Names of hooked modules whose import went through the finder (so not imported before it).
hooked: set = set()


def enabled(variable):
    """False when the environment variable turns its switch off ("0", "false", "no", "off")."""
    return os.environ.get(variable, "1").strip().lower() not in _OFF


def autoload_enabled():
    """False when GYMPLUG_AUTOLOAD turns the startup hook off."""
    return enabled("GYMPLUG_AUTOLOAD")


def learning_child():
    """True in a process that learns what a package registers: gymplug must not activate there."""
    return os.environ.get("GYMPLUG_LEARNING_CHILD") == "1"


def install(force=False):
    """Put the finder first on sys.meta_path once; True if it is installed afterwards."""
    try:
        if learning_child() or (not force and not autoload_enabled()):
            return False
        if not any(isinstance(finder, HostFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, HostFinder())
        return True
    except Exception:  # a startup hook must never break the interpreter
        return False


class HostFinder:
    """A meta path finder that wraps the loader of the hooked host modules, and finds nothing else."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in HOOKED:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PostExecLoader(spec.loader, fullname)
        return spec

    def invalidate_caches(self):
        pass


class _PostExecLoader:
    """Runs the real loader, then gives the fresh module to gymplug."""

    def __init__(self, loader, fullname):
        self._loader = loader
        self._fullname = fullname

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        hooked.add(self._fullname)
        # The module should look as if we had never been there.
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _after_exec(self._fullname, module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _after_exec(fullname, module):
    """Hand the module to gymplug; a failure here is logged and never breaks the host import."""
    try:
        from gymplug import _activation

        _activation.module_executed(fullname, module)
    except Exception:
        try:
            import logging

            logging.getLogger("gymplug").exception("gymplug could not attach to %s", fullname)
        except Exception:
            pass
