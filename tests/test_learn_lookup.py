"""Learned ids on the lookup path, against real installs of distributions that register when imported.

A plain ``make(id)`` works with no import; the user's process imports only the provider; a miss
that no source explains imports nothing; GYMPLUG_DISABLE and GYMPLUG_LEARN are obeyed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from helpers import HOST, Venv, run

pytestmark = pytest.mark.integration

SOURCES = ["gp-learn-root", "gp-learn-namespaced", "gp-learn-fails"]
REPORT = """
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m.startswith("gp_learn_") and m != "gp_learn_base")))
"""


@pytest.fixture(scope="module")
def lookup_venv(tmp_path_factory: pytest.TempPathFactory, learn_wheels: Path) -> Venv:
    env = Venv.create(tmp_path_factory.mktemp("lookup-venv") / "env")
    env.install_host()
    env.install_wheels(learn_wheels, ["gymplug", "gp-fixture-base", "gp-learn-base", *SOURCES])
    return env


class Site:
    """One cache directory and canary file: a fresh store for each test."""

    def __init__(self, env: Venv, tmp_path: Path) -> None:
        self.env = env
        self.canary = tmp_path / "canary.log"
        self.extra = {"GYMPLUG_CACHE_DIR": str(tmp_path / "cache"), "GYMPLUG_CANARY": str(self.canary)}

    def run(self, code: str, **extra: str):
        return self.env.run_python(f"import {HOST}\n{code}", env={**self.extra, **extra}, check=False, timeout=240)

    def json(self, code: str, **extra: str):
        proc = self.run(code + REPORT, **extra)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def imports(self) -> Counter:
        return Counter(self.canary.read_text().split()) if self.canary.exists() else Counter()


@pytest.fixture
def site(lookup_venv: Venv, tmp_path: Path) -> Site:
    return Site(lookup_venv, tmp_path)


def test_a_learned_id_is_made_with_no_import_and_only_its_provider_is_imported(site: Site) -> None:
    imported = site.json(f"env = {HOST}.make('LearnRoot-v0')\nenv.reset(seed=0)")
    assert imported == ["gp_learn_root"]  # this process imported the provider only
    first = site.imports()
    assert first["gp_learn_root"] == 2  # its child, then this process
    # Learning stopped once LearnRoot-v0 was found: the other packages are learned on a later miss.
    assert site.json(f"{HOST}.make('Learn/Grid-v0')") == ["gp_learn_ns"]
    again = site.imports() - first
    assert again["gp_learn_ns"] >= 1 and "gp_learn_root" not in again  # root's ids came from the store
    # A third process reads the store: no child, and again only the provider.
    settled = site.imports()
    assert site.json(f"{HOST}.make('Learn/Grid-v0')") == ["gp_learn_ns"]
    assert site.imports() - settled == Counter({"gp_learn_ns": 1})


def test_a_miss_that_no_source_explains_imports_nothing(site: Site) -> None:
    site.json(f"print('Typo-v0' in {HOST}.envs.registry)")  # learns every source: nothing provides a typo
    before = site.imports()
    proc = site.run(f"{HOST}.make('NoSuchEnvAnywhere-v0')")
    assert proc.returncode != 0 and "NoSuchEnvAnywhere" in proc.stderr
    assert site.json(f"print('CartPole' in {HOST}.envs.registry, 'Typo/Thing-v0' in {HOST}.envs.registry)") == []
    assert site.imports() == before  # no child, no provider


def test_a_disabled_provider_raises_plugin_disabled(site: Site) -> None:
    site.json(f"{HOST}.make('LearnRoot-v0')")  # learned while enabled
    before = site.imports()
    proc = site.run(f"{HOST}.make('LearnRoot-v0')", GYMPLUG_DISABLE="gp-learn-root")
    assert "PluginDisabledError" in proc.stderr and "gp-learn-root" in proc.stderr, proc.stderr
    assert site.imports() == before


def test_learning_off_reaches_no_unlearned_source(site: Site) -> None:
    proc = site.run(f"{HOST}.make('LearnRoot-v0')", GYMPLUG_LEARN="0")
    assert proc.returncode != 0
    assert site.imports() == Counter()


def test_the_module_id_form_still_works(site: Site) -> None:
    assert site.json(f"{HOST}.make('gp_learn_root:LearnRoot-v1')") == ["gp_learn_root"]


def test_gymplug_index_learns_every_source_and_list_shows_them_learned(site: Site) -> None:
    gymplug = site.env.python.parent / "gymplug"
    proc = run([gymplug, "index", "--json", "--host", HOST], env=site.extra, check=False, timeout=240)
    assert proc.returncode == 1  # gp-learn-fails fails at import: reported, exit 1
    sources = {s["distribution"]: s for s in json.loads(proc.stdout)["sources"] if s["kind"] == "import"}
    assert sources["gp-learn-root"]["ids"] == ["LearnRoot-v0", "LearnRoot-v1"]
    assert sources["gp-learn-fails"]["error"].startswith("import gp_learn_fails: RuntimeError")
    assert site.imports()["gp_learn_root"] == 1  # in the child only
    listed = run([gymplug, "list", "--no-import", "--json", "--host", HOST], env=site.extra, check=False, timeout=240)
    assert listed.returncode == 1  # the package that failed to learn is a problem row
    rows = {(r["id"], r["distribution"]): r for r in json.loads(listed.stdout)["envs"]}
    grid = rows["Learn/Grid-v0", "gp-learn-namespaced"]
    assert grid["status"] == "learned"
    failed = rows["*", "gp-learn-fails"]
    assert failed["status"] == "broken" and failed["detail"].startswith("learning failed: import gp_learn_fails")
    assert site.imports()["gp_learn_ns"] == 1  # listing imported nothing
