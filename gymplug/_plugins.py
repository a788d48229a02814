"""Running one registration source (Form B): a hook plugin through pluggy, or a legacy function."""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import _locks
from ._entries import Declaration

__all__ = ["PluginRunner"]


class PluginRunner:
    """Runs Form B sources; pluggy is imported, and its plugin manager made, when the first hook plugin loads."""

    def __init__(self) -> None:
        self._pm: Any = None
        self._lock = _locks.Lock()  # pluggy's registry of plugins only: never held while plugin code runs

    @property
    def pm(self) -> Any:
        """The pluggy ``PluginManager("gymplug")`` of the hook plugins."""
        if self._pm is None:
            import pluggy

            from . import hookspecs

            pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
            pm.add_hookspecs(hookspecs)
            self._pm = pm
        return self._pm

    def run(self, declaration: Declaration, obj: Any, register: Callable[..., None], state: Any) -> Optional[Any]:
        """Run ``obj``, the object ``declaration`` names; the pluggy plugin it became, if it is one.

        ``state`` is the load's ``Loading``: a legacy function runs with ``state.legacy`` set.
        """
        if hasattr(obj, "gymplug_register_envs"):
            with self._lock:
                pm = self.pm
                pm.register(obj, name=declaration.plugin_name)
                impls = [i for i in pm.hook.gymplug_register_envs.get_hookimpls() if i.plugin is obj]
            arguments = {"register": register}
            for impl in impls:  # plugin code: no lock held
                impl.function(*(arguments[name] for name in impl.argnames))
            return obj
        if isinstance(obj, type):
            raise TypeError(
                f"'{declaration.value}' is a class, not a registration function; "
                f"an env entry needs a versioned id, such as '{declaration.name}-v0 = {declaration.value}'"
            )
        if not callable(obj):
            raise TypeError(
                f"'{declaration.value}' has no gymplug_register_envs hook and is not a registration function"
            )
        # gym 0.22-0.26 / gymnasium 0.26-0.29 called it inside namespace(name), which sets a global of
        # the host; the host patch applies the namespace in this thread only (see Loading.legacy).
        if state is not None:
            state.legacy = True
        try:
            obj()
        finally:
            if state is not None:
                state.legacy = False
        return None

    def forget(self, plugin: Any) -> None:
        """Unregister a hook plugin whose registration failed."""
        with self._lock:
            if self._pm is not None and self._pm.is_registered(plugin):
                self._pm.unregister(plugin)

    def forget_name(self, name: str) -> None:
        """Unregister the hook plugin registered as ``name``, if there is one (after a fork: see the loader)."""
        with self._lock:
            if self._pm is not None and self._pm.get_plugin(name) is not None:
                self._pm.unregister(name=name)
