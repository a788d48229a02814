"""Sites of hand-made distributions for integration tests: real ``*.dist-info`` folders and modules in a
directory put on PYTHONPATH, as pip would have installed them, driven in a real venv's interpreter.

Every module a site writes appends ``<module> <pid>`` to the canary file when imported, so that a test
tells an import in the learning child from one in the process it runs.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional

from helpers import HOST, Venv, clean_env

#: An entry point every host has: the sites' envs are CartPole under other ids.
CARTPOLE = f"{HOST}.envs.classic_control:CartPoleEnv"

_CANARY = """\
import os as _os
with open(_os.environ["GYMPLUG_CANARY"], "a") as _file:
    _file.write(f"{__name__} {_os.getpid()}\\n")
"""


class Site:
    """One directory of distributions on PYTHONPATH, one cache directory and one canary file."""

    def __init__(self, env: Venv, root: Path) -> None:
        self.env = env
        self.path = root / "site"
        self.cache = root / "cache"
        self.canary = root / "canary.log"
        self.path.mkdir(parents=True)

    def dist(
        self,
        name: str,
        module: str,
        source: str = "",
        *,
        requires: Iterable[str] = (HOST,),
        version: str = "1.0",
        entry_points: Optional[str] = None,
        record: bool = True,
    ) -> Path:
        """A distribution ``name`` whose module ``module`` runs ``source`` when imported (after the canary)."""
        folder = self.path / f"{name.replace('-', '_')}-{version}.dist-info"
        folder.mkdir()
        headers = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        headers += [f"Requires-Dist: {requirement}" for requirement in requires]
        (folder / "METADATA").write_text("\n".join(headers) + "\n\n")
        (folder / "top_level.txt").write_text(module.split(".")[0] + "\n")
        if entry_points is not None:
            (folder / "entry_points.txt").write_text(textwrap.dedent(entry_points))
        parts = module.split(".")
        files = []
        for depth in range(1, len(parts)):
            package = self.path.joinpath(*parts[:depth])
            package.mkdir(exist_ok=True)
            init = package / "__init__.py"
            if not init.exists():
                init.write_text(_CANARY)
            files.append(init)
        target = self.path.joinpath(*parts[:-1], parts[-1] + ".py")
        target.write_text(_CANARY + textwrap.dedent(source))
        files.append(target)
        if record:
            rows = [f"{f.relative_to(self.path).as_posix()},," for f in files]
            rows += [f"{folder.name}/{n},," for n in ("METADATA", "top_level.txt", "RECORD")]
            (folder / "RECORD").write_text("\n".join(rows) + "\n")
        return folder

    def environ(self, **extra: str) -> dict[str, str]:
        return {
            "PYTHONPATH": str(self.path),
            "GYMPLUG_CACHE_DIR": str(self.cache),
            "GYMPLUG_CANARY": str(self.canary),
            **extra,
        }

    def run(self, code: str, *, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
        """``python -c code`` in the venv, with this site on the path (not checked)."""
        return subprocess.run(
            [str(self.env.python), "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            env=clean_env(self.environ(**extra)),
            timeout=timeout,
            cwd=self.path.parent,
        )

    def ok(self, code: str, **extra: Any) -> subprocess.CompletedProcess:
        proc = self.run(code, **extra)
        if proc.returncode != 0:
            raise AssertionError(f"failed ({proc.returncode})\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
        return proc

    def gymplug(self, *args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.env.python.parent / "gymplug"), *args],
            capture_output=True,
            text=True,
            env=clean_env(self.environ(**extra)),
            timeout=timeout,
            cwd=self.path.parent,
        )

    def imports(self, pid: Optional[int] = None) -> Counter:
        """How many times each site module was imported (in process ``pid`` only, if given)."""
        if not self.canary.exists():
            return Counter()
        lines = [line.split() for line in self.canary.read_text().splitlines() if line.strip()]
        return Counter(module for module, at in lines if pid is None or int(at) == pid)

    def pids(self, module: str) -> list[int]:
        """The processes that imported ``module``, in order."""
        if not self.canary.exists():
            return []
        return [int(at) for name, at in (line.split() for line in self.canary.read_text().splitlines()) if name == module]


def registers(*ids: str, **options: Any) -> str:
    """Module source that registers ``ids`` (CartPole each) with ``options``, through the host's register()."""
    lines = [f"import {HOST}"]
    lines += [f"{HOST}.register(id={i!r}, entry_point={CARTPOLE!r}, **{options!r})" for i in ids]
    return "\n".join(lines) + "\n"
