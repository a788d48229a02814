"""``gymplug list --no-import`` reads the host's own ids kept from its last import (``gymplug/_builtins.py``):
the same output as importing the host, in a real venv with hand-made distributions on PYTHONPATH."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import HOST, Venv, clean_env
from sites import CARTPOLE, Site

pytestmark = pytest.mark.integration

LIST = f"""
import sys
from gymplug.cli import main
status = main(sys.argv[1:])
print("host imported:", {HOST!r} in sys.modules, file=sys.stderr)
sys.exit(status)
"""


@pytest.fixture
def site(bare_venv: Venv, tmp_path: Path) -> Site:
    site = Site(bare_venv, tmp_path)
    site.dist("kept-a", "kept_a", entry_points=f"""
        [{HOST}.envs]
        KeptA-v0 = kept_a:Env
        Kept/Ns-v3 = kept_a:Env
        CartPole-v1 = kept_a:Env
        HostModule-v0 = {CARTPOLE}
        not an entry
        """)
    site.dist("kept-b", "kept_b", entry_points=f"[{HOST}.envs]\nKeptA-v0 = kept_b:Env\nKeptPlug = kept_b:register\n")
    return site


def listing(site: Site, *args: str, **extra: str) -> tuple[str, int, str, bool]:
    """(stdout, exit status, stderr, whether the host was imported) of ``gymplug ARGS`` run in the site's venv."""
    proc = subprocess.run([str(site.env.python), "-c", LIST, *args], capture_output=True, text=True,
                          env=clean_env(site.environ(**extra)), timeout=120, cwd=site.path.parent)
    told, _, imported = proc.stderr.rstrip("\n").rpartition("\n")
    assert imported.startswith("host imported:"), proc.stderr
    return proc.stdout, proc.returncode, told, imported.endswith("True")


@pytest.mark.parametrize(
    "args", [["list", "--json", "--no-import", "--all"], ["list", "--no-import"], ["-q", "list", "--no-import"]]
)
def test_a_listing_that_does_not_import_the_host_says_the_same(site: Site, args: list[str]) -> None:
    first, second, third = (listing(site, *args) for _ in range(3))
    assert (first[3], second[3], third[3]) == (True, False, False)  # imported once, then kept
    assert first[:3] == second[:3] == third[:3]  # stdout, status, and stderr: the host's notices too
    if "-q" not in args:
        assert listing(site, "-q", *args)[3] is True  # kept without -q: a quiet listing imports the host
    if "--json" in args:
        rows = {(r["id"], r["status"]) for r in json.loads(second[0])["envs"]}
        assert {("KeptA-v0", "conflict"), ("CartPole-v1", "shadowed"), ("CartPole-v1", "builtin"),
                ("Kept/Ns-v3", "declared"), ("KeptPlug/*", "pending")} <= rows
        host_module = {s for i, s in rows if i == "HostModule-v0"}
        assert host_module <= {"loaded", "declared"} and len(host_module) == 1  # as the host's import left it
        assert any(s == "broken" for i, s in rows if "not an entry" in i)


def test_any_change_on_the_path_imports_the_host_again(site: Site) -> None:
    args = ("list", "--json", "--no-import")
    assert [listing(site, *args)[3] for _ in range(2)] == [True, False]
    site.dist("kept-c", "kept_c", entry_points=f"[{HOST}.envs]\nKeptC-v0 = kept_c:Env\n")  # an install
    out, _, _, imported = listing(site, *args)
    assert imported and "KeptC-v0" in out
    assert listing(site, *args)[3] is False
    site.dist("kept-d", "kept_d", entry_points=f"[{HOST}.envs]\nKépt-v0 = kept_d:Env\nNs:x/Bad-v0 = kept_d:E\n")
    runs = [listing(site, *args) for _ in range(2)]  # a Unicode id, and one the grammar refuses
    assert [r[3] for r in runs] == [True, False] and runs[0][:3] == runs[1][:3]
    assert "Képt-v0" in runs[1][0] or "K\\u00e9pt-v0" in runs[1][0]
    assert listing(site, *args, GYMPLUG_CACHE="0")[3] is True  # nothing kept without a cache
