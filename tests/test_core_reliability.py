"""Hangs, lost plugins and races of the loader, each driven for real: threads, forks, signals, pickles."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest

from helpers import HOST
from inproc import attach, declare

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A temporary sys.path directory for plugin code; its modules are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if not name.startswith(("_gymplug_test_registration", "gymnasium", "gym", "numpy")):
            sys.modules.pop(name, None)


def write(site: Path, relative: str, source: str) -> None:
    path = site / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def reap(pid: int, seconds: float):
    """The exit status of child ``pid`` within ``seconds``; else kill it and return None."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.02)


def join_all(threads: list, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread hung"


def test_no_deadlock_between_an_import_that_looks_up_and_a_load_that_imports_it(registration, site):
    # Thread 1 imports `shared`, whose __init__ looks an id up; thread 2 loads a plugin that imports `shared`.
    write(site, "shared/__init__.py", """
        import time, holder
        holder.in_shared.set()
        holder.go.wait(5)
        FOUND = "Dead/X-v0" in holder.registration.registry
    """)
    write(site, "holder.py", "import threading\nin_shared, go = threading.Event(), threading.Event()\nregistration = None\n")
    write(site, "dead_plugin.py", """
        import holder
        def register_envs():
            holder.go.set()
            import shared
            holder.registration.register(id="X-v0", entry_point="x:Y")
    """)
    import holder

    holder.registration = registration
    attach(registration, declare("dead", "Dead", "dead_plugin:register_envs"))
    first = threading.Thread(target=lambda: __import__("shared"))
    first.start()
    assert holder.in_shared.wait(5)
    second = threading.Thread(target=lambda: "Dead/X-v0" in registration.registry)
    second.start()
    join_all([first, second], 15)
    assert "Dead/X-v0" in registration.registry


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_while_another_thread_loads_does_not_hang_the_child(registration, site):
    write(site, "slow_plugin.py", """
        import threading
        started, release = threading.Event(), threading.Event()
        registration = None
        def register_envs():
            started.set()
            release.wait(10)
            registration.register(id="S-v0", entry_point="x:Y")
    """)
    write(site, "quick_plugin.py", """
        registration = None
        def register_envs():
            registration.register(id="Q-v0", entry_point="x:Y")
    """)
    import quick_plugin
    import slow_plugin

    slow_plugin.registration = quick_plugin.registration = registration
    attach(registration, declare("slow", "Slow", "slow_plugin:register_envs"), declare("quick", "Quick", "quick_plugin:register_envs"))
    loader = threading.Thread(target=lambda: "Slow/S-v0" in registration.registry)
    loader.start()
    assert slow_plugin.started.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: its copy of the loading thread does not exist
        try:
            ok = "Quick/Q-v0" in registration.registry
            os._exit(0 if ok else 3)
        finally:
            os._exit(4)
    try:
        status = reap(pid, 15)
    finally:
        slow_plugin.release.set()
    join_all([loader], 10)
    assert status == 0, "the child hung or failed"


def test_ctrl_c_while_a_plugin_imports_leaves_it_pending_for_a_retry(tmp_path: Path):
    marker = tmp_path / "interrupted-once"
    (tmp_path / "interrupted_plugin.py").write_text(textwrap.dedent(f"""
        import os, signal, time
        marker = {str(marker)!r}
        if not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered while this module imports
            time.sleep(5)
        registration = None
        def register_envs():
            registration.register(id="I-v0", entry_point="x:Y")
    """))
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(TESTS)!r}, {str(tmp_path)!r}]
        from inproc import attach, declare, private_registration
        registration = private_registration()
        attach(registration, declare("intr", "Intr", "interrupted_plugin:register_envs"))
        try:
            "Intr/I-v0" in registration.registry
        except KeyboardInterrupt:
            print("interrupted")
        import interrupted_plugin
        interrupted_plugin.registration = registration
        print("retry", "Intr/I-v0" in registration.registry)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "GYMPLUG_TEST_HOST": HOST})
    assert proc.stdout.split() == ["interrupted", "retry", "True"], proc.stderr


def test_another_threads_register_during_a_load_is_not_reverted(registration, site):
    write(site, "long_plugin.py", """
        import threading
        started, release = threading.Event(), threading.Event()
        registration = None
        def register_envs():
            started.set()
            release.wait(10)
            registration.register(id="L-v0", entry_point="x:Y")
    """)
    import long_plugin

    long_plugin.registration = registration
    registration.register(id="Mine-v0", entry_point="old:Env")
    manager = attach(registration, declare("long", "Long", "long_plugin:register_envs"))
    loader = threading.Thread(target=lambda: "Long/L-v0" in registration.registry)
    loader.start()
    assert long_plugin.started.wait(10)
    with warnings.catch_warnings():  # the host warns "Overriding environment", as it should
        warnings.simplefilter("ignore")
        registration.register(id="Mine-v0", entry_point="new:Env")  # the user's own re-registration
    long_plugin.release.set()
    join_all([loader], 10)
    assert manager.raw.peek("Mine-v0").entry_point == "new:Env"
    assert not manager.ledger.rejected


def test_an_exception_whose_str_raises_is_reported_not_raised(registration, site):
    write(site, "nasty_plugin.py", """
        class Nasty(Exception):
            def __str__(self):
                raise RuntimeError("no str for you")
        def register_envs():
            raise Nasty()
    """)
    manager = attach(registration, declare("nasty", "Nasty", "nasty_plugin:register_envs"))
    error = manager.ledger.explain("Nasty/X-v0")
    assert error is None  # not loaded yet: a lookup loads it
    with pytest.raises(Exception) as info:
        registration.make("Nasty/X-v0")
    assert "unprintable Nasty" in str(info.value)
    assert any("unprintable" in f.message for f in manager.ledger.findings())
    assert any("unprintable" in (e.detail or "") for e in manager.ledger.entries())


def test_a_disabled_root_plugin_is_named_in_the_hosts_error(registration):
    attach(registration, declare("rooty", "__root__", "rooty:register_envs"), disabled=frozenset({"rooty"}))
    with pytest.raises(Exception) as info:
        registration.make("Unknown-v0")
    assert "GYMPLUG_DISABLE blocks root-namespace plugins that may provide it: rooty 1.0" in "\n".join(
        getattr(info.value, "__notes__", [])
    ) or sys.version_info < (3, 11)


@pytest.mark.integration
def test_a_plugin_error_unpickles_before_the_host_is_imported(venv, tmp_path: Path):
    # A driver receiving a worker's error: unpickling imports the host, which must attach gymplug.
    pickled = tmp_path / "error.pickle"
    venv.run_python(f"""
        import pickle, {HOST}
        from gymplug._hosts import facts
        from gymplug import PluginDisabledError
        error = facts({HOST!r}).errors()[PluginDisabledError]("blocked", env_id="Foo-v0")
        open({str(pickled)!r}, "wb").write(pickle.dumps(error))
    """)
    out = venv.json(f"""
        import json, pickle, sys
        error = pickle.loads(open({str(pickled)!r}, "rb").read())
        import gymplug, {HOST}
        print(json.dumps([type(error).__name__, isinstance(error, {HOST}.error.Error),
                          gymplug.get_manager({HOST!r}) is not None, "foo-v0" in {HOST}.envs.registry]))
    """)
    assert out == ["PluginDisabledError", True, True, True]


def test_many_threads_make_envs_of_many_namespaces_each_plugin_imported_once(registration, site):
    write(site, "crowd.py", "registration = None\nimports = []\n")
    for n in range(16):
        write(site, f"many_{n}.py", f"""
            import crowd
            crowd.imports.append("many_{n}")
            def register_envs():
                crowd.registration.register(id="E-v0", entry_point="x:Y")
        """)
    import crowd

    crowd.registration = registration
    attach(registration, *(declare(f"many-{n}", f"Many{n}", f"many_{n}:register_envs") for n in range(16)))
    errors: list = []
    start = threading.Barrier(33, timeout=10)

    def worker(index: int) -> None:
        try:
            start.wait()
            for round in range(20):
                n = (index + round) % 16
                assert f"Many{n}/E-v0" in registration.registry
                assert registration.spec(f"Many{n}/E-v0").id == f"Many{n}/E-v0"
                assert f"Many{(n + 1) % 16}/E" not in registration.registry  # unversioned: a miss, loaded once
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    assert "Many3/E-v0" in registration.registry  # loaded before the forks: see below
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    start.wait()
    children = []
    try:
        for _ in range(3):  # forks in between: each child must be able to look up, miss and exit
            pid = os.fork() if hasattr(os, "fork") else None
            if pid == 0:
                # Only ids that need no import: a child forked while another thread imports a module
                # inherits that module's import lock held, which no library can release (CPython's own).
                ok = "Many3/E-v0" in registration.registry and "Nobody/X-v0" not in registration.registry
                os._exit(0 if ok else 3)
            if pid:
                children.append(pid)
            time.sleep(0.01)
        join_all(threads, 60)
        statuses = [reap(pid, 30) for pid in children]
    finally:
        for pid in children:
            reap(pid, 0)
    assert statuses == [0] * len(children), f"forked children: {statuses} (None: hung)"
    assert not errors, errors[:3]
    assert sorted(crowd.imports) == sorted(f"many_{n}" for n in range(16))  # each imported once


def test_a_plugin_that_looks_ids_up_while_it_registers_does_not_wait_for_itself(registration, site):
    write(site, "self_lookup.py", """
        registration = None
        def register_envs():
            registration.register(id="A-v0", entry_point="x:Y")
            assert "Self/Missing-v0" not in registration.registry  # a miss in its own namespace, mid-load
            if hasattr(registration, "pprint_registry"):  # gymnasium's; gym 0.26 has none
                registration.pprint_registry(disable_print=True)
    """)
    import self_lookup

    self_lookup.registration = registration
    manager = attach(registration, declare("selfish", "Self", "self_lookup:register_envs"))
    start = time.monotonic()
    assert "Self/A-v0" in registration.registry
    assert time.monotonic() - start < 5
    assert not manager.ledger.failures
