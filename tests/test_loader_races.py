"""The loader under forks and threads, made deterministic: a fork in the middle of another thread's hook
plugin registration or module import, and two threads taking the same pending plugin at once."""

from __future__ import annotations

import os
import threading
import time

import pytest

from inproc import attach, declare
from test_core_reliability import join_all, reap, site, write  # noqa: F401 - site is a fixture

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")


def test_a_fork_during_another_threads_hook_registration_makes_the_env_in_the_child(registration, site):
    write(site, "fk_hook_plugin.py", f"""
        import os, threading
        from gymplug import hookimpl
        PARENT = {os.getpid()}
        started, release = threading.Event(), threading.Event()
        @hookimpl
        def gymplug_register_envs(register):
            if os.getpid() == PARENT:  # the parent's load is caught in the middle of its hook
                started.set()
                release.wait(10)
            register("Y-v0", "x:Y")
    """)
    import fk_hook_plugin

    attach(registration, declare("fkplug", "Fk", "fk_hook_plugin"))
    loader = threading.Thread(target=lambda: "Fk/Y-v0" in registration.registry)
    loader.start()
    assert fk_hook_plugin.started.wait(10)
    pid = os.fork()
    if pid == 0:  # the loading thread does not exist here: its load is pending again, its plugin unregistered
        try:
            started = time.monotonic()
            ok = "Fk/Y-v0" in registration.registry and time.monotonic() - started < 5
            os._exit(0 if ok else 3)
        finally:
            os._exit(4)
    try:
        status = reap(pid, 30)
    finally:
        fk_hook_plugin.release.set()
    join_all([loader], 10)
    assert status == 0, "the child hung, waited for a thread it does not have, or lost the plugin"


def test_a_fork_during_another_threads_import_of_a_plugin_fails_fast_in_the_child(registration, site):
    write(site, "fk_started.py", "import threading\nstarted, release = threading.Event(), threading.Event()\n")
    write(site, "fk_slow_module.py", f"""
        import os
        import fk_started
        if os.getpid() == {os.getpid()}:
            fk_started.started.set()
            fk_started.release.wait(10)
        registration = None
        def register_envs():
            pass
    """)
    import fk_started

    attach(registration, declare("fkslow", "Slow", "fk_slow_module:register_envs"))
    loader = threading.Thread(target=lambda: "Slow/S-v0" in registration.registry)
    loader.start()
    assert fk_started.started.wait(10)
    pid = os.fork()
    if pid == 0:
        try:
            from gymplug import PluginLoadError

            started = time.monotonic()
            try:
                registration.make("Slow/S-v0")
                os._exit(3)
            except PluginLoadError as exc:
                fast = time.monotonic() - started < 5
                os._exit(0 if fast and "forked while another thread was importing fk_slow_module" in str(exc) else 5)
        finally:
            os._exit(4)
    try:
        status = reap(pid, 30)
    finally:
        fk_started.release.set()
    join_all([loader], 10)
    assert status == 0, "the child hung on the import lock, or did not say why"


class _Meeting(dict):
    """A pending map whose membership test waits (briefly) for a second thread to be inside it too.

    Behind the loader's lock only one thread can be inside at a time: the wait times out and both go on,
    one after the other. Without that lock, both meet here and then take the same plugin.
    """

    barrier = threading.Barrier(2, timeout=1.0)

    def __contains__(self, key: object) -> bool:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return dict.__contains__(self, key)


def test_two_threads_missing_together_load_a_plugin_once(registration, site):
    write(site, "twice_plugin.py", """
        calls = []
        registration = None
        def register_envs():
            calls.append(1)
            registration.register(id="T-v0", entry_point="x:Y")
    """)
    import twice_plugin

    twice_plugin.registration = registration
    manager = attach(registration, declare("twice", "Twice", "twice_plugin:register_envs"))
    manager.loader.pending = _Meeting(manager.loader.pending)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append("Twice/T-v0" in registration.registry)) for _ in range(2)]
    for thread in threads:
        thread.start()
    join_all(threads, 20)
    assert results == [True, True]
    assert twice_plugin.calls == [1]  # taken by one thread; the other waited for it
