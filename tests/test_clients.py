"""docs/clients.md runs: each marked python block, as a script, in a fresh virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from helpers import HOST, HOST_RELEASE, ROOT, Venv, run

GUIDE = ROOT / "docs" / "clients.md"
# <!-- test: KIND [NAME=VALUE ...] -->: script (runs), fails (exits non-zero), or a client library
MARKED = re.compile(r"<!-- test: (\w+)((?: \w+=\S*)*) -->\s*```python\n(.*?)```", re.S)
# What each client's examples need in their venv, beside the host. torch pinned: a plain `torch`
# would pull a CUDA build of several GB.
CLIENT_REQUIREMENTS = {
    "ray": ["ray"],
    "rllib": ["torch==2.13.0", "ray[rllib]"],
    "sb3": ["torch==2.13.0", "stable-baselines3"],
}
# Clients to test, from tox (clients, clients-torch): comma-separated keys of CLIENT_REQUIREMENTS.
ENABLED = [c for c in os.environ.get("GYMPLUG_TEST_CLIENTS", "").split(",") if c]


def blocks() -> list[tuple[str, dict[str, str], str]]:
    found = []
    for kind, assignments, code in MARKED.findall(GUIDE.read_text()):
        env = dict(a.split("=", 1) for a in assignments.split())
        found.append((kind, env, code))
    return found


def block_id(block: tuple[str, dict[str, str], str]) -> str:
    return block[0] + "".join(f"-{k}={v}" for k, v in block[1].items())


def test_guide_has_an_example_of_each_kind():
    kinds = {kind for kind, _, _ in blocks()}
    assert kinds == {"script", "fails", *CLIENT_REQUIREMENTS}


def test_readme_links_the_clients_guide():
    assert "docs/clients.md" in (ROOT / "README.md").read_text()


def run_script(env: Venv, tmp_path: Path, code: str, extra_env: dict[str, str], *, check: bool = True):
    script = tmp_path / "example.py"
    script.write_text(code)
    # the script's folder is sys.path[0]: workers that import __main__ by path find it there
    return run([env.python, script], env=extra_env, check=check, timeout=600, cwd=tmp_path)


PLAIN = [b for b in blocks() if b[0] in ("script", "fails")]
CLIENTS = [b for b in blocks() if b[0] in CLIENT_REQUIREMENTS]


# make_vec is new in Gymnasium 0.28; before 1.0 its workers call the entry point the driver loaded, and
# GYMPLUG_DISABLE in the workers (the guide's failing example) changes nothing
@pytest.mark.skipif(HOST == "gymnasium" and HOST_RELEASE < (1,), reason="the guide is written for Gymnasium 1.x")
@pytest.mark.parametrize("block", PLAIN, ids=[block_id(b) for b in PLAIN])
def test_example_runs(venv, tmp_path, block):
    kind, extra_env, code = block
    if HOST != "gymnasium":
        pytest.skip("Gymnasium examples")
    proc = run_script(venv, tmp_path, code, extra_env, check=kind == "script")
    if kind == "fails":
        assert proc.returncode != 0
        # the driver sees a broken pipe; the worker's own error is on stderr, as the guide says
        assert re.search(r"(ConnectionResetError|EOFError|BrokenPipeError)", proc.stderr), proc.stderr
        assert "Process Worker<AsyncVectorEnv>" in proc.stderr
        assert "PluginDisabledError" in proc.stderr
        if sys.version_info >= (3, 11):  # gymplug's note on the driver's error needs add_note
            assert "gymplug: this environment comes from gymplug-foo" in proc.stderr


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory, wheelhouse) -> Venv:
    """The host, gymplug and gymplug-foo, and every enabled client library."""
    env = Venv.create(tmp_path_factory.mktemp("clients") / "env")
    requirements = sorted({r for c in ENABLED for r in CLIENT_REQUIREMENTS[c]})
    env.pip("install", "pluggy>=1.2", "gymnasium>=1.0,<2", *requirements, timeout=1800)
    env.install_wheels(wheelhouse, ["gymplug", "gymplug-foo"])
    return env


@pytest.mark.integration
@pytest.mark.clients
@pytest.mark.parametrize("block", CLIENTS, ids=[block_id(b) for b in CLIENTS])
def test_client_example_runs(request, tmp_path, block):
    kind, extra_env, code = block
    if kind not in ENABLED:
        pytest.skip(f"set GYMPLUG_TEST_CLIENTS={kind} (tox run -e clients, clients-torch)")
    client_venv = request.getfixturevalue("client_venv")
    # Ray keeps its sessions and sockets under RAY_TMPDIR: a short path (AF_UNIX paths stop at 107
    # bytes), of this test's own
    ray_tmp = tempfile.mkdtemp(prefix="gp-ray-")
    env = {"RAY_TMPDIR": ray_tmp, "RAY_USAGE_STATS_ENABLED": "0", **extra_env}
    try:
        proc = run_script(client_venv, tmp_path, code, env)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert proc.returncode == 0
