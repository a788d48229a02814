"""``gymplug gallery``: a static site with a card and an animated preview of every installed environment."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import shutil
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .._entries import printable
from .._gallery._cards import Card, Outcome
from .._version import __version__
from ._args import positive_int
from ._catalog import EnvRow, Status, catalog
from ._hosts import attach, dist_version, selected_hosts
from ._list import matches, no_plugin_envs
from ._output import (
    EXIT_OK,
    EXIT_PROBLEM,
    JSON_FORMAT,
    CommandError,
    emit_json,
    error_line,
    plural,
    say,
    stdout_to_stderr,
)

if TYPE_CHECKING:
    from .._gallery._build import Gallery

__all__ = ["add_parser"]

GALLERY_INSTALL = "pip install 'gymplug[gallery]'"
_RENDERED = frozenset({Status.DECLARED, Status.LOADED, Status.LEARNED, Status.BUILTIN})
_WHY = {
    Status.BROKEN: "broken",
    Status.CONFLICT: "conflict",
    Status.SHADOWED: "shadowed",
    Status.DISABLED: "disabled",
    Status.PENDING: "its registration plugin did not load",
}


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


class _Progress:
    """``[#####     ] 12/40 MiniGrid-Empty-5x5-v0`` on a terminal's stderr, redrawn in place; else nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and total > 0

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 20)).columns
        filled = 24 * self.done // self.total
        line = f"[{'#' * filled}{' ' * (24 - filled)}] {self.done}/{self.total} {printable(label)}"
        print(f"\r\033[K{line[: width - 1]}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the gallery as Ctrl-C does: workers killed, the page of what was done written."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _rows(args: argparse.Namespace) -> tuple[list[str], list[EnvRow], str]:
    """The hosts, the catalog rows the arguments select (what ``gymplug list`` shows, learned ids included),
    and what to say when there are none."""
    hosts = selected_hosts(args.host)
    everything: list[EnvRow] = []
    for host in hosts:
        manager = attach(host)
        with stdout_to_stderr():
            manager.load_all()
            # Packages that register on import: learned once per version, in a child, as a lookup would.
            manager.learning.learn(stream=io.StringIO() if args.quiet else sys.stderr)
        everything.extend(catalog(manager, builtins=args.all))
    rows = [r for r in everything if matches(r, args.pattern, args.plugin)]
    if args.plugin and not any(matches(r, None, args.plugin) for r in everything):
        return hosts, rows, no_plugin_envs(args.plugin, hosts, {r.distribution for r in everything if r.distribution})
    return hosts, rows, "no environments found" + ("" if args.all else " (--all adds the hosts' own)")


def _card(row: EnvRow) -> Card:
    card = Card(row.id, row.host, row.status.value, row.distribution or row.host,
                row.version or dist_version(row.host), row.entry_point or row.entry)
    if row.status in _RENDERED:
        return card
    why = _WHY.get(row.status, row.status.value)
    reason = f"{why}: {row.detail}" if row.detail else why
    return replace(card, outcome=Outcome.UNAVAILABLE, reason=" ".join(reason.split())[:300])


def cmd_gallery(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("PIL") is None or importlib.util.find_spec("jinja2") is None:
        raise CommandError(f"gymplug gallery needs Pillow and Jinja2: {GALLERY_INSTALL}")
    from .._gallery._build import Gallery

    gallery = Gallery(Path(args.out), steps=args.steps, seed=args.seed, refresh=args.refresh)
    hosts, rows, nothing = _rows(args)
    if not rows:
        print(f"{nothing}; no gallery written", file=sys.stderr)
        return EXIT_OK
    started = time.monotonic()
    cards = [_card(row) for row in rows]
    progress = _Progress(len(cards), sys.stderr.isatty() and not args.json and not args.quiet)
    interrupted = False
    try:
        built = gallery.build(cards, hosts, jobs=args.jobs or _cpus(), timeout=args.timeout, verbose=bool(args.verbose))
        # closing(): an interrupt between two cards still ends the build, and with it the workers
        with _terminate_as_interrupt(), contextlib.closing(built):
            for card in built:
                progress.step(card.id)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    index = gallery.write(__version__, complete=not interrupted)
    _report(args, gallery, index, time.monotonic() - started)
    if interrupted:
        raise KeyboardInterrupt
    return EXIT_PROBLEM if any(c.problem for c in gallery.done) else EXIT_OK


def _report(args: argparse.Namespace, gallery: "Gallery", index: Path, seconds: float) -> None:
    done = gallery.done
    if args.json:
        emit_json({"format": JSON_FORMAT, "index": str(index), **gallery.data(__version__)})
        return
    for card in done:
        if card.problem:
            error_line(f"{card.id} ({card.host}) of {card.distribution} {card.version}: {card.reason}")
    previews = [c for c in done if c.preview]
    cached = sum(1 for c in previews if c.cached)
    sources = len({c.distribution for c in done})
    say(args.quiet, (
        f"{index}: {plural(len(done), 'environment')} from {plural(sources, 'distribution')}; "
        f"{plural(len(previews), 'preview')} ({len(previews) - cached} rendered, {cached} kept), "
        f"{len(done) - len(previews)} without, in {seconds:.1f} s"
    ))


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "gallery",
        parents=parents,
        help="write a web page with a card and an animated preview of every environment",
        description="Write a static site (index.html, one animated preview per env, gallery.json) that opens from "
        "disk, offline. Each env is made in a worker process and rolled out with a random policy, rendering "
        "rgb_array; an env that cannot be previewed (no rgb_array, fails, hangs, crashes) gets a card saying why. "
        "Previews are kept between runs in the folder: a second run renders only what changed. "
        f"Needs {GALLERY_INSTALL}. "
        "Exit 1 if a card shows a problem (broken, conflict, failed, timed out, crashed).",
    )
    p.add_argument("pattern", nargs="?", metavar="PATTERN", help="a substring of the id, or a glob such as 'Grid/*'")
    p.add_argument("--plugin", metavar="DIST", help="only the environments of this distribution")
    p.add_argument("--all", action="store_true", help="include the hosts' built-in environments")
    p.add_argument("--out", default="gymplug-gallery", metavar="DIR",
                   help="the site's folder (default gymplug-gallery)")
    p.add_argument("--steps", type=positive_int, default=60, metavar="N", help="steps of each preview (default 60)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the rollouts (default 0)")
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N", help="worker processes (default: CPU count)")
    p.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                   help="time limit of one env's preview, making it included (default 30)")
    p.add_argument("--refresh", action="store_true", help="render every preview again, ignoring those kept")
    p.add_argument("--json", action="store_true", help="machine-readable output (the data of gallery.json)")
    p.set_defaults(func=cmd_gallery)
