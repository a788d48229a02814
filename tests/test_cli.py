"""The gymplug command, run for real in the test virtual environment."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import stat
import subprocess
import time

import pytest

from gymplug._settings import VARIABLES
from helpers import HOST, NEUTRAL_CWD, clean_env, run, run_on_a_terminal

pytestmark = pytest.mark.integration

DEEP = "[" * 60000 + "]" * 60000


def gymplug(venv, *args, env=None, check=False):
    return run([venv.path / "bin" / "gymplug", *args], env=env, check=check)


def rows_by_id(payload):
    rows = {}
    for row in payload["envs"]:
        rows.setdefault(row["id"], []).append(row)
    return rows


def test_python_dash_m_and_version(venv):
    proc = run([venv.python, "-m", "gymplug", "--version"])
    assert proc.stdout.startswith("gymplug ")


def test_help_of_every_command(venv):
    for command in ("list", "info", "check", "run", "doctor", "new"):
        proc = gymplug(venv, command, "--help", check=True)
        assert f"usage: gymplug {command}" in proc.stdout


def test_bad_flags_are_usage_errors(venv):
    proc = gymplug(venv, "list", "--bogus")
    assert proc.returncode == 2 and "unrecognized arguments" in proc.stderr
    assert gymplug(venv, "run", "foo-v0", "--episodes", "many").returncode == 2


@pytest.mark.parametrize(
    "args",
    [
        ("run", "foo-v0", "--episodes", "0"),
        ("run", "foo-v0", "--max-steps", "0"),
        ("check", "foo-v0", "--steps", "-5"),
        ("run", "foo-v0", "--kwargs", "[1, 2]"),
        ("run", "foo-v0", "--kwargs", "{not json"),
        ("check", "foo-v0", "-k", "novalue"),
        ("run", "foo-v0", "--kwargs", DEEP),  # deeper than json's recursion limit: no RecursionError
        ("check", "foo-v0", "-k", f"layout={DEEP}"),
        ("list", "--jsn"),
    ],
    ids=["episodes-0", "max-steps-0", "steps-negative", "kwargs-list", "kwargs-not-json", "k-novalue",
         "kwargs-deep", "k-deep", "misspelt-option"],
)
def test_every_usage_error_exits_2(venv, args):
    proc = gymplug(venv, *args)
    assert proc.returncode == 2, proc.stderr
    assert f"usage: gymplug {args[0]}" in proc.stderr and proc.stdout == ""
    assert "Traceback" not in proc.stderr and len(proc.stderr) < 2000
    assert proc.stderr.splitlines()[-1].startswith(f"gymplug {args[0]}: error: ")


def test_usage_errors_name_what_is_wrong(venv):
    assert "--kwargs: not JSON: nested too deeply" in gymplug(venv, "run", "foo-v0", "--kwargs", DEEP).stderr
    proc = gymplug(venv, "list", "--jsn")
    assert proc.stderr.startswith("usage: gymplug list ")  # the command's usage, not the top level's
    assert "unrecognized arguments: --jsn (did you mean --json?)" in proc.stderr


def test_gymplug_alone_prints_the_help(venv):
    proc = gymplug(venv)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: gymplug ")
    assert "examples:" in proc.stdout and "exit status:" in proc.stdout and proc.stderr == ""


def test_every_help_has_an_example_and_ids_are_explained(venv):
    for command in ("list", "info", "check", "run", "index", "doctor", "new"):
        text = gymplug(venv, command, "--help", check=True).stdout
        assert f"\nexamples:\n  gymplug " in text, command
    for command in ("info", "run"):
        text = gymplug(venv, command, "--help", check=True).stdout
        assert re.search(r"^  ID +an environment id", text, re.M), text


def test_top_level_help_lists_every_variable_and_the_exit_codes(venv):
    text = gymplug(venv, "--help", check=True).stdout
    for name in VARIABLES:
        assert name in text, name
    statuses = re.findall(r"^  (\d+) +\S", text.split("exit status:", 1)[1], re.M)
    assert statuses == ["0", "1", "2", "130", "141"]


def test_list_json_shows_sources_and_statuses(venv, canary):
    proc = gymplug(venv, "list", "--json", env=canary.env)
    assert proc.returncode == 1  # broken and conflicting rows are shown
    payload = json.loads(proc.stdout)
    assert payload["format"] == 1
    rows = rows_by_id(payload)
    foo = next(r for r in rows["foo-v0"] if r["distribution"] == "gymplug-foo")
    assert foo == {
        "id": "foo-v0",
        "host": HOST,
        "status": "declared",
        "form": "env",
        "distribution": "gymplug-foo",
        "version": "0.1.0",
        "entry": f"foo-v0 = gym_foo.envs.{HOST}_env:FooEnv",
        "entry_point": f"gym_foo.envs.{HOST}_env:FooEnv",
        "detail": None,
    }
    legacy = {r["distribution"]: r["status"] for r in rows["Legacy/Pong-v5"]}
    assert legacy["gp-fixture-legacy"] == "loaded"
    if HOST == "gymnasium":  # gp-fixture-bad-hooks squats the Legacy namespace and is refused
        assert legacy["gp-fixture-bad-hooks"] == "broken"
    assert {r["distribution"] for r in rows["clash-v0"]} == {"gp-fixture-conflict-a", "gp-fixture-conflict-b"}
    assert {r["status"] for r in rows["clash-v0"]} == {"conflict"}
    cartpole = {r["distribution"]: r["status"] for r in rows["CartPole-v1"]}
    assert cartpole["gp-fixture-shadow"] == "shadowed" and cartpole["gp-fixture-root-shadow"] == "shadowed"
    assert rows["BrokenReg/*"][0]["status"] == "broken"
    assert "registration exploded" in rows["BrokenReg/*"][0]["detail"]
    assert rows["bad-novalue-v0"][0]["status"] == "broken"
    assert "CartPole-v0" not in rows  # built-ins only with --all
    # env modules are never imported by list; registration modules are
    # (gp-fixture-bad-attributes names an env module as a registration plugin: list must load it)
    imported = [m for m in canary.modules() if not m.startswith("gp_attrs")]
    assert not [m for m in imported if ".envs" in m or ".env_" in m or ".other_" in m], imported
    assert "gp_legacy.registration" in imported


def test_list_no_import_runs_no_plugin_code(venv, canary, tmp_path):
    env = {**canary.env, "GYMPLUG_CACHE_DIR": str(tmp_path / "cache")}
    payload = json.loads(gymplug(venv, "list", "--json", "--no-import", env=env).stdout)
    rows = rows_by_id(payload)
    assert rows["Legacy/*"][0]["status"] == "pending"  # nothing known of it yet
    assert rows["foo-v0"][0]["status"] == "declared"
    assert canary.modules() == []
    gymplug(venv, "list", "--json", env=env)  # loads the registration plugins: what each registered is learned
    loaded = canary.modules()
    assert loaded  # canary plugins ran
    rows = rows_by_id(json.loads(gymplug(venv, "list", "--json", "--no-import", env=env).stdout))
    assert "Legacy/*" not in rows
    assert {r["status"] for r in rows["Legacy/Pong-v5"]} == {"learned"}
    assert rows["foo-v0"][0]["status"] == "declared"
    assert canary.modules() == loaded  # and still no plugin code ran


def test_list_json_stays_valid_when_plugins_print(venv):
    # gp-fixture-noisy prints with print() and os.write(1, ...) while it loads
    proc = gymplug(venv, "list", "--json", "--all")
    payload = json.loads(proc.stdout)
    assert "noisy: hello from os.write(1)" in proc.stderr and "noisy: registering" in proc.stderr
    rows = rows_by_id(payload)
    assert rows["Noisy/Chatter-v0"][0]["status"] == "loaded"
    assert any(r["status"] == "builtin" for r in rows["CartPole-v1"])


def test_list_filters(venv):
    payload = json.loads(gymplug(venv, "list", "Legacy/*", "--json").stdout)
    legacy = [r["id"] for r in payload["envs"] if r["distribution"] == "gp-fixture-legacy"]
    assert sorted(legacy) == ["Legacy/Breakout-v4", "Legacy/Breakout-v5", "Legacy/Pong-v5"]
    assert all(r["id"].startswith("Legacy/") for r in payload["envs"])
    payload = json.loads(gymplug(venv, "list", "--plugin", "GP_fixture.canary", "--json", check=True).stdout)
    assert sorted(r["id"] for r in payload["envs"]) == ["Canary/Space-v2", "canary-other-v0", "canary-v0"]


def test_list_exits_1_when_it_shows_something_broken(venv):
    assert gymplug(venv, "list", "--plugin", "gymplug-foo").returncode == 0
    proc = gymplug(venv, "list", "--plugin", "gp-fixture-broken-registration")
    assert proc.returncode == 1 and "broken" in proc.stdout


def test_list_plugin_without_environments_is_not_an_unknown_name(venv):
    proc = gymplug(venv, "list", "--plugin", "gp-fixture-base")
    assert proc.returncode == 0, proc.stderr
    assert "gp-fixture-base 1.0.0 is installed but declares no environments" in proc.stderr
    proc = gymplug(venv, "list", "--plugin", "gp-fixture-nonesuch")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("gymplug: error: no distribution named 'gp-fixture-nonesuch'")


def test_list_table_is_plain_when_piped(venv):
    proc = gymplug(venv, "list", "foo")  # exit 1: a broken row matches too
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["ID", "HOST", "STATUS", "DISTRIBUTION", "ENTRY", "POINT", "DETAIL"]
    assert "\033[" not in proc.stdout
    assert any(line.split()[:3] == ["foo-v0", HOST, "declared"] for line in lines[1:])


def test_info(venv):
    info = json.loads(gymplug(venv, "info", "Legacy/Pong-v5", "--json", check=True).stdout)
    assert info["distribution"] == "gp-fixture-legacy" and info["version"] == "1.0.0"
    assert info["max_episode_steps"] == 100 and info["kwargs"] == {"difficulty": 1}
    assert info["action_space"] == "Discrete(2)" and info["render_modes"] == ["rgb_array"]
    assert info["source"].endswith(os.path.join("gp_legacy", f"env_{HOST}.py"))
    text = gymplug(venv, "info", "foo-v0", check=True).stdout
    assert "gymplug-foo" in text and "observation space" in text


def test_unknown_id_suggests(venv):
    proc = gymplug(venv, "info", "fooo-v0")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("gymplug: error: unknown environment 'fooo-v0'")
    assert "did you mean: foo-v0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broken_plugin_error_is_one_line_and_verbose_shows_traceback(venv):
    proc = gymplug(venv, "info", "broken-import-v0")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("gymplug: error: cannot make 'broken-import-v0'")
    assert "Traceback" not in proc.stderr
    assert "Traceback" in gymplug(venv, "-v", "info", "broken-import-v0").stderr


def test_check_passes_and_fails(venv):
    proc = gymplug(venv, "check", "foo-v0", "Legacy/Pong-v5", "--steps", "20")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "2 passed, 0 failed"
    proc = gymplug(venv, "check", "foo-v0", "init-raises-v0", "--json")
    assert proc.returncode == 1
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert results["foo-v0"]["ok"] and not results["init-raises-v0"]["ok"]
    assert "bad init" in results["init-raises-v0"]["error"]


def test_check_a_whole_plugin(venv):
    proc = gymplug(venv, "check", "--plugin", "gymplug-foo", "--steps", "5", check=True)
    assert "foo-v0" in proc.stdout and "1 passed, 0 failed" in proc.stdout


def test_check_runs_the_conformance_rules(venv):
    # gp-fixture-sloppy breaks gymplug.testing's rules; check reports the rule by its name
    proc = gymplug(venv, "check", "sloppy-v0", "--steps", "5", "--json")
    assert proc.returncode == 1
    (result,) = json.loads(proc.stdout)["results"]
    assert result["error"].startswith("rule '"), result


def test_check_reports_broken_plugins_as_failures(venv):
    proc = gymplug(venv, "check", "--plugin", "gp-fixture-broken-registration", "--json")
    assert proc.returncode == 1
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert not results["BrokenReg/*"]["ok"] and "registration exploded" in results["BrokenReg/*"]["error"]
    proc = gymplug(venv, "check", "--plugin", "gp-fixture-base")
    assert proc.returncode == 1 and "installed but declares no environments" in proc.stderr


def test_check_and_run_pass_constructor_arguments(venv):
    proc = gymplug(venv, "run", "options-v0", "-k", "length=3", "--episodes", "2", "--json", check=True)
    payload = json.loads(proc.stdout)
    assert [e["length"] for e in payload["episodes"]] == [3, 3]
    payload = json.loads(gymplug(venv, "run", "options-v0", "--kwargs", '{"length": 4}', "--json", check=True).stdout)
    assert [e["length"] for e in payload["episodes"]] == [4]
    assert gymplug(venv, "check", "options-v0", "--kwargs", '{"length": 2}', "--steps", "5").returncode == 0
    proc = gymplug(venv, "check", "options-v0", "-k", "colour=red", "--json")
    assert proc.returncode == 1 and "colour" in json.loads(proc.stdout)["results"][0]["error"]


def test_quiet_prints_errors_only(venv, tmp_path):
    for args in (("check", "foo-v0", "--steps", "5"), ("run", "foo-v0", "--max-steps", "3"), ("info", "foo-v0")):
        proc = gymplug(venv, "-q", *args)
        assert proc.returncode == 0 and proc.stdout == "", (args, proc.stdout)
    proc = gymplug(venv, "-q", "check", "foo-v0", "init-raises-v0", "--steps", "5")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "check failed: init-raises-v0" in proc.stderr and "foo-v0" not in proc.stderr
    proc = gymplug(venv, "doctor", "-q")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "gp-fixture-broken-registration" in proc.stderr
    # the problems only, each one line (the noisy fixture plugin prints on stderr too)
    assert "gymplug: problem: " in proc.stderr and "ok      " not in proc.stderr and "problems found" not in proc.stderr
    proc = gymplug(venv, "-q", "list", "--plugin", "gp-fixture-broken-registration")
    assert proc.returncode == 1 and proc.stdout == "" and "BrokenReg/*" in proc.stderr
    proc = gymplug(venv, "-q", "new", "gymplug-quiet", "--dir", tmp_path)
    assert proc.returncode == 0 and proc.stdout == proc.stderr == ""


def test_summaries_go_to_stdout_with_one_episode_in_the_singular(venv):
    proc = gymplug(venv, "run", "foo-v0", "--max-steps", "3", check=True)
    assert proc.stdout.splitlines()[-1].startswith("1 episode of foo-v0: mean return ")
    proc = gymplug(venv, "doctor")
    assert re.search(r"^\d+ problems? found$", proc.stdout, re.M), proc.stdout


def test_new_refuses_names_that_would_replace_something(venv, tmp_path):
    for name, message in (
        ("gymplug", "the name of gymplug or of a host"),
        ("pluggy", "is an installed distribution"),
        ("gymplug-foo", "is an installed distribution"),
        ("class", "is a Python keyword"),
    ):
        proc = gymplug(venv, "new", name, "--dir", tmp_path)
        assert proc.returncode == 1 and message in proc.stderr, (name, proc.stderr)
    assert list(tmp_path.iterdir()) == []


def test_run_reports_every_episode(venv):
    args = ("run", "Legacy/Pong-v5", "--episodes", "3", "--seed", "7", "--max-steps", "4", "--json")
    payload = json.loads(gymplug(venv, *args, check=True).stdout)
    assert [e["length"] for e in payload["episodes"]] == [4, 4, 4]
    again = json.loads(gymplug(venv, *args, check=True).stdout)
    assert again["episodes"] == payload["episodes"]


def test_run_record_without_the_extra_says_how_to_install(venv, tmp_path):
    proc = gymplug(venv, "run", "foo-v0", "--record", tmp_path / "videos" / "deep")
    assert proc.returncode == 1
    assert "pip install 'gymplug[record]'" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # the folders it made are gone


def test_run_record_without_rgb_array_is_one_line(venv, tmp_path):
    proc = gymplug(venv, "run", "options-v0", "--record", tmp_path / "videos")
    assert proc.returncode == 1
    notice = venv.run_python(f"import {HOST}").stderr.splitlines()  # gym's own import-time notice, if any
    assert [line for line in proc.stderr.splitlines() if line not in notice] == [
        "gymplug: error: cannot record options-v0: it has no 'rgb_array' render mode (its render modes: ansi)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_run_record_to_unwritable_directory(venv, tmp_path):
    if os.geteuid() == 0:
        target = "/proc/gymplug-cannot-write-here"  # root can write anywhere else
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        target = str(locked / "videos")
    proc = gymplug(venv, "run", "foo-v0", "--record", target)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("gymplug: error: cannot write recordings to")


def test_doctor_reports_problems(venv):
    proc = gymplug(venv, "doctor", "--json")
    assert proc.returncode == 1
    findings = json.loads(proc.stdout)["findings"]
    text = "\n".join(f"{f['level']} {f['message']}" for f in findings)
    assert "ok installed:" in text and "active in this interpreter" in text
    for expected in ("gp-fixture-malformed", "gp-fixture-broken-registration", "clash-v0", "CartPole-v1", "loaded in"):
        assert expected in text, expected
    assert f"{HOST}" in text
    stored = r"(\d+ director(y|ies) stored|not written yet)"
    assert re.search(r"ok discovery cache \S+discovery-\w+\.json: " + stored, text), text
    off = json.loads(gymplug(venv, "doctor", "--json", env={"GYMPLUG_CACHE": "0"}).stdout)["findings"]
    assert {"level": "note", "topic": "cache", "message": "discovery cache off (GYMPLUG_CACHE=0)"} in off


def test_no_color_and_disable(venv):
    env = {"GYMPLUG_DISABLE": "gp-fixture-disabled", "NO_COLOR": "1"}
    proc = gymplug(venv, "list", "disabled", "--json", env=env, check=True)
    rows = json.loads(proc.stdout)["envs"]
    assert rows and {r["status"] for r in rows} == {"disabled"}


@pytest.fixture(scope="module")
def record_venv(tmp_path_factory, wheelhouse):
    """gymplug with its `record` extra (imageio-ffmpeg, which ships an ffmpeg binary) and gymplug-foo."""
    from helpers import Venv

    env = Venv.create(tmp_path_factory.mktemp("record") / "env")
    env.install_host()
    env.pip("install", "imageio-ffmpeg>=0.4.9")
    env.install_wheels(wheelhouse, ["gymplug", "gymplug-foo"])
    return env


def count_frames(venv, video):
    return venv.json(f"import json, imageio_ffmpeg as f; print(json.dumps(f.count_frames_and_secs({str(video)!r})[0]))")


def test_run_records_every_episode_headless(record_venv, tmp_path):
    videos = tmp_path / "videos"
    program = record_venv.path / "bin" / "gymplug"
    command = f"umask 000 && exec '{program}' run foo-v0 --episodes 3 --seed 0 --max-steps 12 --record '{videos}'"
    command += " --json"
    proc = run(["bash", "-c", command], env={"DISPLAY": ""})
    payload = json.loads(proc.stdout)
    assert len(payload["videos"]) == 3
    # no partial files
    assert sorted(p.name for p in videos.iterdir()) == [f"foo-v0-episode-{i}.mp4" for i in (1, 2, 3)]
    for episode, video in zip(payload["episodes"], payload["videos"]):
        assert os.path.getsize(video) > 0
        assert stat.S_IMODE(os.stat(video).st_mode) & 0o022 == 0, oct(os.stat(video).st_mode)
        frames = count_frames(record_venv, video)
        assert frames == episode["length"] + 1  # the reset frame, then one per step


def test_interrupted_recording_leaves_only_whole_videos(record_venv, tmp_path):
    videos = tmp_path / "videos"
    program = record_venv.path / "bin" / "gymplug"
    command = [program, "run", "foo-v0", "--episodes", "50", "--seed", "0", "--record", videos]
    proc = subprocess.Popen(
        [str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env({"DISPLAY": ""}), start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        # once episode 1 is whole and episode 2 is being written: Ctrl-C (to the group, ffmpeg too, as a terminal does)
        while not (videos / "foo-v0-episode-1.mp4").exists() or not list(videos.glob(".*.partial")):
            assert proc.poll() is None and time.monotonic() < deadline, "no recording started"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, err
    assert "gymplug: interrupted" in err
    on_disk = sorted(p.name for p in videos.iterdir())
    recorded = [line.split("/")[-1] for line in out.splitlines() if line.startswith("recorded ")]
    assert on_disk == sorted(recorded) and "foo-v0-episode-1.mp4" in on_disk  # no partial file, nothing cut short
    for name in on_disk:
        assert count_frames(record_venv, videos / name) > 1


def test_doctor_knows_gym_does_not_work_with_numpy_2(tmp_path_factory, wheelhouse):
    if HOST != "gym":
        pytest.skip("a gym 0.26 incompatibility")
    from helpers import Venv

    env = Venv.create(tmp_path_factory.mktemp("numpy2") / "env")
    env.pip("install", "pluggy>=1.2", "gym==0.26.2", "numpy>=2")
    env.install_wheels(wheelhouse, ["gymplug", "gymplug-foo"])
    proc = gymplug(env, "doctor")
    assert proc.returncode == 1
    assert "does not work with numpy 2" in proc.stdout and "pip install 'numpy<2'" in proc.stdout
    # run and check fail on np.bool8; their errors name the same fix
    proc = gymplug(env, "run", "foo-v0", "--max-steps", "3")
    assert proc.returncode == 1 and "pip install 'numpy<2'" in proc.stderr, proc.stderr
    proc = gymplug(env, "check", "foo-v0", "--steps", "3")
    assert proc.returncode == 1 and "pip install 'numpy<2'" in proc.stdout, proc.stdout


def test_module_colon_id_works_in_info_check_and_run(venv):
    """`module:id`, the host's own form: the module is imported first, then the id is used as make() uses it."""
    info = json.loads(gymplug(venv, "info", "gym_foo:foo-v0", "--json", check=True).stdout)
    assert info["id"] == "foo-v0" and info["distribution"] == "gymplug-foo"
    proc = gymplug(venv, "check", "gym_foo:foo-v0", "--steps", "5", "--json", check=True)
    assert [(r["id"], r["ok"]) for r in json.loads(proc.stdout)["results"]] == [("foo-v0", True)]
    payload = json.loads(gymplug(venv, "run", "gym_foo:foo-v0", "--max-steps", "3", "--json", check=True).stdout)
    assert payload["id"] == "foo-v0"
    proc = gymplug(venv, "info", "gym_nonesuch:foo-v0")
    assert proc.returncode == 1 and "cannot import 'gym_nonesuch'" in proc.stderr


def test_an_id_with_a_newline_is_shown_whole_and_escaped(venv):
    proc = gymplug(venv, "info", "foo\nbar-v0")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("gymplug: error: unknown environment 'foo\\nbar-v0'")


def test_check_gives_a_row_to_every_id_given(venv):
    proc = gymplug(venv, "check", "nonesuch-v0", "foo-v0", "fooo-v0", "--steps", "5")
    assert proc.returncode == 1
    rows = [line.split()[:3] for line in proc.stdout.splitlines()[1:-1]]
    assert rows == [["nonesuch-v0", "-", "FAIL"], ["foo-v0", HOST, "ok"], ["fooo-v0", "-", "FAIL"]]
    assert "unknown environment 'fooo-v0'" in proc.stdout and "did you mean: foo-v0" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "1 passed, 2 failed"


def test_check_treats_the_hosts_own_envs_alike_with_warnings_as_warnings(venv):
    """CartPole warns in the host's checker (infinite bounds), Acrobot renders with pygame, which may be missing:
    neither fails, both say why, without the host's colour codes."""
    proc = gymplug(venv, "check", "CartPole-v1", "Acrobot-v1", "--steps", "5", "--json")
    assert proc.returncode == 0, proc.stdout
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert all(r["ok"] and r["error"] is None for r in results.values())
    for result in results.values():
        for warning in result["warnings"]:
            assert "\x1b" not in warning and "WARN:" not in warning, warning
            assert warning.startswith(("rule 'env checker': ", "rule 'render modes': ")), warning
    has_pygame = venv.run_python("import importlib.util; print(importlib.util.find_spec('pygame') is not None)")
    if has_pygame.stdout.strip() == "False":
        assert any("skipped, a dependency is missing: " in w and "pygame" in w for w in results["Acrobot-v1"]["warnings"])
    table = gymplug(venv, "check", "CartPole-v1", "Acrobot-v1", "--steps", "5").stdout
    assert "\x1b" not in table and "\\x1b" not in table
    if any(r["warnings"] for r in results.values()):
        assert re.search(r"^CartPole-v1 +\S+ +(ok|warn) ", table + " ", re.M), table
        assert "with warnings), 0 failed" in table.splitlines()[-1]


def test_check_names_a_missing_dependency_of_an_env_as_such(venv):
    if HOST != "gymnasium" or venv.run_python("import Box2D", check=False).returncode == 0:
        pytest.skip("needs Gymnasium's LunarLander-v3 without box2d")
    proc = gymplug(venv, "check", "LunarLander-v3", "--json")
    (result,) = json.loads(proc.stdout)["results"]
    assert proc.returncode == 1
    assert result["error"].startswith("cannot be made here, an optional dependency is missing: DependencyNotInstalled")


def test_info_shows_importable_names(venv):
    info = json.loads(gymplug(venv, "info", "foo-v0", "--json", check=True).stdout)
    assert info["class"] == f"gym_foo.envs.{HOST}_env.FooEnv"  # made by a factory, bound to this name
    assert info["entry"] == f"foo-v0 = gym_foo.envs.{HOST}_env:FooEnv"


def test_list_entry_point_column_holds_entry_points_and_details_their_own_column(venv):
    env = {"GYMPLUG_DISABLE": "gp-fixture-disabled"}
    proc = gymplug(venv, "list", "--plugin", "gp-fixture-broken-registration", env=env)
    header, row = proc.stdout.splitlines()[:2]
    assert header.split() == ["ID", "HOST", "STATUS", "DISTRIBUTION", "ENTRY", "POINT", "DETAIL"]
    entry_point = row[header.index("ENTRY POINT"):header.index("DETAIL")].strip()
    assert re.fullmatch(r"[\w.]+(:[\w.]+)?", entry_point), row
    assert "registration exploded" in row[header.index("DETAIL"):]
    proc = gymplug(venv, "list", "--plugin", "gp-fixture-disabled", env=env, check=True)
    header, *rows = proc.stdout.splitlines()
    for row in rows:
        assert " = " not in row and row[header.index("DETAIL"):].strip() == "GYMPLUG_DISABLE", row
    header = gymplug(venv, "list", "--plugin", "gymplug-foo", check=True).stdout.splitlines()[0]
    assert "DETAIL" not in header


def test_doctor_says_a_failed_plugin_failed_and_nothing_else(venv):
    findings = json.loads(gymplug(venv, "doctor", "--json").stdout)["findings"]
    broken = [f["message"] for f in findings if "gp-fixture-broken-registration" in f["message"]]
    assert any("failed to load" in m for m in broken), broken
    assert not [m for m in broken if "loaded in" in m], broken


def test_quiet_hides_the_hosts_notices(venv):
    proc = gymplug(venv, "-q", "list", "--no-import", "--plugin", "gymplug-foo")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stderr  # gym 0.26.2's notice too
    loud = gymplug(venv, "list", "--no-import", "--plugin", "gymplug-foo")
    if HOST == "gym":
        assert "Gym has been unmaintained" in loud.stderr  # what -q hid


def test_progress_on_a_terminal_only(venv):
    program = venv.path / "bin" / "gymplug"
    status, out, terminal = run_on_a_terminal([program, "check", "foo-v0", "Legacy/Pong-v5", "--steps", "3"])
    assert status == 0 and "checking 1/2: foo-v0" in terminal and "checking 2/2: Legacy/Pong-v5" in terminal
    assert "checking" not in out and out.splitlines()[-1] == "2 passed, 0 failed"
    status, out, terminal = run_on_a_terminal([program, "run", "foo-v0", "--episodes", "2", "--max-steps", "120"])
    assert status == 0 and "episode 1/2: step 100" in terminal and "episode 2/2: step 50" in terminal
    for args in (("check", "foo-v0", "Legacy/Pong-v5", "--json"), ("-q", "check", "foo-v0", "Legacy/Pong-v5")):
        status, out, terminal = run_on_a_terminal([program, *args, "--steps", "3"])
        assert status == 0 and "checking" not in terminal, args
    proc = gymplug(venv, "check", "foo-v0", "Legacy/Pong-v5", "--steps", "3", check=True)  # piped: none
    assert "checking" not in proc.stderr


@pytest.fixture(scope="module")
def hostless_venv(tmp_path_factory, wheelhouse):
    """gymplug alone: neither gym nor gymnasium."""
    from helpers import Venv

    env = Venv.create(tmp_path_factory.mktemp("hostless") / "env")
    env.pip("install", "pluggy>=1.2")
    env.install_wheels(wheelhouse, ["gymplug"])
    return env


def test_every_command_says_when_no_host_is_installed(hostless_venv):
    for args in (("doctor",), ("list",), ("info", "foo-v0"), ("check",), ("run", "foo-v0"), ("index",)):
        proc = gymplug(hostless_venv, *args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "neither gym nor gymnasium is installed here: pip install gymnasium" in proc.stdout + proc.stderr, args
    proc = gymplug(hostless_venv, "doctor")
    assert "problem hosts" in " ".join(proc.stdout.split()) and proc.stdout.splitlines()[-1] == "1 problem found"


@pytest.mark.parametrize("kind", ["file", "dangling symlink", "under a file"])
def test_run_record_into_what_is_not_a_folder_says_what_is_wrong(venv, tmp_path, kind):
    target = tmp_path / "videos"
    if kind == "file":
        target.write_text("not a folder")
        expected = f"cannot write recordings to {target}: it is a file, not a folder"
    elif kind == "dangling symlink":
        target.symlink_to(tmp_path / "gone")
        expected = f"cannot write recordings to {target}: it is a symbolic link to {tmp_path / 'gone'}, which does not exist"
    else:
        (tmp_path / "file").write_text("")
        target = tmp_path / "file" / "videos"
        expected = f"cannot write recordings to {target}: {tmp_path / 'file'} is a file, not a folder"
    proc = gymplug(venv, "run", "foo-v0", "--record", target)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == f"gymplug: error: {expected}"
    assert not (tmp_path / "gone").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a 64 KiB tmpfs that is nearly full, or None where no tmpfs can be mounted (not root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        yield None
        return
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True,
                          timeout=30)
    if proc.returncode != 0:
        yield None
        return
    try:
        (mount / "filler").write_bytes(b"\0" * 58 * 1024)
        yield mount / "videos"
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, timeout=30)


def test_run_record_on_a_full_disk_keeps_no_cut_video_and_says_why(record_venv, tmp_path, small_disk):
    """ENOSPC on a small tmpfs, or EFBIG under a file size limit (ulimit -f) where no tmpfs can be mounted."""
    program = record_venv.path / "bin" / "gymplug"
    videos = small_disk or tmp_path / "videos"
    command = [str(program), "run", "foo-v0", "--episodes", "3", "--seed", "0", "--max-steps", "300",
               "--record", str(videos)]
    if small_disk is None:
        import resource

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

        proc = subprocess.run(command, capture_output=True, text=True, env=clean_env({"DISPLAY": ""}),
                              cwd=NEUTRAL_CWD, preexec_fn=limit, timeout=300)
        why = "File too large"
    else:
        proc = run(command, env={"DISPLAY": ""}, check=False)
        why = "No space left on device"
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("gymplug: error: cannot record foo-v0-episode-") and why in last, proc.stderr
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr
    recorded = [line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("recorded ")]
    on_disk = sorted(p.name for p in videos.iterdir()) if videos.exists() else []
    assert on_disk == sorted(os.path.basename(r) for r in recorded)  # no partial file left, none cut short
    for name in on_disk:  # whatever is kept decodes whole
        assert count_frames(record_venv, videos / name) == 301
