"""Test helpers: build real wheels, make real virtual environments, and run code in them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import venv
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from gymplug._hosts import HOSTS

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plugins"
HOST = os.environ.get("GYMPLUG_TEST_HOST", "gymnasium")
OTHER_HOST = "gym" if HOST == "gymnasium" else "gymnasium"
# The release of HOST under test when tox pins an older one (gymnasium026: 0.26.3); empty: the facts' pins.
HOST_VERSION = os.environ.get("GYMPLUG_TEST_HOST_VERSION", "").strip()


def host_requirements(host: str, version: str = "") -> list[str]:
    """What a test venv installs for ``host``: release ``version`` and the numpy it needs, else the facts' pins."""
    facts = HOSTS[host]
    if not version:
        return list(facts.requirements)
    below = facts.numpy_below
    needs_old_numpy = below is not None and facts.numpy_problem(f"{below}.0", version) is not None
    return [f"{host}=={version}", *([f"numpy<{below}"] if needs_old_numpy else [])]


HOST_REQUIREMENTS = {name: host_requirements(name, HOST_VERSION if name == HOST else "") for name in HOSTS}


def installed_release(dist: str) -> tuple[int, ...]:
    """The release of ``dist`` installed beside the tests, ``(0, 26, 3)``; () if it is not installed."""
    try:
        return tuple(int(part) for part in re.findall(r"\d+", metadata.version(dist))[:3])
    except metadata.PackageNotFoundError:
        return ()


# The release of HOST beside the tests: tox installs the one the test venvs get.
HOST_RELEASE = installed_release(HOST)
# The host under test loads its plugins at import on its own (gym 0.26, Gymnasium 0.26-0.29): gymplug replaces that.
HOST_EAGER = HOST == "gym" or () < HOST_RELEASE < (1,)
# Environment variables that would leak this process's setup into the subprocesses.
_SCRUBBED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "GYMPLUG_AUTOLOAD", "GYMPLUG_DISABLE", "GYMPLUG_CANARY", "GYMPLUG_CACHE")
# Subprocesses run here, so that `python -c` never imports from the repository (sys.path[0] is the cwd).
NEUTRAL_CWD = Path(tempfile.mkdtemp(prefix="gymplug-tests-"))
_IGNORED = shutil.ignore_patterns(".git", ".tox", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests")


def clean_env(extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["GYMPLUG_CACHE_DIR"] = str(NEUTRAL_CWD / "discovery-cache")  # never the user's own cache
    env.update(extra or {})
    return env


def run(args: Iterable[Any], *, env: Optional[Mapping[str, str]] = None, timeout: float = 600, check: bool = True, cwd: Any = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=clean_env(env), timeout=timeout, cwd=cwd or NEUTRAL_CWD
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"command failed ({proc.returncode}): {' '.join(map(str, args))}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def copy_source(src: Path, dest_root: Path) -> Path:
    """Copy a source tree so that building it leaves no build output in the repository."""
    dest = dest_root / src.name
    shutil.copytree(src, dest, ignore=_IGNORED)
    return dest


def build_wheels(sources: Iterable[Path], wheelhouse: Path, scratch: Path) -> None:
    copies = [copy_source(src, scratch) for src in sources]
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheelhouse, *copies])


def distributions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if (p / "pyproject.toml").exists())


@dataclass
class Venv:
    """A real virtual environment with a host, gymplug and plugins installed."""

    path: Path

    @classmethod
    def create(cls, path: Path) -> "Venv":
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        return cls(path)

    @property
    def python(self) -> Path:
        return self.path / ("Scripts" if os.name == "nt" else "bin") / "python"

    @property
    def site_packages(self) -> Path:
        out = self.run_python("import sysconfig; print(sysconfig.get_paths()['purelib'])")
        return Path(out.stdout.strip())

    def pip(self, *args: Any, timeout: float = 900) -> subprocess.CompletedProcess:
        return run([self.python, "-m", "pip", "--disable-pip-version-check", "--quiet", *args], timeout=timeout)

    def install_host(self, host: str = HOST) -> None:
        self.pip("install", "pluggy>=1.2", *HOST_REQUIREMENTS[host])

    def install_wheels(self, wheelhouse: Path, names: Iterable[str]) -> None:
        self.pip("install", "--no-index", "--no-deps", "--find-links", wheelhouse, *names)

    def run_python(self, code: str, *, env: Optional[Mapping[str, str]] = None, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        return run([self.python, "-c", textwrap.dedent(code)], env=env, check=check, timeout=timeout)

    def json(self, code: str, *, env: Optional[Mapping[str, str]] = None, timeout: float = 300) -> Any:
        """Run code whose last line of output is JSON; return it decoded."""
        proc = self.run_python(code, env=env, timeout=timeout)
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise AssertionError(f"no output\n--- stderr\n{proc.stderr}")
        return json.loads(lines[-1])


def dist_info(site: Path, name: str, version: str, entry_points: Any) -> Path:
    """A real ``*.dist-info`` folder, as pip writes one, with an entry_points.txt (text or bytes) or none."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if isinstance(entry_points, bytes):
        (folder / "entry_points.txt").write_bytes(entry_points)
    elif entry_points is not None:
        (folder / "entry_points.txt").write_text(entry_points)
    return folder


def run_on_a_terminal(args: Iterable[Any], *, env: Optional[Mapping[str, str]] = None, timeout: float = 300) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (stdout piped); return (returncode, stdout, what the terminal got)."""
    import pty
    import select
    import time

    primary, secondary = pty.openpty()
    try:
        with subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE, stderr=secondary, text=True,
                              env=clean_env({**(env or {}), "TERM": "xterm"}), cwd=NEUTRAL_CWD) as proc:
            os.close(secondary)
            secondary = -1
            seen = b""
            deadline = time.monotonic() + timeout
            while True:
                if time.monotonic() > deadline:
                    proc.kill()
                    raise AssertionError("timed out")
                if not select.select([primary], [], [], 1.0)[0]:
                    continue
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the last writer closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            out = proc.stdout.read() if proc.stdout else ""
            proc.wait(timeout=60)
        return proc.returncode, out, seen.decode(errors="replace")
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
