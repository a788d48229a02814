"""``gymplug doctor``: is gymplug active, which hosts work, and what is wrong with the installed plugins."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _gymplug_startup

from .. import _cache
from .._discovery import unmatched_disable_values
from .._entries import printable
from .._settings import current
from ._hosts import HOSTS, NO_HOST, attach, dist_version, host_problem, installed_hosts
from ._output import (
    EXIT_OK,
    EXIT_PROBLEM,
    JSON_FORMAT,
    emit_json,
    error_line,
    paint,
    plural,
    say,
    stdout_to_stderr,
    use_color,
)

__all__ = ["add_parser", "diagnose"]


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "note", "warning" (a problem: exit 1), "problem" (exit 1)
    topic: str
    message: str

    @property
    def is_problem(self) -> bool:
        return self.level in ("warning", "problem")


def _startup_findings() -> list[Finding]:
    found = [Path(p) / "gymplug.pth" for p in sys.path if p and (Path(p) / "gymplug.pth").is_file()]
    findings = []
    if found:
        start = " (+ gymplug.start)" if found[0].with_suffix(".start").is_file() else ""
        findings.append(Finding("ok", "startup hook", f"installed: {found[0]}{start}"))
    else:
        reinstall = "reinstall gymplug (pip install --force-reinstall gymplug)"
        findings.append(Finding("problem", "startup hook", f"gymplug.pth is not in any site directory: {reinstall}"))
    if not _gymplug_startup.autoload_enabled():
        off = "GYMPLUG_AUTOLOAD turns it off: only processes that import gymplug first get plugins"
        findings.append(Finding("note", "startup hook", off))
    elif "_gymplug_startup" in sys.modules and sys.flags.no_site == 0:
        findings.append(Finding("ok", "startup hook", "active in this interpreter"))
    else:
        why = "site disabled, or the .pth was not processed"
        findings.append(Finding("problem", "startup hook", f"not active in this interpreter ({why})"))
    return findings


def _cache_findings() -> list[Finding]:
    from .._learning import unkept_reason

    unkept = unkept_reason()
    learned = [] if unkept is None else [
        Finding("warning", "cache", f"what is learned cannot be kept ({unkept}): each process learns again")
    ]
    path = _cache.cache_file()
    if path is None:
        return [Finding("note", "cache", "discovery cache off (GYMPLUG_CACHE=0)"), *learned]
    stored = len(_cache.DiscoveryCache(path).entries)
    state = f"{stored} director{'y' if stored == 1 else 'ies'} stored" if os.path.exists(path) else "not written yet"
    return [Finding("ok", "cache", f"discovery cache {path}: {state}"), *learned]


def _host_findings(host: str) -> tuple[list[Finding], Any]:
    version = dist_version(host)
    if importlib.util.find_spec(host) is None:
        return [Finding("note", host, "not installed")], None
    findings = []
    numpy_problem = host_problem(host)
    if numpy_problem:
        findings.append(Finding("problem", host, numpy_problem))
        return findings, None
    try:
        manager = attach(host)
    except Exception as exc:
        return [*findings, Finding("problem", host, f"import {host} failed: {type(exc).__name__}: {exc}")], None
    findings.append(Finding("ok", host, f"{host} {version}: gymplug attached"))
    return findings, manager


def _plugin_findings(host: str, manager: Any) -> list[Finding]:
    with stdout_to_stderr():
        manager.load_all()
    # A plugin that failed to load is a problem, said once: not also "loaded in 0.9 ms".
    failed = tuple(f"plugin {d.plugin_name} loaded in " for d in manager.ledger.failures)
    findings = [Finding(f.level, host, f.message) for f in (*manager.ledger.findings(), *manager.learning.findings())
                if not (f.level == "note" and failed and f.message.startswith(failed))]
    unmatched = unmatched_disable_values(current(), manager.discovery.seen)
    if unmatched:
        shown = ", ".join(repr(v) for v in unmatched)
        findings.append(Finding("warning", host, f"GYMPLUG_DISABLE names what no installed distribution is: {shown} "
                                "(separate names with commas or spaces)"))
    return findings


def diagnose() -> list[Finding]:
    findings = _startup_findings()
    for host in HOSTS:
        host_findings, manager = _host_findings(host)
        findings.extend(host_findings)
        if manager is not None:
            findings.extend(_plugin_findings(host, manager))
    if not installed_hosts():  # gymplug has nothing to plug into: as every other command says
        findings.append(Finding("problem", "hosts", NO_HOST))
    return findings + _cache_findings()


def cmd_doctor(args: argparse.Namespace) -> int:
    findings = diagnose()
    problems = [f for f in findings if f.is_problem]
    if args.json:
        emit_json({"format": JSON_FORMAT, "ok": not problems, "findings": [f.__dict__ for f in findings]})
    elif args.quiet:
        for finding in problems:
            error_line(f"{finding.level}: {finding.topic}: {finding.message}")
    else:
        color = use_color()
        for finding in findings:
            level = paint(finding.level.ljust(7), finding.level, color)
            say(False, f"{level} {finding.topic:<13} {printable(finding.message)}")
        say(False, f"{plural(len(problems), 'problem')} found")
    return EXIT_PROBLEM if problems else EXIT_OK


def add_parser(sub: Any, parents: list) -> None:
    p = sub.add_parser(
        "doctor",
        parents=parents,
        help="diagnose the installation: startup hook, hosts, broken plugins",
        description="Reports whether the startup hook is installed and active, which hosts are importable (and known "
        "incompatibilities such as gym 0.26 with numpy 2), malformed entries, plugins that fail to load, id conflicts, "
        "shadowed built-ins, disabled distributions, each registration plugin's import time and the discovery cache. "
        "Exit 1 on a problem.",
        epilog="examples:\n  gymplug doctor\n  python -m gymplug doctor     for the Python that runs your code\n"
        "  gymplug -q doctor           problems only, one line each",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)
