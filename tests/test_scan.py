"""Where a source registers, found by reading its files as its RECORD lists them (never importing).

Measured on real packages (Gymnasium 1.4, Python 3.11; the report of the branch `sources` has the table):
minigrid, highway-env, shimmy, ale-py, gym-trading-env and tetris-gymnasium are found where they
register; stable-baselines3 and pettingzoo, which require gymnasium and register nothing, give ().
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Iterator, Optional

import pytest

from gymplug._learning import _scan, _sources
from gymplug._learning._scan import registration_modules
from gymplug._learning._sources import Source, find_sources

HOST = "gymnasium"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    _sources.clear_cache()
    yield
    _sources.clear_cache()


def package(site: Path, name: str, files: dict[str, str], modules: Optional[tuple[str, ...]] = None, record: bool = True) -> Source:
    """A distribution installed in ``site`` as pip installs one: its files, and a RECORD that lists them."""
    folder = site / f"{name.replace('-', '_')}-1.0.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nRequires-Dist: gymnasium\n")
    for relative, text in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode()) if not text.startswith("\0") else path.write_bytes(text[1:].encode("latin-1"))
    rows = [f"{relative},sha256=x,1" for relative in files] + [f"{folder.name}/METADATA,,", f"{folder.name}/RECORD,,"]
    if record:
        (folder / "RECORD").write_text("\n".join(rows) + "\n")
    else:
        (folder / "top_level.txt").write_text("\n".join(modules or ()) + "\n")
    if modules is not None:
        return Source(name, "1.0", modules, (0,) * 8, str(folder))
    (source,) = [s for s in find_sources(HOST, [str(site)])[0] if s.key == name]
    return source


def scan(site: Path, files: dict[str, str], **kwargs: object) -> Optional[tuple[str, ...]]:
    return registration_modules(package(site, "probe", files, **kwargs), HOST)  # type: ignore[arg-type]


REGISTERS = {
    "host-attribute": "import gymnasium\ngymnasium.register(id='A-v0', entry_point='p:A')\n",
    "host-alias": "import gymnasium as gym\nfor i in ids:\n    gym.register(id=i, entry_point='p:A')\n",
    "dotted": "import gymnasium\ngymnasium.envs.registration.register('A-v0', 'p:A')\n",
    "gym-dotted": "import gym\ngym.envs.register(id='A-v0')\n",
    "from-host": "from gymnasium.envs.registration import register\n\nregister(\n    id='A-v0',\n)\n",
    "from-host-alias": "from gymnasium import (\n    make,  # a comment\n    register as reg,\n)\nreg(id='A-v0')\n",
    "module-alias": "import gymnasium.envs.registration as r\nr.register(id='A-v0')\n",
    "foreign-helper": "from gp_learn_base import register\nregister(__name__, ['A-v0'])\n",
    "unknown-origin": "register = make_registrar()\nregister('A-v0')\n",
    "registry-set": "from gymnasium.envs.registration import registry, EnvSpec\nregistry['A-v0'] = EnvSpec('A-v0')\n",
    "env-spec-with-registry": "import gymnasium\nspec = EnvSpec('A-v0')\ngymnasium.envs.registry.update({spec.id: spec})\n",
    "gym-env-specs": "import gym\ngym.envs.registry.env_specs['A-v0'] = spec\n",
}


@pytest.mark.parametrize("text", REGISTERS.values(), ids=list(REGISTERS))
def test_a_module_that_calls_the_host_registration_is_found(tmp_path: Path, text: str) -> None:
    assert scan(tmp_path, {"probe/__init__.py": "", "probe/envs.py": text}) == ("probe.envs",)


NOT_REGISTERING = {
    "own-registry": "from probe.registry import register\nregister('aec', 'A-v0')\n",  # pettingzoo's own
    "env-spec-alone": "from gymnasium.envs.registration import EnvSpec\nspec = EnvSpec('Bit-v0', 'no-entry-point')\n",
    "atexit": "import atexit\natexit.register(close)\nfrom atexit import register\nregister(close)\n",
    "singledispatch": "import gymnasium\n@open_path.register(str)\ndef _(p): ...\n",
    "torch-buffers": "import gymnasium\nself.register_buffer('x', t)\nmodule.register_forward_hook(h)\n",
    "register-envs": "import gymnasium, ale_py\ngymnasium.register_envs(ale_py)\n",  # a no-op, for linters
    "a-definition": "def register(name):\n    table[name] = 1\n",
    "registry-without-host": "registry = {}\nregistry['A'] = 1\n",
    "other-object": "import gymnasium\ncatalog.register('A')\n",
    "no-mention": "import gymnasium\nenv = gymnasium.make('CartPole-v1')\n",
}


@pytest.mark.parametrize("text", NOT_REGISTERING.values(), ids=list(NOT_REGISTERING))
def test_text_that_registers_nothing_with_the_host_is_not(tmp_path: Path, text: str) -> None:
    files = {
        "probe/__init__.py": "",
        "probe/envs.py": text,
        "probe/registry.py": "from gymnasium import spaces\n\ndef register(kind, env_id):\n    table[env_id] = kind\n",
    }
    assert scan(tmp_path, files) == ()


def test_a_helper_of_its_own_is_followed_to_where_it_is_called(tmp_path: Path) -> None:
    """ale-py: registration.py defines register_v5_envs() (calling gymnasium.register), __init__ calls it."""
    files = {
        "probe/__init__.py": "from probe.registration import register_v0_envs, register_v5_envs\nregister_v5_envs()\n",
        "probe/registration.py": "import gymnasium\n\ndef register_v5_envs():\n    gymnasium.register('A-v5', 'p:A')\n",
        "probe/envs/__init__.py": "from . import setup\nsetup.register_all()\n",
        "probe/envs/setup.py": "from ..registration import register_v5_envs as _r\n\ndef register_all():\n    _r()\n",
        "probe/other.py": "from .registry import register_things\nregister_things()\n",
        "probe/registry.py": "def register_things():\n    pass\n",
    }
    assert scan(tmp_path, files) == ("probe", "probe.envs", "probe.registration", "probe.envs.setup")


def test_registration_in_a_submodule_only(tmp_path: Path) -> None:
    """tetris-gymnasium registers in tetris_gymnasium.envs; its top-level import registers nothing."""
    files = {
        "probe/__init__.py": '"""The package."""\n',
        "probe/envs/__init__.py": "from gymnasium import register\nfrom probe.envs.tetris import Tetris\nregister(id='T', entry_point='probe.envs:Tetris')\n",
        "probe/envs/tetris.py": "import gymnasium\nclass Tetris(gymnasium.Env): pass\n",
    }
    assert scan(tmp_path, files) == ("probe.envs",)


def test_a_namespace_package_whose_subpackage_registers(tmp_path: Path) -> None:
    files = {"nsp/plug/__init__.py": "from gymnasium import register\nregister('N-v0', 'nsp.plug:E')\n", "nsp/plug/util.py": ""}
    source = package(tmp_path, "probe", files)
    assert source.modules == ("nsp",)
    assert registration_modules(source, HOST) == ("nsp.plug",)


def test_tests_main_and_other_distributions_files_are_not_read(tmp_path: Path) -> None:
    registering = "import gymnasium\ngymnasium.register('A', 'b:c')\n"
    files = {
        "probe/__init__.py": "",
        "probe/tests/test_envs.py": registering,
        "probe/test/helpers.py": registering,
        "probe/test_things.py": registering,
        "probe/conftest.py": registering,
        "probe/__main__.py": registering,
        "claimed/__init__.py": registering,  # listed, but not among the source's modules (a disabled one claims it)
        "probe/not-a-module/x.py": registering,
    }
    assert scan(tmp_path, files, modules=("probe",)) == ()


def test_what_it_cannot_tell_is_none(tmp_path: Path) -> None:
    registering = "import gymnasium\ngymnasium.register('A', 'b:c')\n"
    assert scan(tmp_path / "a", {"probe/__init__.py": registering}, modules=("probe",), record=False) is None  # no RECORD
    compiled = {"probe/__init__.cpython-311-x86_64-linux-gnu.so": "", "probe/helpers.py": ""}
    assert scan(tmp_path / "b", compiled) is None  # the compiled module may register: a child must look
    compiled["probe/envs.py"] = registering
    assert scan(tmp_path / "c", compiled) == ("probe.envs",)  # what the text shows is enough
    assert scan(tmp_path / "d", {"probe/__init__.py": "", "probe/data.json": "{}"}) == ()
    assert scan(tmp_path / "e", {"probe/x.pyc": "\0\x00\x01"}) is None  # sourceless


def test_the_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = {f"probe/m{i}.py": "" for i in range(5)}
    monkeypatch.setattr(_scan, "MAX_FILES", 4)
    assert scan(tmp_path / "a", many) is None
    monkeypatch.setattr(_scan, "MAX_FILES", 5)
    assert scan(tmp_path / "b", many) == ()
    monkeypatch.setattr(_scan, "MAX_FILE", 10)
    assert scan(tmp_path / "c", {"probe/__init__.py": "x" * 11}) is None
    monkeypatch.setattr(_scan, "MAX_FILE", 100)
    monkeypatch.setattr(_scan, "MAX_BYTES", 15)
    assert scan(tmp_path / "d", {"probe/a.py": "x" * 10, "probe/b.py": "x" * 10}) is None
    monkeypatch.setattr(_scan, "MAX_BYTES", 20)
    assert scan(tmp_path / "e", {"probe/a.py": "x" * 10, "probe/b.py": "x" * 10}) == ()


def test_at_most_32_modules_shallowest_first(tmp_path: Path) -> None:
    registering = "import gymnasium\ngymnasium.register('A', 'b:c')\n"
    files = {f"probe/deep/m{i:02}.py": registering for i in range(40)}
    files["probe/__init__.py"] = registering
    found = scan(tmp_path, files)
    assert found is not None and len(found) == 32 and found[:2] == ("probe", "probe.deep.m00")


def test_hostile_files_never_raise(tmp_path: Path) -> None:
    files = {
        "probe/__init__.py": "\0\xff\xfe register(",  # not UTF-8
        "probe/a.py": "from . import (register\n",  # an import never closed
        "probe/b.py": "from .......x import register as\nregister(",
        "probe/gone.py": "",  # listed, then deleted
    }
    source = package(tmp_path, "probe", files)
    (tmp_path / "probe" / "gone.py").unlink()
    (tmp_path / "probe" / "c.py").mkdir()
    assert registration_modules(source, HOST) == ("probe", "probe.b")
    broken = Source("x", "1", ("x",), (0,) * 8, str(tmp_path / "nowhere" / "x-1.dist-info"))
    assert registration_modules(broken, HOST) is None
    (tmp_path / "file").write_text("not a zip")
    assert registration_modules(broken._replace(folder=str(tmp_path / "file" / "x-1.dist-info")), HOST) is None


def test_a_source_in_a_zip_is_read_from_the_zip(tmp_path: Path) -> None:
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\nRequires-Dist: gymnasium\n")
        out.writestr("zipped-1.0.dist-info/RECORD", "zipped/__init__.py,,\nzipped/envs.py,,\n")
        out.writestr("zipped/__init__.py", "")
        out.writestr("zipped/envs.py", "from gymnasium import register\nregister('Z-v0', 'zipped.envs:E')\n")
    (source,) = find_sources(HOST, [str(archive)])[0]
    assert registration_modules(source, HOST) == ("zipped.envs",)


def test_nothing_is_imported(tmp_path: Path) -> None:
    files = {"canaryscan/__init__.py": "raise SystemExit('imported')\nimport gymnasium\ngymnasium.register('A', 'b:c')\n"}
    assert scan(tmp_path, files) == ("canaryscan",)
    assert "canaryscan" not in sys.modules
