"""What every command shares for output: exit codes, tables, colour, JSON, and keeping stdout clean."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any, Callable, Iterator, Optional, Sequence

from .._entries import printable
from .._errors import GymplugError

__all__ = [
    "EXIT_OK",
    "EXIT_PROBLEM",
    "EXIT_USAGE",
    "JSON_FORMAT",
    "CommandError",
    "Progress",
    "emit_json",
    "error_line",
    "paint",
    "plural",
    "say",
    "stdout_to_stderr",
    "table",
    "use_color",
]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
JSON_FORMAT = 1  # bumped only on incompatible changes of the --json output


class CommandError(GymplugError):
    """An error the command reports on one line, exiting 1."""


# Keyed by text: the catalog's statuses are str enums, so Status.BROKEN finds "broken".
_COLORS = {
    "declared": "36",
    "loaded": "32",
    "pending": "33",
    "broken": "31",
    "conflict": "31",
    "disabled": "90",
    "shadowed": "33",
    "builtin": "90",
    "ok": "32",
    "FAIL": "31",
    "problem": "31",
    "warning": "33",
    "warn": "33",
}


def use_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, key: Any, color: bool) -> str:
    code = _COLORS.get(key)
    return f"\033[{code}m{text}\033[0m" if color and code else text


def plural(count: int, noun: str, many: Optional[str] = None) -> str:
    """``1 episode``, ``3 episodes``."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, color_column: Optional[int] = None) -> str:
    """An aligned text table; the status column is coloured on a terminal (not when piped, nor with NO_COLOR)."""
    color = use_color()
    cells = [[("" if c is None else getattr(c, "value", c)) for c in row] for row in rows]
    cells = [[printable(str(c)) for c in row] for row in cells]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for row, raw in zip(cells, rows):
        parts = []
        for i, (cell, width) in enumerate(zip(row, widths)):
            padded = cell.ljust(width)
            parts.append(paint(padded, getattr(raw[i], "value", raw[i]), color) if i == color_column else padded)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


class Progress:
    """One line of progress on stderr, rewritten in place: on a terminal only, never with ``--json`` or ``-q``."""

    def __init__(self, *, quiet: bool, json: bool) -> None:
        self.enabled = not quiet and not json and bool(getattr(sys.stderr, "isatty", lambda: False)())
        self._shown = False

    def show(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\033[K{printable(text)}")
            sys.stderr.flush()
            self._shown = True

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._shown = False


def say(quiet: bool, text: str) -> None:
    """Print ``text`` on stdout unless ``-q``: tables, summaries and other results that are not errors."""
    if not quiet:
        print(text)


def error_line(text: str) -> None:
    """One problem, on one line of stderr: what ``-q`` still prints."""
    print(f"gymplug: {printable(' '.join(text.splitlines()))}", file=sys.stderr)


def _item_encoder() -> Callable[[Any], str]:
    """What ``json.JSONEncoder(default=str).encode`` gives, with the C encoder built once rather than once per
    call (half of ``list --json``'s encoding at 10,000 rows); its circular-reference check kept (the markers are
    emptied as each container is done). The encoder's own ``encode`` where the interpreter has no C encoder, or
    where it takes other arguments."""
    from json import encoder

    encode = json.JSONEncoder(default=str).encode
    try:
        make = encoder.c_make_encoder  # type: ignore[attr-defined]
        c_encoder = make({}, str, encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
        if "".join(c_encoder({"a": [1.5, None, "\u00e9"]}, 0)) != encode({"a": [1.5, None, "\u00e9"]}):
            return encode
    except Exception:  # noqa: BLE001 - no C encoder (PyPy), or another signature: the public way
        return encode
    return lambda value: "".join(c_encoder(value, 0))


def emit_json(data: dict[str, Any]) -> None:
    """``data`` as JSON on stdout: one line per key, and one per item of a list.

    ``json.dumps(indent=...)`` would take the pure-Python encoder, which was half of
    ``gymplug list --json`` at 10,000 rows; each line here is the C encoder's.
    """
    encode = _item_encoder()
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(map(encode, value))
            parts.append(f"  {encode(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {encode(key)}: {encode(value)}")
    sys.stdout.write("{\n" + ",\n".join(parts) + "\n}\n")


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send anything written to stdout (by plugins or hosts, even at the fd level) to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout: Python-level redirection is all there is to do
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
