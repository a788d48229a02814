"""gymplug's named loggers, without importing ``logging`` until someone else has.

No host imports ``logging``, and importing it would cost every ``import gym`` about two
milliseconds. Until ``logging`` is imported, no handler exists anywhere, so a record gymplug
emitted would reach none (its top logger has a NullHandler, which keeps Python's last-resort
handler quiet): dropping the call is the same. Once ``logging`` is imported, every call goes to
``logging.getLogger(name)`` as usual, and the NullHandler is put on the ``gymplug`` logger.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["get_logger"]

_ready = False


def _real(name: str) -> Any:
    global _ready
    logging = sys.modules["logging"]
    if not _ready:
        top = logging.getLogger("gymplug")
        if not any(isinstance(h, logging.NullHandler) for h in top.handlers):
            top.addHandler(logging.NullHandler())
        _ready = True
    return logging.getLogger(name)


def _drop(*args: Any, **kwargs: Any) -> None:
    """A record that no handler could receive."""


class _Logger:
    """Stands for ``logging.getLogger(name)``; its methods are the real logger's once logging is imported."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        if "logging" not in sys.modules:
            return _drop
        return getattr(_real(self.name), attr)


def get_logger(name: str) -> Any:
    """The logger ``name`` (a ``logging.Logger`` in all but type)."""
    return _Logger(name)
