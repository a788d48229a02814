"""``gymplug index``: learn now which environments the installed packages that register on import provide."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._learned import invalidate
from ._hosts import attach, selected_hosts
from ._output import EXIT_OK, EXIT_PROBLEM, JSON_FORMAT, emit_json, plural, say, table

__all__ = ["add_parser"]


def cmd_index(args: argparse.Namespace) -> int:
    if args.refresh:
        invalidate()
    results: list[dict[str, Any]] = []
    for host in selected_hosts(args.host):
        manager = attach(host)
        usable, disabled = manager.imports.sources()
        learned = manager.imports.learn(stream=sys.stderr)
        for source in usable:
            item = learned.get(source.key)
            results.append({
                "host": host,
                "distribution": source.key,
                "version": source.version,
                "modules": list(source.modules),
                "ids": list(item.ids) if item else [],
                "seconds": round(item.seconds, 3) if item else None,
                "error": item.error if item else "not learned (another process is learning, or GYMPLUG_LEARN=0)",
            })
        results.extend({"host": host, "distribution": s.key, "version": s.version, "modules": list(s.modules),
                        "ids": [], "seconds": None, "error": "blocked by GYMPLUG_DISABLE"} for s in disabled)
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
        say(args.quiet, f"{plural(len(results), 'package')} that register on import, {len(failed)} failed")
    return EXIT_PROBLEM if failed else EXIT_OK


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "index",
        parents=parents,
        help="learn which environments packages without entry points provide",
        description="Packages such as minigrid or ale-py declare no entry point: they register their "
        "environments when imported. gymplug learns which ids each provides by importing it in a child "
        "process (once per version; the user's process never imports them to learn), which normally "
        "happens on the first lookup that nothing else explains. This command learns every such package "
        "now and reports, for each, the ids found and the time taken, or why it failed. Exit 1 if one failed.",
    )
    p.add_argument("--refresh", action="store_true", help="forget what was learned and learn everything again")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_index)
