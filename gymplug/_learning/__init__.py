"""Learning: which environment ids the packages that register when imported provide, learned in child processes.

The manager calls one entry, :class:`Learning`; the pieces are private modules: ``_sources`` (which
distributions are sources, read from metadata only), ``_child`` (the child's program, run by path),
``_children`` (starting and supervising the children), ``_store`` (the learned store and its lock),
``_learn`` (one round of learning under the lock), ``_lookups`` (what a lookup imports) and ``_quick``
(the store read at attach, without a scan of every distribution).

The names below are imported when first used, so that attaching a host whose store holds nothing for it
imports none of this package's heavier modules (``gymplug._activation.LOOKUP_MODULES`` lists them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._lookups import Learning
    from ._store import PluginHints, invalidate, unkept_reason

__all__ = ["Learning", "PluginHints", "invalidate", "unkept_reason"]

_HOMES = {"Learning": "._lookups", "PluginHints": "._store", "invalidate": "._store", "unkept_reason": "._store"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home, __name__), name)
