"""``gymplug index``: learn now which environments each registration source provides.

Sources: registration plugins (Form B, loaded in this process, as a lookup would) and packages that
register on import (each imported in a child process).
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

from .._errors import describe_exception
from ._hosts import attach, selected_hosts
from ._output import EXIT_OK, EXIT_PROBLEM, JSON_FORMAT, Progress, emit_json, plural, say, stdout_to_stderr, table

__all__ = ["add_parser"]


def _row(host: str, source: Any, item: Any) -> dict[str, Any]:
    return {
        "host": host,
        "kind": "import",
        "distribution": source.key,
        "version": source.version,
        "modules": list(item.modules or source.modules) if item else list(source.modules),
        "ids": list(item.ids) if item else [],
        "seconds": round(item.seconds, 3) if item else None,
        "error": item.error if item else "not learned (another process is learning, or GYMPLUG_LEARN=0)",
    }


def cmd_index(args: argparse.Namespace) -> int:
    hosts = selected_hosts(args.host)
    if args.refresh is not None:  # --refresh alone forgets everything; with names, those distributions
        from .._learning import invalidate  # here: the other commands need none of the learning machinery

        invalidate(keys=args.refresh or None)
    progress = Progress(quiet=args.quiet, json=args.json)
    results: list[dict[str, Any]] = []
    for host in hosts:
        manager = attach(host)
        with stdout_to_stderr():
            manager.load_all()  # registration plugins are learned as they load
        hints = manager.loader.hints
        for declaration, seconds in manager.ledger.load_times.items():
            failure = manager.ledger.failures.get(declaration)
            ids = (hints.ids(declaration) if hints is not None else None) or ()
            results.append({
                "host": host, "kind": "plugin", "distribution": declaration.dist.name,
                "version": declaration.dist.version, "modules": [declaration.module], "ids": list(ids),
                "seconds": round(seconds, 3), "error": None if failure is None else describe_exception(failure),
            })
        usable, disabled = manager.learning.sources()
        now: dict[str, Any] = {}

        def told(source: Any, item: Any, host: str = host, now: dict[str, Any] = now) -> None:
            now[source.key] = item
            if progress.enabled:  # one line per source as it is learned, on a terminal only
                what = item.error or f"{plural(len(item.ids), 'id')}"
                print(f"gymplug: {host}: {source.key} {source.version}: {what} ({item.seconds:.2f} s)",
                      file=sys.stderr, flush=True)

        quiet = args.quiet or args.json
        learned = manager.learning.learn(stream=io.StringIO() if quiet else sys.stderr, on_result=told, whole=True)
        results.extend(_row(host, source, now.get(source.key) or learned.get(source.key)) for source in usable)
        results.extend({"host": host, "kind": "import", "distribution": s.key, "version": s.version,
                        "modules": list(s.modules), "ids": [], "seconds": None, "error": "blocked by GYMPLUG_DISABLE"}
                       for s in disabled)
    failed = [r for r in results if r["error"]]
    if args.json:
        emit_json({"format": JSON_FORMAT, "sources": results})
    else:
        rows = [
            (r["distribution"], r["version"], r["host"], len(r["ids"]),
             "-" if r["seconds"] is None else f"{r['seconds']:.2f} s",
             r["error"] or ", ".join(r["ids"][:4]) + (" ..." if len(r["ids"]) > 4 else ""))
            for r in results
        ]
        if rows:
            say(args.quiet, table(("DISTRIBUTION", "VERSION", "HOST", "IDS", "TIME", "RESULT"), rows))
        say(args.quiet, f"{plural(len(results), 'source')} learned, {len(failed)} failed")
    return EXIT_PROBLEM if failed else EXIT_OK


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "index",
        parents=parents,
        help="learn which environments packages without entry points provide",
        description="Packages such as minigrid declare no entry point: they register their environments when "
        "imported. gymplug learns which ids each provides by importing it in a child process (once per "
        "version and set of requirements; your process never imports them to learn), and which ids each "
        "registration plugin registers as it loads; this normally happens on the first lookup that nothing "
        "else explains. This command learns every source now (registration plugins load, in this process) "
        "and reports, for each, the ids found and the time taken, or why it failed. On a terminal, one line "
        "per package as it is learned. Exit 1 if one failed.",
        epilog="examples:\n  gymplug index\n  gymplug index --refresh minigrid\n  gymplug index --refresh --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--refresh", nargs="*", metavar="DIST",
                   help="forget what was learned (of these distributions only, if named) and learn it again")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_index)
