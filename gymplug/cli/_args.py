"""Argument types and option groups several commands share; a bad value is a usage error (exit 2)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_kwargs_options", "make_kwargs", "non_negative_int", "positive_int"]


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


class _TooDeep(ValueError):
    """JSON nested deeper than the parser's recursion limit."""


def _loads(text: str) -> Any:
    """JSON, or ValueError; nesting too deep for the parser is a bad value too (exit 2), not a crash."""
    try:
        return json.loads(text)
    except RecursionError:
        raise _TooDeep("nested too deeply") from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = _loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object such as '{{\"layout\": \"maze\"}}', not {text!r}")
    return value


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, not {text!r}")
    try:
        value = _loads(raw)  # 8 -> 8, true -> True, [1,2] -> [1, 2]
    except _TooDeep:  # JSON that cannot be read is no string either
        raise argparse.ArgumentTypeError(f"{key.strip()}: the JSON value is nested too deeply") from None
    except ValueError:
        value = raw  # anything else is a string
    return key.strip(), value


def add_kwargs_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kwargs", type=_json_object, default={}, metavar="JSON",
        help="constructor arguments of the env, as a JSON object: --kwargs '{\"layout\": \"maze\"}'",
    )
    parser.add_argument(
        "-k", dest="kwarg", type=_key_value, action="append", default=[], metavar="KEY=VALUE",
        help="one constructor argument, such as -k layout=maze (VALUE is read as JSON, else as a string); "
        "repeatable; wins over --kwargs",
    )


def make_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The constructor arguments ``--kwargs`` and ``-k`` ask for."""
    return {**args.kwargs, **dict(args.kwarg)}
