"""Learned ids as registry entries, and importing their package in the user's process, against real
processes: every registry read sees a learned id without importing its package; making one imports only
that package, once, whatever the threads, signals, ``sys.exit`` or ``GYMPLUG_LEARN`` say.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import HOST, Venv, run_on_a_terminal
from sites import CARTPOLE, Site, registers

pytestmark = pytest.mark.integration

REG = f"import {HOST}\nfrom {HOST}.envs import registration as r\n"


@pytest.fixture
def site(bare_venv: Venv, tmp_path: Path) -> Site:
    return Site(bare_venv, tmp_path)


def learn(site: Site) -> None:
    """One process whose miss learns every source of the site."""
    proc = site.ok(REG + "assert 'Typo-v0' not in r.registry")
    assert "Traceback" not in proc.stderr


def test_learned_ids_are_registry_entries_and_making_one_imports_only_its_package(site: Site) -> None:
    site.dist("gp-reg-a", "gp_reg_a", registers("RegA-v0", max_episode_steps=7, reward_threshold=3.5))
    site.dist("gp-reg-b", "gp_reg_b", registers("RegB-v0"))
    learn(site)
    assert site.imports() == {"gp_reg_a": 1, "gp_reg_b": 1}  # in the children
    proc = site.ok(REG + """
import contextlib, io, json, os, warnings
out = {"pid": os.getpid()}
out["in"] = "RegA-v0" in r.registry and "RegB-v0" in r.registry.keys()
out["iterated"] = sorted(i for i in r.registry if i.startswith("Reg"))
count = len(r.registry)
spec = r.spec("RegA-v0")
out["spec"] = [spec.entry_point, spec.max_episode_steps, spec.reward_threshold]
shown = io.StringIO()
if hasattr(r, "pprint_registry"):
    with contextlib.redirect_stdout(shown):
        r.pprint_registry()
    out["pprint"] = "RegA" in shown.getvalue() and "RegB" in shown.getvalue()
out["before make"] = sorted(m for m in __import__("sys").modules if m.startswith("gp_reg"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    env = r.make("RegA-v0")
out["overriding"] = [str(w.message) for w in caught if "verrid" in str(w.message)]
out["after make"] = [len(r.registry) == count, r.spec("RegA-v0").max_episode_steps, env.spec.max_episode_steps]
try:
    r.make("RegAa-v0")
except Exception as exc:
    out["typo"] = str(exc)
print(json.dumps(out))
""")
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["in"] is True
    assert out["iterated"] == ["RegA-v0", "RegB-v0"]
    assert out["spec"] == [CARTPOLE, 7, 3.5]
    assert out.get("pprint", True) is True
    assert out["before make"] == []  # every read above, and none imported the package
    assert out["overriding"] == [] and "Overriding" not in proc.stderr  # its own registration replaced gymplug's
    assert out["after make"] == [True, 7, 7]
    assert "RegA" in out["typo"]  # the host's own "did you mean", as after `import gp_reg_a`
    assert site.imports(out["pid"]) == {"gp_reg_a": 1}  # only the provider, once


def test_learning_off_imports_no_learned_package(site: Site) -> None:
    site.dist("gp-reg-off", "gp_reg_off", registers("RegOff-v0"))
    learn(site)
    proc = site.run(REG + "import os; print(os.getpid()); r.make('RegOff-v0')", GYMPLUG_LEARN="0")
    assert proc.returncode == 1 and "NameNotFound" in proc.stderr and "RegOff" in proc.stderr
    assert site.imports(int(proc.stdout.split()[0])) == {}  # GYMPLUG_LEARN=0: never imported by gymplug


def test_sys_exit_in_a_provider_is_a_plugin_error_not_the_end_of_the_process(site: Site) -> None:
    site.dist("aaa-exits", "aaa_exits", registers("Shared/A-v0") + "import sys; sys.exit('aaa_exits refuses')\n")
    site.dist("bbb-good", "bbb_good", registers("Shared/B-v0"))
    learn(site)
    proc = site.ok(REG + """
from gymplug import PluginLoadError
r.make("Shared/B-v0")
try:
    r.make("Shared/A-v0")
except PluginLoadError as exc:
    print("refused:", exc)
r.make("Shared/B-v0")
import gymplug
failed = [d.dist.name for d in gymplug.get_manager("{host}").failures]
print("failures:", failed)
print("still running")
""".replace("{host}", HOST))
    assert "still running" in proc.stdout
    assert "failures: ['aaa-exits']" in proc.stdout  # recorded, for doctor and the host's error
    assert "refused: cannot make 'Shared/A-v0': aaa-exits 1.0" in proc.stdout and "aaa_exits refuses" in proc.stdout


def test_ctrl_c_during_a_providers_import_leaves_it_to_import_again(site: Site) -> None:
    slow = "import os, time\nif os.environ.get('GYMPLUG_LEARN') != '0':\n    time.sleep(3)\n"
    site.dist("slowprov", "slowprov", slow + registers("SlowProv-v0"))
    learn(site)
    proc = site.ok(REG + """
import os, signal, threading
threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    r.make("SlowProv-v0")
except KeyboardInterrupt:
    print("interrupted")
r.make("SlowProv-v0")
print("made")
""")
    assert proc.stdout.split() == ["interrupted", "made"]


def test_threads_making_a_learned_id_together_wait_for_one_import(site: Site) -> None:
    site.dist("concpkg", "concpkg", "import time\ntime.sleep(2)\n" + registers("Conc-v0"))
    learn(site)
    proc = site.ok(REG + """
import collections, os, threading
results = collections.Counter()
def make():
    try:
        r.make("Conc-v0")
        results["ok"] += 1
    except Exception as exc:
        results[type(exc).__name__] += 1
threads = [threading.Thread(target=make) for _ in range(8)]
[t.start() for t in threads]
[t.join(60) for t in threads]
print(os.getpid(), dict(results))
""")
    pid, results = proc.stdout.split(" ", 1)
    assert results.strip() == "{'ok': 8}"
    assert site.imports(int(pid)) == {"concpkg": 1}


def test_disabling_a_root_registration_plugin_whose_ids_were_learned_names_it(site: Site) -> None:
    plugin = f"import {HOST}\ndef register_envs():\n    {HOST}.register(id='RootLearned-v0', entry_point={CARTPOLE!r})\n"
    site.dist("gp-root-plugin", "gp_root_plugin", plugin, requires=(),
              entry_points=f"[{HOST}.envs]\n__root__ = gp_root_plugin:register_envs\n")
    site.ok(REG + "r.make('RootLearned-v0')")  # loads it, and learns what it registered
    proc = site.ok(REG + """
from gymplug import PluginDisabledError
try:
    r.make("RootLearned-v0")
except PluginDisabledError as exc:
    print("disabled:", exc)
""", GYMPLUG_DISABLE="gp-root-plugin")
    assert proc.stdout.startswith("disabled: 'RootLearned-v0' comes from gp-root-plugin 1.0")


def test_two_packages_that_register_one_id_are_a_conflict_in_list_doctor_and_make(site: Site) -> None:
    site.dist("flappy-one", "flappy_one", registers("Flappy-v0", "FlappyOne-v0"))
    site.dist("flappy-two", "flappy_two", registers("Flappy-v0"))
    learn(site)
    listed = site.gymplug("list", "--json", "--no-import", "--host", HOST)
    rows = [(row["id"], row["status"], row["distribution"]) for row in json.loads(listed.stdout)["envs"]]
    assert ("Flappy-v0", "conflict", "flappy-one") in rows and ("Flappy-v0", "conflict", "flappy-two") in rows
    assert ("FlappyOne-v0", "learned", "flappy-one") in rows
    assert listed.returncode == 1
    doctor = site.gymplug("doctor")
    assert "'Flappy-v0' is declared by flappy-one 1.0 and flappy-two 1.0" in doctor.stdout
    proc = site.run(REG + "import os; print(os.getpid()); r.make('Flappy-v0')")
    assert "EnvConflictError" in proc.stderr and "flappy-one" in proc.stderr and "flappy-two" in proc.stderr
    assert site.imports(int(proc.stdout.split()[0])) == {}


def test_a_package_that_failed_to_learn_is_named_when_a_lookup_fails(site: Site) -> None:
    site.dist("gp-broken-learn", "gp_broken_learn", "raise ImportError('needs packaging')\n" + registers("Broken-v0"))
    learn(site)
    proc = site.run(REG + "r.make('Nothing-v0')")
    assert proc.returncode == 1
    assert "gp-broken-learn 1.0 could not be imported to learn its environments: " in proc.stderr
    assert "ImportError: needs packaging" in proc.stderr
    assert "gymplug index --refresh gp-broken-learn" in proc.stderr
    doctor = site.gymplug("doctor")
    assert doctor.returncode == 1 and "gp-broken-learn 1.0 could not be imported" in doctor.stdout


def test_a_distribution_installed_into_the_running_process_is_found_on_the_next_miss(site: Site) -> None:
    proc = site.ok(REG + f"""
import os, sys, textwrap
site = {str(site.path)!r}
assert len(r.registry) > 0 and "Hot-v0" not in r.registry  # attached, and missed once
info = os.path.join(site, "gp_hot-1.0.dist-info")
os.mkdir(info)
with open(os.path.join(info, "METADATA"), "w") as f:
    f.write("Metadata-Version: 2.1\\nName: gp-hot\\nVersion: 1.0\\n\\n")
with open(os.path.join(info, "entry_points.txt"), "w") as f:
    f.write("[{HOST}.envs]\\nHot-v0 = {CARTPOLE}\\n")
r.make("Hot-v0")
print("made Hot-v0")
""")
    assert "made Hot-v0" in proc.stdout


def test_a_package_that_registers_on_import_installed_into_the_running_process_is_found(site: Site) -> None:
    site.dist("gp-first", "gp_first", registers("First-v0"))
    learn(site)
    later = Site(site.env, site.path.parent / "later")  # written after the process attached
    script = REG + f"""
import os, shutil
assert "First-v0" in r.registry and "HotImport-v0" not in r.registry
shutil.copytree({str(later.path)!r}, {str(site.path)!r}, dirs_exist_ok=True)
r.make("HotImport-v0")
print("made HotImport-v0")
"""
    later.dist("gp-hot-import", "gp_hot_import", registers("HotImport-v0"))
    later.canary = site.canary
    proc = site.ok(script)
    assert "made HotImport-v0" in proc.stdout


def test_an_id_a_package_has_only_because_it_imports_its_requirement_is_the_requirements(site: Site) -> None:
    site.dist("gp-dep-base", "gp_dep_base", registers("DepBase-v0"))
    site.dist("gp-dep-user", "gp_dep_user", "import gp_dep_base\n" + registers("DepUser-v0"),
              requires=(HOST, "gp-dep-base"))
    learn(site)
    proc = site.ok(REG + "import os; print(os.getpid()); r.make('DepBase-v0')")
    assert site.imports(int(proc.stdout.split()[0])) == {"gp_dep_base": 1}
    listed = site.gymplug("list", "--json", "--no-import", "--host", HOST)
    rows = {(row["id"], row["distribution"]) for row in json.loads(listed.stdout)["envs"]}
    assert ("DepBase-v0", "gp-dep-base") in rows and ("DepBase-v0", "gp-dep-user") not in rows


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_fork_while_another_thread_imports_a_provider_fails_fast_in_the_child(site: Site) -> None:
    slow = "import os, time\nif os.environ.get('GYMPLUG_LEARN') != '0':\n    time.sleep(3)\n"
    site.dist("forkprov", "forkprov", slow + registers("ForkProv-v0"))
    learn(site)
    proc = site.ok(REG + """
import os, threading, time
thread = threading.Thread(target=lambda: r.make("ForkProv-v0"))
thread.start()
time.sleep(1)
pid = os.fork()
if pid == 0:
    started = time.monotonic()
    try:
        r.make("ForkProv-v0")
        print("child: made", flush=True)
    except Exception as exc:
        print("child:", type(exc).__name__, round(time.monotonic() - started), str(exc)[:300], flush=True)
    os._exit(0)
os.waitpid(pid, 0)
thread.join(30)
""", timeout=60)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("child:"))
    assert line.startswith("child: PluginLoadError 0 ") and "forked while another thread was importing" in line


def test_index_refresh_forgets_what_it_names_and_a_terminal_sees_each_package(site: Site) -> None:
    site.dist("gp-idx-a", "gp_idx_a", registers("IdxA-v0"))
    site.dist("gp-idx-b", "gp_idx_b", registers("IdxB-v0"))
    rows = json.loads(site.gymplug("index", "--json", "--host", HOST).stdout)["sources"]
    assert {(r["distribution"], tuple(r["ids"])) for r in rows} == {("gp-idx-a", ("IdxA-v0",)), ("gp-idx-b", ("IdxB-v0",))}
    assert site.imports() == {"gp_idx_a": 1, "gp_idx_b": 1}
    site.gymplug("index", "--host", HOST)
    assert site.imports() == {"gp_idx_a": 1, "gp_idx_b": 1}  # known: nothing learned again
    site.gymplug("index", "--refresh", "gp_IDX.a", "--host", HOST)
    assert site.imports() == {"gp_idx_a": 2, "gp_idx_b": 1}  # only what it named, in any spelling
    program = site.env.python.parent / "gymplug"
    status, out, terminal = run_on_a_terminal([program, "index", "--refresh", "--host", HOST], env=site.environ())
    assert status == 0 and site.imports() == {"gp_idx_a": 3, "gp_idx_b": 2}
    assert f"gymplug: {HOST}: gp-idx-a 1.0: 1 id (" in terminal and f"gymplug: {HOST}: gp-idx-b 1.0: 1 id (" in terminal
    assert "gymplug: " not in out
    piped = site.gymplug("index", "--refresh", "--host", HOST)
    assert "gp-idx-a 1.0: 1 id" not in piped.stderr  # not on a pipe


def test_a_package_whose_files_call_no_registration_is_learned_without_being_imported(site: Site) -> None:
    site.dist("gp-no-envs", "gp_no_envs", f"import {HOST}\nALGORITHMS = ['ppo']\n")
    site.dist("gp-some-envs", "gp_some_envs", registers("Some-v0"))
    learn(site)
    assert site.imports() == {"gp_some_envs": 1}  # the one that registers, in its child; the other never
    listed = json.loads(site.gymplug("list", "--all", "--json", "--no-import", "--host", HOST).stdout)
    empty = [r for r in listed["envs"] if r["distribution"] == "gp-no-envs"]
    assert [(r["id"], r["status"]) for r in empty] == [("*", "empty")]


def test_one_make_waits_for_another_learner_once_within_its_budget_and_says_so(site: Site) -> None:
    import subprocess
    import time

    site.dist("gp-wait-a", "gp_wait_a", registers("WaitA-v0"))
    learn(site)
    site.dist("gp-wait-b", "gp_wait_b", registers("WaitB-v0"))  # so that the next miss must learn
    (store,) = site.cache.glob("learned-*.json")
    holder = subprocess.Popen(
        [str(site.env.python), "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\n"
         "fcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(300)\n",
         str(store.with_suffix(".lock"))], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        proc = site.run(REG + "r.make('Typo-v0')", timeout=200)
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    assert proc.returncode == 1 and "NameNotFound" in proc.stderr
    assert 25 < took < 60  # the lookup's budget (30 s) once, not once per lookup make() does
    assert proc.stderr.count("gymplug: waiting for another process that is learning") == 1
    assert site.imports() == {"gp_wait_a": 1}  # nothing learned while the lock was held elsewhere


def test_when_nothing_can_be_kept_each_process_says_so_once(site: Site) -> None:
    site.dist("gp-unkept", "gp_unkept", registers("Unkept-v0"))
    proc = site.ok(REG + "assert 'Typo-v0' not in r.registry and 'Typo2-v0' not in r.registry\nr.make('Unkept-v0')",
                   GYMPLUG_CACHE="0")
    assert proc.stderr.count("gymplug: what is learned cannot be kept (GYMPLUG_CACHE=0") == 1
    doctor = site.gymplug("doctor", GYMPLUG_CACHE="0")
    assert "cannot be kept" in doctor.stdout


def test_a_directory_added_to_sys_path_after_a_lookup_is_searched_for_packages_and_plugins(site: Site) -> None:
    later = Site(site.env, site.path.parent / "later")
    later.dist("gp-path-import", "gp_path_import", registers("PathImport-v0"))
    later.dist("gp-path-plugin", "gp_path_plugin", f"import {HOST}\ndef register_envs():\n"
               f"    {HOST}.register(id='PathPlugin/P-v0', entry_point={CARTPOLE!r})\n", requires=(),
               entry_points=f"[{HOST}.envs]\nPathPlugin = gp_path_plugin:register_envs\n")
    proc = site.ok(REG + f"""
import sys
assert "Typo-v0" not in r.registry  # attached and missed, before the directory is on the path
sys.path.append({str(later.path)!r})
r.make("PathImport-v0")
r.make("PathPlugin/P-v0")
print("made both")
""")
    assert "made both" in proc.stdout


def test_a_blocked_packages_learned_ids_are_listed_as_disabled(site: Site) -> None:
    site.dist("gp-blocked-learn", "gp_blocked_learn", registers("BlockedLearn-v0"))
    learn(site)
    listed = site.gymplug("list", "--json", "--no-import", "--host", HOST, GYMPLUG_DISABLE="gp-blocked-learn")
    rows = [(r["id"], r["status"]) for r in json.loads(listed.stdout)["envs"] if r["distribution"] == "gp-blocked-learn"]
    assert rows == [("BlockedLearn-v0", "disabled")]


def test_a_package_that_failed_for_want_of_a_requirement_is_learned_once_it_is_installed(site: Site) -> None:
    source = "import gp_late_dep\n" + registers("Fixed-v0")
    site.dist("gp-needs-dep", "gp_needs_dep", source, requires=(HOST, "gp-late-dep"))
    failed = site.run(REG + "r.make('Fixed-v0')")
    assert failed.returncode == 1 and "ModuleNotFoundError: No module named 'gp_late_dep'" in failed.stderr
    site.dist("gp-late-dep", "gp_late_dep", "")  # the cause fixed: what gp-needs-dep depends on changed
    proc = site.ok(REG + "r.make('Fixed-v0'); print('made')")
    assert "made" in proc.stdout
