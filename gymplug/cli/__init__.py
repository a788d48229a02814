"""The ``gymplug`` command: see and try the environments that installed plugins provide.

``_main`` builds the parser from one module per command (``_list``, ``_check``, ``_run``, ``_doctor``,
``_new``); the commands share ``_output``, ``_hosts``, ``_args`` and ``_catalog`` and never import ``_main``.
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
