"""The learning children for real: child processes importing small modules written to a temporary directory.

Every test checks afterwards that no process it caused is left (each has the test's tmp_path in its command
line: the child's arguments hold its sys.path, and the grandchildren the sources start name it too).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from helpers import HOST, NEUTRAL_CWD, clean_env

from gymplug._learning import _children
from gymplug._learning._children import Job, Learned, interpreter, learn_many
from gymplug._learning._sources import Source

posix = pytest.mark.skipif(os.name != "posix", reason="process groups, fork and signals")
REG = f"{HOST}.envs.classic_control:CartPoleEnv"
# Starts a grandchild that outlives the source unless killed; names tmp_path (argv[1]) and records the pids.
SLEEPER = """
import json, os, subprocess, sys, time
p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {tmp!r}])
with open(os.path.join({tmp!r}, __name__ + ".pids"), "w") as f:
    json.dump({{"importer": os.getpid(), "watcher": os.getppid(), "grandchild": p.pid}}, f)
"""


def source(tmp: Path, module: str, code: str) -> Source:
    """A source whose module ``module`` (a file in ``tmp``) runs ``code`` when imported."""
    (tmp / f"{module}.py").write_text(textwrap.dedent(code).replace("{HOST}", HOST).replace("{REG}", REG))
    return Source(module.replace("_", "-"), "1.0", (module,), (0,) * 8, str(tmp))


def learn(tmp: Path, *sources: Any, timeout: float = 10.0, within: float = 30.0, **kwargs: Any) -> list[Learned]:
    jobs = [s if isinstance(s, Job) else Job(s) for s in sources]
    deadline = time.monotonic() + within
    return learn_many(HOST, jobs, deadline=deadline, timeout=timeout, path=[str(tmp), *sys.path], **kwargs)


def alive(pid: int) -> bool:
    """Running (a zombie is not: it waits to be reaped by whoever inherited it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat[stat.rindex(")") + 2] not in "ZX"


def naming(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text.encode() in (entry / "cmdline").read_bytes() and alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def gone(pids: list[int], within: float) -> bool:
    end = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def pids(tmp: Path, module: str, within: float = 20.0) -> dict[str, int]:
    path = tmp / f"{module}.pids"
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.02)
    raise AssertionError(f"{module} never started")


@pytest.fixture(autouse=True)
def nothing_left(tmp_path: Path) -> Iterator[None]:
    yield
    if Path("/proc/self/cmdline").exists():
        end = time.monotonic() + 3
        while naming(str(tmp_path)) and time.monotonic() < end:
            time.sleep(0.05)
        left = naming(str(tmp_path))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert left == [], "processes left behind"


def test_ids_in_order_with_plain_specs_that_rebuild_the_same_spec(tmp_path: Path) -> None:
    src = source(tmp_path, "gp_specs", """
        from {HOST}.envs.registration import register
        E = "{REG}"
        register("Sp/A-v0", entry_point=E, max_episode_steps=50, reward_threshold=1.5, nondeterministic=True,
                 kwargs={"a": [1, 2.5, None, {"b": True}], "s": "x\\u00e9"})
        register("Sp/Z-v0", entry_point=E)
        register("Sp/Int-v0", entry_point=E, nondeterministic=1, max_episode_steps=True)
        register("Sp/Tuple-v0", entry_point=E, kwargs={"t": (1, 2)})
        register("Sp/Call-v0", entry_point=lambda: None)
        register("Sp/NaN-v0", entry_point=E, kwargs={"x": float("nan")})
        register("Sp/Big-v0", entry_point=E, kwargs={"x": 10 ** 30})
        register("Sp/IntKey-v0", entry_point=E, kwargs={1: "a"})
        register("Sp/Surrogate-v0", entry_point=E, kwargs={"x": "\\ud800"})
        deep = []
        for _ in range(40):
            deep = [deep]
        register("Sp/Deep-v0", entry_point=E, kwargs={"x": deep})
        register("Sp/Huge-v0", entry_point=E, kwargs={"x": "y" * 100000})
        class Sub(float):
            pass
        register("Sp/Sub-v0", entry_point=E, reward_threshold=Sub(1.0))
        """)
    [item] = learn(tmp_path, src)
    assert item.error is None and not item.transient and item.modules == ("gp_specs",)
    assert item.ids == tuple(f"Sp/{n}-v0" for n in
                             "A Z Int Tuple Call NaN Big IntKey Surrogate Deep Huge Sub".split())
    assert set(item.specs) == {"Sp/A-v0", "Sp/Z-v0", "Sp/Int-v0"}
    assert item.specs["Sp/Z-v0"] == {"entry_point": REG}
    assert item.specs["Sp/A-v0"] == {"entry_point": REG, "max_episode_steps": 50, "reward_threshold": 1.5,
                                     "nondeterministic": True, "kwargs": {"a": [1, 2.5, None, {"b": True}],
                                                                          "s": "x\u00e9"}}
    from importlib import import_module

    spec_class = import_module(f"{HOST}.envs.registration").EnvSpec
    expected = {
        "Sp/A-v0": spec_class("Sp/A-v0", entry_point=REG, max_episode_steps=50, reward_threshold=1.5,
                              nondeterministic=True, kwargs={"a": [1, 2.5, None, {"b": True}], "s": "x\u00e9"}),
        "Sp/Z-v0": spec_class("Sp/Z-v0", entry_point=REG),
        "Sp/Int-v0": spec_class("Sp/Int-v0", entry_point=REG, nondeterministic=1, max_episode_steps=True),
    }
    for env_id, spec in expected.items():
        rebuilt = spec_class(id=env_id, **item.specs[env_id])
        assert rebuilt == spec
        assert [type(v) for v in vars(rebuilt).values()] == [type(v) for v in vars(spec).values()]


def test_fallback_modules_only_when_the_top_level_registers_nothing(tmp_path: Path) -> None:
    for pkg, top, sub in (("gp_late", "", "register"), ("gp_early", "register", "")):
        (tmp_path / pkg).mkdir()
        for name, does in (("__init__", top), ("envs", sub)):
            line = f"register('{pkg}-{name}-v0', entry_point='{REG}')" if does else "pass"
            (tmp_path / pkg / f"{name}.py").write_text(
                f"from {HOST}.envs.registration import register\n"
                f"open({str(tmp_path / 'imported')!r}, 'a').write(__name__ + '\\n')\n{line}\n"
            )
    jobs = [Job(Source(p, "1", (p,), (0,) * 8, str(tmp_path)), (f"{p}.envs",)) for p in ("gp_late", "gp_early")]
    late, early = learn(tmp_path, *jobs)
    assert (late.ids, late.modules, late.error) == (("gp_late-envs-v0",), ("gp_late.envs",), None)
    assert (early.ids, early.modules, early.error) == (("gp_early-__init__-v0",), ("gp_early",), None)
    assert sorted((tmp_path / "imported").read_text().split()) == ["gp_early", "gp_late", "gp_late.envs"]


def test_a_source_that_uses_gymplug_gets_only_its_own_ids(tmp_path: Path) -> None:
    info = tmp_path / "gp_other-1.0.dist-info"  # another distribution's Form A id, which gymplug would find
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gp-other\nVersion: 1.0\nRequires-Dist: gymplug\n")
    (info / "entry_points.txt").write_text(f"[{HOST}.envs]\nOther-v0 = gp_other_mod:Env\n")
    src = source(tmp_path, "gp_looker", f"""
        import gymplug, {HOST}
        found = "Other-v0" in {HOST}.envs.registry
        open({str(tmp_path / "looked")!r}, "w").write(repr(found))
        {HOST}.register("Mine-v0", entry_point="{{REG}}")
        """)
    [item] = learn(tmp_path, src)
    assert (item.ids, item.error) == (("Mine-v0",), None)
    assert (tmp_path / "looked").read_text() == "False"  # gymplug did not activate in the child


def test_an_exception_whose_str_raises_keeps_the_ids_and_one_line(tmp_path: Path) -> None:
    weird = source(tmp_path, "gp_weird", """
        from {HOST}.envs.registration import register
        register("Weird-v0", entry_point="{REG}")
        class Weird(Exception):
            def __str__(self):
                raise ValueError("no message for you")
        raise Weird()
        """)
    lines = source(tmp_path, "gp_lines", """
        from {HOST}.envs.registration import register
        register("Lines-v0", entry_point="{REG}")
        raise SystemExit("\\n first  line " + "x" * 5000 + "\\r\\nsecond\\nthird")
        """)
    first, second = learn(tmp_path, weird, lines)
    assert first.ids == ("Weird-v0",) and not first.transient
    assert first.error == "import gp_weird: Weird: (its message could not be read)"
    assert second.ids == ("Lines-v0",) and not second.transient
    assert second.error is not None and second.error.startswith("import gp_lines: SystemExit: first line xxx")
    assert "\n" not in second.error and len(second.error) <= 300


def test_what_the_import_prints_never_reaches_the_callers_output(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    src = source(tmp_path, "gp_loud", """
        import os, sys
        from {HOST}.envs.registration import register
        print("loud stdout\\n" * 20000)
        os.write(1, b"loud fd 1\\n" * 1000)
        print('R{"ids": ["Fake-v0"], "specs": {}, "modules": [], "error": null}')
        print("loud stderr\\n" * 20000, file=sys.stderr)
        register("Loud-v0", entry_point="{REG}")
        os._exit(0)
        """)
    [item] = learn(tmp_path, src)
    assert (item.ids, item.error) == ((), "the child exited with code 0 without reporting: loud stderr")
    out, err = capfd.readouterr()
    assert "loud" not in out and "loud" not in err


@posix
def test_a_hundred_thousand_ids_are_handled_in_linear_time(tmp_path: Path) -> None:
    src = source(tmp_path, "gp_many", """
        from {HOST}.envs.registration import EnvSpec, registry
        for i in range(100000):
            registry[f"Many{i}-v0"] = EnvSpec(f"Many{i}-v0", entry_point="{REG}")
        """)
    started = time.monotonic()
    [item] = learn(tmp_path, src, timeout=60, within=60)
    assert item.error is None and len(item.ids) == len(item.specs) == 100000
    assert item.ids[:2] == ("Many0-v0", "Many1-v0") and item.ids[-1] == "Many99999-v0"
    assert time.monotonic() - started < 60  # within the deadline: the parent's part too (was 79 s, after the child)


@posix
def test_a_report_over_the_limit_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_children, "_MAX_REPORT", 1 << 20)
    many = ("from {{HOST}}.envs.registration import EnvSpec, registry\nfor i in range({n}):\n"
            "    name = f'Long-{n}-{{i:06d}}-' + 'x' * 30 + '-v0'\n    registry[name] = EnvSpec(name, entry_point='{{REG}}')\n")
    fits = source(tmp_path, "gp_fits", many.format(n=12000))
    big = source(tmp_path, "gp_big", many.format(n=30000))
    flood = source(tmp_path, "gp_flood", """
        import os, stat, time
        for fd in range(3, 256):  # the report's pipe, whichever fd it is: the importer has no other
            try:
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    os.write(fd, b"R" + b"x" * (3 << 20))
            except OSError:
                pass
        time.sleep(30)
        """)
    started = time.monotonic()
    fitting, too_big, flooded = learn(tmp_path, fits, big, flood)
    assert len(fitting.ids) == 12000 and fitting.specs == {} and fitting.error is None  # the specs went first
    assert too_big.ids == () and not too_big.transient
    assert too_big.error is not None and re.fullmatch(r"report too large \(30000 ids, [\d.]+ MB; the limit is 1 MB\)",
                                                      too_big.error)
    assert (flooded.error, flooded.transient) == ("report too large (over 1 MB) importing gp_flood", False)
    assert time.monotonic() - started < 15


@posix
def test_a_timeout_kills_the_child_and_what_it_started(tmp_path: Path) -> None:
    src = source(tmp_path, "gp_sleeper", SLEEPER.format(tmp=str(tmp_path)) + "time.sleep(300)\n")
    started = time.monotonic()
    [item] = learn(tmp_path, src, timeout=2.0)
    assert (item.error, item.transient) == ("timed out after 2 s importing gp_sleeper", True)
    assert time.monotonic() - started < 6
    assert gone(list(pids(tmp_path, "gp_sleeper").values()), within=2)


@posix
def test_a_child_stuck_in_a_c_call_is_killed_on_time(tmp_path: Path) -> None:
    src = source(tmp_path, "gp_regex", SLEEPER.format(tmp=str(tmp_path)) + "import re\nre.match(r'(a+)+$', 'a' * 60 + 'b')\n")
    started = time.monotonic()
    [item] = learn(tmp_path, src, timeout=1.5)
    assert (item.error, item.transient) == ("timed out after 1.5 s importing gp_regex", True)
    assert time.monotonic() - started < 5
    assert gone(list(pids(tmp_path, "gp_regex").values()), within=2)


@posix
def test_the_deadline_cuts_the_running_child_and_the_rest_never_start(tmp_path: Path) -> None:
    slow = [source(tmp_path, f"gp_slow{i}", "import time\ntime.sleep(30)\n") for i in range(3)]
    started = time.monotonic()
    items = learn(tmp_path, *slow, timeout=10, within=1.5, parallel=1)
    assert time.monotonic() - started < 4
    assert all(item.transient and item.ids == () for item in items)
    assert items[0].error is not None and re.fullmatch(
        r"cut short after 1\.\d s by the lookup's time limit, importing gp_slow0", items[0].error)
    assert [item.error for item in items[1:]] == ["not learned: the lookup's time ran out first"] * 2
    assert learn(tmp_path, *slow, within=-1) == [
        Learned(s.key, "1.0", (0,) * 8, (), "not learned: the lookup's time ran out first", 0.0, {}, (), True)
        for s in slow]


@posix
def test_stop_when_kills_the_children_still_running(tmp_path: Path) -> None:
    fast = source(tmp_path, "gp_fast", "from {HOST}.envs.registration import register\nregister('Fast-v0', "
                                       "entry_point='{REG}')\n")
    slow = [source(tmp_path, f"gp_stuck{i}", SLEEPER.format(tmp=str(tmp_path)) + "time.sleep(300)\n")
            for i in range(2)]
    late = source(tmp_path, "gp_never", f"open({str(tmp_path / 'never')!r}, 'w')\n")
    started = time.monotonic()
    items = learn(tmp_path, slow[0], fast, slow[1], late, parallel=3, stop_when=lambda item: "Fast-v0" in item.ids)
    assert time.monotonic() - started < 8
    assert (items[1].ids, items[1].error, items[1].transient) == (("Fast-v0",), None, False)
    stopped = "not learned: stopped once the lookup was answered"
    assert [(i.error, i.transient) for i in (items[0], items[2], items[3])] == [(stopped, True)] * 3
    assert not (tmp_path / "never").exists()


@posix
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_every_way_out_kills_the_children(tmp_path: Path, error: type) -> None:
    fast = source(tmp_path, "gp_quick", "pass\n")
    slow = source(tmp_path, "gp_stays", SLEEPER.format(tmp=str(tmp_path)) + "time.sleep(300)\n")

    def stop(item: Learned) -> bool:
        pids(tmp_path, "gp_stays")  # it runs
        raise error("interrupted")

    with pytest.raises(error):
        learn(tmp_path, slow, fast, parallel=2, stop_when=stop)
    assert gone(list(pids(tmp_path, "gp_stays").values()), within=1)  # at once, not when they end


@posix
def test_parallel_children_default_to_the_cpus_this_process_may_use(tmp_path: Path) -> None:
    running, log = tmp_path / "running", tmp_path / "seen"
    running.mkdir()
    # Each child waits a while for `want` children to run at once, and logs how many it saw.
    code = f"""
        import os, sys, time
        me = os.path.join({str(running)!r}, __name__)
        open(me, "w").close()
        want, end = int(os.environ["GP_WANT"]), time.time() + float(os.environ["GP_WAIT"])
        while len(os.listdir({str(running)!r})) < want and time.time() < end:
            time.sleep(0.01)
        open({str(log)!r}, "a").write(f"{{len(os.listdir({str(running)!r}))}}\\n")
        os.remove(me)
        """
    sources = [source(tmp_path, f"gp_span{i}", code) for i in range(3)]

    def most_at_once(want: int, wait: float, **kwargs: Any) -> int:
        os.environ.update(GP_WANT=str(want), GP_WAIT=str(wait))
        try:
            learn(tmp_path, *sources, **kwargs)
        finally:
            del os.environ["GP_WANT"], os.environ["GP_WAIT"]
        seen = [int(n) for n in log.read_text().split()]
        log.unlink()
        assert len(seen) == 3
        return max(seen)

    assert most_at_once(2, 0.3, parallel=1) == 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert most_at_once(min(3, cpus), 1.5) == min(3, cpus)  # the last one waits in vain when cpus < 3


def test_one_line_after_about_a_second_and_none_when_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quick = source(tmp_path, "gp_now", "pass\n")
    slow = source(tmp_path, "gp_later", "import time\ntime.sleep(1.6)\n")
    stream = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(_children, "_ANNOUNCE_AFTER", 5.0)  # "fast" on a loaded machine too
        learn(tmp_path, quick, stream=stream)
    assert stream.getvalue() == ""
    learn(tmp_path, slow, stream=stream)
    assert stream.getvalue() == "gymplug: learning which environments 1 installed package provide (once) ...\n"


@posix
@pytest.mark.parametrize("how, expected, transient", [
    ("os.kill(os.getpid(), signal.SIGSEGV)", "the child crashed (SIGSEGV) importing gp_dies", False),
    ("os.kill(os.getpid(), signal.SIGKILL)", "the child was killed (SIGKILL) importing gp_dies", True),
    ("print('last words', file=sys.stderr, flush=True); os._exit(3)",
     "the child exited with code 3 without reporting: last words", False),
    ("os.kill(os.getppid(), signal.SIGKILL); time.sleep(300)",
     "the child process died (SIGKILL) without reporting, importing gp_dies", True),
])
def test_a_child_that_dies_says_how(tmp_path: Path, how: str, expected: str, transient: bool) -> None:
    no_core = "import resource\nresource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    src = source(tmp_path, "gp_dies", SLEEPER.format(tmp=str(tmp_path)) + f"import signal\n{no_core}{how}\n")
    started = time.monotonic()
    [item] = learn(tmp_path, src, timeout=20)
    assert (item.error, item.transient) == (expected, transient)
    assert time.monotonic() - started < 8
    assert gone(list(pids(tmp_path, "gp_dies").values()), within=2)


@posix
def test_stderr_written_before_the_watchers_status_is_kept_whichever_pipe_is_read_first() -> None:
    """The importer's last words are in the stderr pipe before the watcher's status is on stdout; read in one
    poll, stdout first, they were dropped (a status made every later read of stderr a no-op)."""
    from gymplug._learning._supervise import Child

    code = ("import os, sys; os.write(2, b'last words\\n'); "
            "os.write(1, b'\\nW' + b'{\\\"exit\\\": 3}' + b'\\n')")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.wait(timeout=30)
        child = Child(0, proc, time.monotonic(), time.monotonic() + 30, False, 1 << 20)
        child.read(proc.stdout.fileno())  # type: ignore[union-attr]
        assert child.status == {"exit": 3}
        child.read(proc.stderr.fileno())  # type: ignore[union-attr]
        assert bytes(child.err) == b"last words\n"
    finally:
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


@posix
def test_the_watcher_never_signals_its_importer_once_reaped(tmp_path: Path) -> None:
    """After reporting the importer's exit, the watcher ends its session: it killed the reaped importer's id
    first, which raised ProcessLookupError (a traceback in place of the importer's last words, and the
    session left alive) and could have hit another process that got the number."""
    from gymplug._learning._supervise import CHILD

    last_words = "import os, sys\nprint('last words', file=sys.stderr, flush=True)\nos._exit(3)\n"
    src = source(tmp_path, "gp_reaped", last_words)
    work = _children._Round(HOST, [Job(src)], time.monotonic() + 60, 20.0, [str(tmp_path), *sys.path], None)
    proc = subprocess.run([sys.executable, CHILD, work.args(Job(src), 20.0, -1, True)], env=work.env,
                          capture_output=True, text=True, timeout=60, start_new_session=True)  # as learning starts it
    assert proc.stdout.endswith('\nW{"exit":3}\n'), proc.stdout
    assert proc.stderr.endswith("last words\n") and "Traceback" not in proc.stderr, proc.stderr  # gym: its notice
    assert proc.returncode == -signal.SIGKILL  # the watcher ends with its session, as it always meant to


def test_a_child_that_cannot_start_is_transient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_children, "interpreter", lambda: str(tmp_path / "python3"))
    [item] = learn(tmp_path, source(tmp_path, "gp_unstarted", "pass\n"))
    assert item.transient and item.error is not None and item.error.startswith("could not start a child process")


def test_the_simple_path_without_fork_still_kills_on_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_children, "_POSIX", False)  # what Windows runs: one child at a time, no watcher
    good = source(tmp_path, "gp_plain", "from {HOST}.envs.registration import register\nregister('Plain-v0', "
                                        "entry_point='{REG}', max_episode_steps=5)\n")
    slow = source(tmp_path, "gp_hangs", f"import os, time\nopen({str(tmp_path / 'hangs')!r}, 'w').write(str(os.getpid()))"
                                        "\ntime.sleep(300)\n")
    stream = io.StringIO()
    started = time.monotonic()
    first, second = learn(tmp_path, good, slow, timeout=2, stream=stream)
    assert time.monotonic() - started < 8
    assert (first.ids, first.specs, first.error) == (("Plain-v0",), {"Plain-v0": {"entry_point": REG,
                                                                                  "max_episode_steps": 5}}, None)
    assert (second.error, second.transient) == ("timed out after 2 s importing gp_hangs", True)
    assert gone([int((tmp_path / "hangs").read_text())], within=2)
    assert stream.getvalue().startswith("gymplug: learning which environments 2 installed packages")


# --- a real caller process: signals to it and from its children ---------------------------------------------

DRIVER = """
import json, os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever the test runner's shell did

def fork(*_):  # a copy of this process that outlives it, as a worker forked while learning would
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    with open(os.path.join(sys.argv[1], "forked.pid"), "w") as f:
        f.write(str(pid))

signal.signal(signal.SIGUSR1, fork)
from gymplug._learning import _children, _supervise
if sys.argv[5] == "1":  # the fork keeps the lifeline: only the parent-death signal can tell
    class Forgetful(set):
        def add(self, item):
            pass
    _supervise._lifelines = Forgetful()
from gymplug._learning._sources import Source
tmp, modules, timeout = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
_children._DEATH_SIGNAL = sys.argv[4] == "1"
jobs = [_children.Job(Source(m, "1.0", (m,), (0,) * 8, tmp)) for m in modules]
items = _children.learn_many({host!r}, jobs, deadline=time.monotonic() + 60, timeout=timeout, parallel=len(jobs),
                             path=[tmp, *sys.path])
print(json.dumps([[list(i.ids), i.error, i.transient, i.seconds] for i in items]))
""".format(host=HOST)


def driver(tmp: Path, modules: list[str], timeout: float = 30, death_signal: bool = True,
           leak: bool = False) -> subprocess.Popen:
    flags = ["1" if death_signal else "0", "1" if leak else "0"]
    args = [sys.executable, "-c", DRIVER, str(tmp), ",".join(modules), str(timeout), *flags]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=NEUTRAL_CWD,
                            env=clean_env())


@posix
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_child_that_signals_its_parent_neither_interrupts_nor_kills_the_caller(tmp_path: Path, signum: str) -> None:
    source(tmp_path, "gp_signals", f"""
        import os, signal, time
        from {{HOST}}.envs.registration import register
        register("Signals-v0", entry_point="{{REG}}")
        os.kill(os.getppid(), signal.{signum})
        time.sleep(30)
        """)
    proc = driver(tmp_path, ["gp_signals"])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    [[ids, error, transient, seconds]] = json.loads(out)
    assert (error, transient) == (f"the package signalled its parent ({signum}) importing gp_signals", False)
    assert seconds < 10


@posix
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL", "two Ctrl-Cs", "SIGKILL without a parent-death signal",
                                 "SIGKILL after a fork, without a parent-death signal",
                                 "SIGKILL after a fork that keeps the lifeline"])
def test_nothing_outlives_a_caller_that_dies(tmp_path: Path, how: str) -> None:
    source(tmp_path, "gp_orphan", SLEEPER.format(tmp=str(tmp_path)) + "time.sleep(300)\n")
    source(tmp_path, "gp_stuck", SLEEPER.format(tmp=str(tmp_path)) + "import re\nre.match(r'(a+)+$', 'a' * 60 + 'b')\n")
    proc = driver(tmp_path, ["gp_orphan", "gp_stuck"], death_signal="without" not in how, leak="keeps" in how)
    try:
        left = [pid for module in ("gp_orphan", "gp_stuck") for pid in pids(tmp_path, module).values()]
        if "fork" in how:  # the lifeline's write end must not live on in the copy
            proc.send_signal(signal.SIGUSR1)
            assert alive(_read_pid(tmp_path / "forked.pid"))
        if how == "two Ctrl-Cs":
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
        else:
            proc.send_signal(getattr(signal, how.split()[0]))
        proc.wait(timeout=10)  # not communicate(): the forked copy holds its pipes
        assert gone(left, within=3), [pid for pid in left if alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()  # type: ignore[union-attr]
        if (tmp_path / "forked.pid").exists():
            os.kill(_read_pid(tmp_path / "forked.pid"), signal.SIGKILL)


def _read_pid(path: Path) -> int:
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.02)
    raise AssertionError(f"no {path.name}")


# --- embedded interpreters (B13) ---------------------------------------------------------------------------

def test_interpreter_is_a_python_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = "%d.%d" % sys.version_info[:2]
    app = tmp_path / "maya.bin"
    python = tmp_path / "prefix" / "bin" / f"python{version}"
    python.parent.mkdir(parents=True)
    for path in (app, python):
        path.write_text("#!/bin/sh\n")
    app.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(app))
    monkeypatch.setattr(sys, "exec_prefix", str(tmp_path / "prefix"))
    monkeypatch.setattr(sys, "base_exec_prefix", str(tmp_path / "prefix"))
    if os.name == "posix":
        assert interpreter() is None  # the prefix's python is not executable
        [item] = learn(tmp_path, source(tmp_path, "gp_unlearned", "raise SystemExit('never imported')\n"))
        assert item.transient and item.ids == ()
        assert item.error == f"not learned: sys.executable ({app}) is not a Python, and none was found"
        python.chmod(0o755)
        assert interpreter() == str(python)
    monkeypatch.setattr(sys, "executable", str(python))
    assert interpreter() == str(python)


def _embedding_app(tmp: Path) -> Optional[Path]:
    config = sysconfig.get_config_var
    include = Path(sysconfig.get_paths()["include"])
    if os.name != "posix" or shutil.which("gcc") is None or not (include / "Python.h").exists() or not config("LIBDIR"):
        return None
    app = tmp / "embedapp"
    source_file = Path(__file__).parent / "fixtures" / "embed" / "embedapp.c"
    cmd = ["gcc", "-o", str(app), str(source_file), f"-I{include}", f"-L{config('LIBDIR')}",
           f"-lpython{config('LDVERSION')}", f"-Wl,-rpath,{config('LIBDIR')}", *(config("LINKFORSHARED") or "").split(),
           "-lm", "-ldl"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return app if proc.returncode == 0 else None


EMBEDDED = """
import json, site, sys, time
sys.path.insert(0, sys.argv[2])
site.addsitedir(sys.argv[1])  # the application's own setup: gymplug's startup hook comes with the site
import {host}
from gymplug._learning import _children
from gymplug._learning._sources import Source
tmp = sys.argv[2]
jobs = [_children.Job(Source("gp-embedded", "1.0", ("gp_embedded",), (0,) * 8, tmp))]
[item] = _children.learn_many({host!r}, jobs, deadline=time.monotonic() + 20, timeout=10, path=[tmp, *sys.path])
started = time.monotonic()
known = "Embedded-v0" in {host}.envs.registry  # the lookup path as a user meets it
print(json.dumps([sys.executable, _children.interpreter(), list(item.ids), item.error, item.transient, known,
                  time.monotonic() - started]))
""".format(host=HOST)


@pytest.mark.parametrize("prefix_python", [True, False])
def test_an_embedding_application_is_never_started_as_a_python(tmp_path: Path, prefix_python: bool) -> None:
    app = _embedding_app(tmp_path)
    if app is None:
        pytest.skip("no C compiler or Python headers to build an application that embeds Python")
    source(tmp_path, "gp_embedded", "from {HOST}.envs.registration import register\n"
                                    "register('Embedded-v0', entry_point='{REG}')\n")
    info = tmp_path / "gp_embedded-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: gp-embedded\nVersion: 1.0\nRequires-Dist: {HOST}\n")
    (info / "top_level.txt").write_text("gp_embedded\n")
    (tmp_path / "run.py").write_text(EMBEDDED)
    env = clean_env({"EMBED_LOG": str(tmp_path / "starts.log"), "GYMPLUG_CACHE_DIR": str(tmp_path / "cache")})
    if not prefix_python:  # an installation without a python program (as Maya's, or a frozen application)
        home = tmp_path / "home" / "lib"
        home.mkdir(parents=True)
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        (home / stdlib.name).symlink_to(stdlib)
        env["PYTHONHOME"] = str(tmp_path / "home")
    site_packages = sysconfig.get_paths()["purelib"]
    proc = subprocess.run([str(app), "--run", str(tmp_path / "run.py"), site_packages, str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=NEUTRAL_CWD, timeout=120)
    assert proc.returncode == 0, proc.stderr
    executable, python, ids, error, transient, known, lookup = json.loads(proc.stdout.splitlines()[-1])
    assert executable == str(app)
    assert (tmp_path / "starts.log").read_text().splitlines() == ["argc=5 argv1=--run"]  # never started again
    if prefix_python:
        assert python == os.path.join(sys.base_exec_prefix, "bin", "python%d.%d" % sys.version_info[:2])
        assert (ids, error, transient, known) == (["Embedded-v0"], None, False, True)
    else:
        assert python is None
        assert (ids, transient, known) == ([], True, False)
        assert error == f"not learned: sys.executable ({app}) is not a Python, and none was found"
        assert lookup < 10
