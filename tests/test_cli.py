"""The gymplug command, run for real in the test virtual environment."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time

import pytest

from gymplug._settings import VARIABLES
from helpers import HOST, clean_env, run

pytestmark = pytest.mark.integration


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
    assert gymplug(venv).returncode == 2
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
    ],
)
def test_every_usage_error_exits_2(venv, args):
    proc = gymplug(venv, *args)
    assert proc.returncode == 2, proc.stderr
    assert f"usage: gymplug {args[0]}" in proc.stderr and proc.stdout == ""


def test_top_level_help_lists_every_variable_and_the_exit_codes(venv):
    text = gymplug(venv, "--help", check=True).stdout
    for name in VARIABLES:
        assert name in text, name
    assert "2 usage error" in text


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
    assert lines[0].split() == ["ID", "HOST", "STATUS", "DISTRIBUTION", "ENTRY", "POINT"]
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
