"""Learning: which environment ids the packages that register when imported provide, learned in child processes.

The manager calls one entry, :class:`Learning`; the pieces are private modules: ``_sources`` (which
distributions are sources, read from metadata only), ``_child`` (the child's program, run by path),
``_children`` (starting and supervising the children), ``_store`` (the learned store and its lock),
``_learn`` (one round of learning under the lock) and ``_lookups`` (what a lookup imports).
"""

from ._lookups import Learning
from ._store import PluginHints, invalidate, unkept_reason

__all__ = ["Learning", "PluginHints", "invalidate", "unkept_reason"]
