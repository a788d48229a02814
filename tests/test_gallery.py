"""``gymplug gallery`` for real: a venv with the example plugins and envs that hang, crash, print and inject."""

from __future__ import annotations

import configparser
import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from helpers import HOST, HOST_REQUIREMENTS, NEUTRAL_CWD, ROOT, Venv, clean_env, run

pytestmark = pytest.mark.integration

STEPS = 12
TIMEOUT = "3"  # the hanging env's time limit, seconds
TROUBLES = "gp-fixture-gallery-troubles"
MARKUP_ENTRY = "<script>alert(3)</script>-v0"
EXPECTED = {  # id -> (outcome, a fragment of the reason)
    "Trouble/tidy-v0": ("ok", None),
    "Trouble/chatty-v0": ("ok", None),
    "Trouble/noise-v0": ("ok", None),
    "Trouble/hang-v0": ("timeout", f"timed out after {TIMEOUT} s"),
    "Trouble/abort-v0": ("crashed", "the interpreter crashed (SIGABRT)"),
    "Trouble/ansi-v0": ("no-rgb", "no rgb_array render mode (render modes: ansi)"),
    "Trouble/init-fails-v0": ("failed", 'make failed: ValueError: <img src=x onerror="alert(1)"> needs a licence file'),
    "Trouble/render-fails-v0": ("failed", "render() returned NoneType, not an RGB array"),
    "Markup/script-v0": ("ok", None),
    MARKUP_ENTRY: ("unavailable", "broken: the name is neither an env id"),
    "foo-v0": ("ok", None),
}


def gallery_requirements() -> list[str]:
    """What ``gymplug[gallery]`` requires, as setup.cfg says."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return [line.strip() for line in config["options.extras_require"]["gallery"].splitlines() if line.strip()]


@pytest.fixture(scope="module")
def gallery_venv(tmp_path_factory, wheelhouse) -> Venv:
    """The host, gymplug with its gallery extra, the example plugins and the gallery fixtures."""
    env = Venv.create(tmp_path_factory.mktemp("gallery") / "env")
    env.pip("install", "pluggy>=1.2", *HOST_REQUIREMENTS[HOST], *gallery_requirements())  # one resolve: faster
    plugins = ["gymplug", "gymplug-foo", "gp-fixture-base", TROUBLES, "gp-fixture-gallery-markup"]
    env.install_wheels(wheelhouse, plugins + (["gymplug-gridworlds"] if HOST == "gymnasium" else []))
    return env


def gallery(venv: Venv, *args, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return run([venv.path / "bin" / "gymplug", "gallery", *args], env=env, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def site(gallery_venv, tmp_path_factory):
    """One gallery of everything installed: (its folder, the --json output, the process)."""
    out = tmp_path_factory.mktemp("site") / "gallery"
    proc = gallery(gallery_venv, "--out", out, "--steps", STEPS, "--timeout", TIMEOUT, "--jobs", "2", "--json")
    return out, json.loads(proc.stdout), proc


def cards_by_id(payload):
    return {card["id"]: card for card in payload["envs"]}


class Page(HTMLParser):
    """What a browser would see: elements with their attributes, and the text of each card's heading."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.headings: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_heading = tag == "h2"
        if self._in_heading:
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data

    def all(self, tag, cls=None):
        return [a for t, a in self.elements if t == tag and (cls is None or cls in (a.get("class") or "").split())]


def parse(out: Path) -> Page:
    page = Page()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    page.close()
    return page


def worker_processes(venv: Venv) -> list[int]:
    """The pids of this venv's gallery workers still alive (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if "_gallery/_worker.py" in command and str(venv.path) in command and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_one_card_per_env_that_list_shows(site, gallery_venv):
    out, payload, proc = site
    assert proc.returncode == 1, proc.stderr  # the hang, the crash and the failures are problems
    assert payload["format"] == 1 and payload["complete"] is True and payload["steps"] == STEPS
    listed = json.loads(run([gallery_venv.path / "bin" / "gymplug", "list", "--json"], check=False).stdout)["envs"]
    assert sorted((c["id"], c["host"], c["distribution"]) for c in payload["envs"]) == sorted(
        (r["id"], r["host"], r["distribution"]) for r in listed)
    cards = cards_by_id(payload)
    for env_id, (outcome, reason) in EXPECTED.items():
        assert cards[env_id]["outcome"] == outcome, cards[env_id]
        assert reason is None and cards[env_id]["reason"] is None or reason in cards[env_id]["reason"]
    foo = cards["foo-v0"]
    assert (foo["status"], foo["distribution"], foo["version"], foo["host"]) == ("declared", "gymplug-foo", "0.1.0", HOST)
    assert foo["description"] and foo["observation_space"].startswith("Box(") and foo["render_modes"] == ["rgb_array"]
    if HOST == "gymnasium":
        maze = cards["Grid/Maze-v0"]
        assert (maze["max_episode_steps"], maze["reward_threshold"], maze["status"]) == (200, 0.9, "loaded")
    assert json.loads((out / "gallery.json").read_text())["envs"] == payload["envs"]
    problems = {c["id"] for c in payload["envs"] if c["problem"]}
    assert problems == {i for i, (o, _) in EXPECTED.items() if o in ("timeout", "crashed", "failed")} | {MARKUP_ENTRY}
    assert payload["problems"] == len(problems) and payload["previews"] == sum(1 for c in payload["envs"] if c["preview"])


def test_every_preview_decodes_with_its_frames_and_stays_small(site):
    from PIL import Image

    out, payload, _ = site
    previews = [c for c in payload["envs"] if c["preview"]]
    assert {c["id"] for c in previews} >= {i for i, (o, _) in EXPECTED.items() if o == "ok"}
    for card in previews:
        path = out / card["preview"]
        assert path.stat().st_size == card["bytes"] <= 300_000
        with Image.open(path) as image:
            assert image.format in ("WEBP", "GIF") and image.size == (card["width"], card["height"])
            assert max(image.size) <= 256 and image.n_frames == card["frames"] >= 1
            image.seek(image.n_frames - 1)  # the last frame decodes too
            image.load()
    cards = cards_by_id(payload)
    assert cards["Trouble/tidy-v0"]["frames"] == STEPS + 1  # the reset frame, then one per step
    assert (cards["Trouble/tidy-v0"]["width"], cards["Trouble/tidy-v0"]["height"]) == (64, 48)  # never scaled up
    noise = cards["Trouble/noise-v0"]  # 320 x 240 of noise: scaled down, frames dropped to fit 300 KB
    assert (noise["width"], noise["height"]) == (256, 192) and 1 <= noise["frames"] < STEPS + 1
    assert cards["foo-v0"]["preview"] == f"previews/{HOST}/foo-v0.webp"


def test_page_structure_and_escaping(site):
    out, payload, _ = site
    page = parse(out)
    articles = page.all("article", "card")
    assert len(articles) == len(payload["envs"]) and page.headings == [c["id"] for c in payload["envs"]]
    assert MARKUP_ENTRY in page.headings  # shown as text...
    html = (out / "index.html").read_text(encoding="utf-8")
    for raw in ("<script>alert", "<img src=x", "<b>markup", "<i>italic", "</dd><script>"):
        assert raw not in html, raw  # ...never as markup
    assert "&lt;script&gt;alert(2)&lt;/script&gt; A docstring with &lt;b&gt;markup&lt;/b&gt; &amp; an ampersand" in html
    scripts = page.all("script")
    assert scripts == [{"src": "gallery.js", "defer": None}]
    images = page.all("img")
    assert sorted(a["src"] for a in images) == sorted(c["preview"] for c in payload["envs"] if c["preview"])
    for _, attrs in page.elements:  # everything the page loads is a file of the folder
        for name in ("src", "href"):
            if name in attrs:
                assert ":" not in attrs[name] and not attrs[name].startswith("/"), attrs
                assert (out / attrs[name]).is_file(), attrs
    policy = next(a["content"] for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in policy and "'unsafe-inline'" not in policy
    summary = next(i for i, (t, a) in enumerate(page.elements) if a.get("class") == "summary")
    assert summary and f"{len(payload['envs'])} environments from {payload['distributions']} distributions" in html
    options = [a.get("value") for a in page.all("option")]
    assert options[0] == "" and "gymplug-foo" in options and TROUBLES in options
    assert {a["data-distribution"] for a in articles} == {c["distribution"] for c in payload["envs"]}


def test_an_env_printing_on_stdout_leaves_the_json_clean(site):
    _, payload, proc = site
    assert "chatty:" not in proc.stdout and "not JSON of yours" not in proc.stdout
    assert cards_by_id(payload)["Trouble/chatty-v0"]["outcome"] == "ok"


def test_second_run_renders_only_what_timed_out_or_crashed(site, gallery_venv):
    out, first, _ = site
    previews = sorted((out / "previews").rglob("*.webp"))
    stamps = {p: p.stat().st_mtime_ns for p in previews}
    proc = gallery(gallery_venv, "-q", "--out", out, "--steps", STEPS, "--timeout", TIMEOUT)
    again = cards_by_id(json.loads((out / "gallery.json").read_text()))
    rendered = {i for i, c in again.items() if not c["cached"] and c["outcome"] != "unavailable"}
    assert rendered == {"Trouble/hang-v0", "Trouble/abort-v0"}  # errors the env raised are kept, not these
    # -q: the problems only, one line each, on stderr
    assert proc.returncode == 1 and proc.stdout == ""
    problems = sorted(line for line in proc.stderr.splitlines() if line.startswith("gymplug: "))
    assert len(problems) == sum(1 for c in again.values() if c["problem"]), proc.stderr
    assert "gymplug: Trouble/hang-v0 (" + HOST + ") of gp-fixture-gallery-troubles 1.0.0: timed out after" in proc.stderr
    assert {p: p.stat().st_mtime_ns for p in previews} == stamps
    assert [c["preview"] for c in first["envs"]] == [again[c["id"]]["preview"] for c in first["envs"]]
    changed = gallery(gallery_venv, "--out", out, "--steps", STEPS + 1, "--timeout", TIMEOUT, "Trouble/tidy*", "--json")
    tidy = cards_by_id(json.loads(changed.stdout))
    assert list(tidy) == ["Trouble/tidy-v0"] and not tidy["Trouble/tidy-v0"]["cached"]
    assert tidy["Trouble/tidy-v0"]["frames"] == STEPS + 2
    assert sorted(p.name for p in (out / "previews").rglob("*") if p.is_file()) == ["tidy-v0.json", "tidy-v0.webp"]


def test_interrupt_writes_the_page_of_what_was_done_and_kills_the_workers(gallery_venv, tmp_path):
    out = tmp_path / "site"
    command = [gallery_venv.path / "bin" / "gymplug", "gallery", "--plugin", TROUBLES, "--out", out, "--timeout", "60",
               "--jobs", "2", "--steps", "5"]
    proc = subprocess.Popen([str(a) for a in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), cwd=NEUTRAL_CWD)
    try:
        # the hanging env holds a worker for 60 s: the others are done well before that
        assert wait_for(lambda: (out / "previews" / HOST / "Trouble" / "tidy-v0.json").exists(), 60)
        assert worker_processes(gallery_venv)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == 130 and "gymplug: interrupted" in stderr, stderr
    assert worker_processes(gallery_venv) == []
    data = json.loads((out / "gallery.json").read_text())
    shown = {c["id"] for c in data["envs"]}
    assert data["complete"] is False and "Trouble/tidy-v0" in shown and "Trouble/hang-v0" not in shown
    headings = parse(out).headings
    assert sorted(headings) == sorted(shown) and "Interrupted:" in (out / "index.html").read_text()
    assert not [p for p in out.rglob("*") if p.name.endswith(".partial")]


def test_workers_die_with_a_killed_command(gallery_venv, tmp_path):
    command = [gallery_venv.path / "bin" / "gymplug", "gallery", "Trouble/hang*", "--out", tmp_path / "site",
               "--timeout", "60"]
    proc = subprocess.Popen([str(a) for a in command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=clean_env(), cwd=NEUTRAL_CWD)
    try:
        assert wait_for(lambda: worker_processes(gallery_venv), 60)
        proc.send_signal(signal.SIGKILL)  # no finally runs: the workers notice that their parent is gone
        proc.wait(30)
        assert wait_for(lambda: not worker_processes(gallery_venv), 10)
    finally:
        proc.kill()
        proc.wait(30)


def test_folders_it_will_not_overwrite(gallery_venv, tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "index.html").write_text("mine")
    proc = gallery(gallery_venv, "--out", tmp_path / "project")
    assert proc.returncode == 1 and "is not empty and holds no gallery" in proc.stderr
    assert (tmp_path / "project" / "index.html").read_text() == "mine"
    (tmp_path / "file").write_text("")
    assert "is not a folder" in gallery(gallery_venv, "--out", tmp_path / "file").stderr


def test_filters_and_what_is_said_when_nothing_matches(gallery_venv, tmp_path):
    proc = gallery(gallery_venv, "--out", tmp_path / "a", "--plugin", "gp-fixture-nonesuch")
    assert proc.returncode == 1 and "no distribution named 'gp-fixture-nonesuch'" in proc.stderr
    proc = gallery(gallery_venv, "--out", tmp_path / "b", "--plugin", "gp-fixture-base")
    assert proc.returncode == 0 and "declares no environments" in proc.stderr and not (tmp_path / "b").exists()
    other = "gym" if HOST == "gymnasium" else "gymnasium"
    proc = gallery(gallery_venv, "--out", tmp_path / "b", "--host", other)
    assert proc.returncode == 1 and f"{other} is not installed here" in proc.stderr
    proc = gallery(gallery_venv, "--out", tmp_path / "c", "--plugin", "GYMPLUG_foo", "--steps", "2", "--host", HOST)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{tmp_path / 'c' / 'index.html'}: 1 environment from 1 distribution; 1 preview")
    assert "(1 rendered, 0 kept)" in proc.stdout
    proc = gallery(gallery_venv, "--out", tmp_path / "c", "--plugin", "gymplug-foo", "--steps", "2", "--refresh")
    assert "(1 rendered, 0 kept)" in proc.stdout, proc.stdout  # --refresh: nothing kept is used


@pytest.mark.parametrize("option", ["--steps", "--jobs", "--timeout"])
def test_bad_numbers_are_usage_errors(gallery_venv, option):
    proc = gallery(gallery_venv, option, "0")
    assert proc.returncode == 2 and "usage: gymplug gallery" in proc.stderr


def test_no_other_command_imports_pillow_or_jinja2(gallery_venv):
    commands = (["-c", f"import gymplug, {HOST}; {HOST}.make('foo-v0').reset(seed=0)"],
                ["-m", "gymplug", "list", "--json"], ["-m", "gymplug", "gallery", "--help"])
    for args in commands:
        proc = run([gallery_venv.python, "-X", "importtime", *args], check=False)  # list: 1, the broken entry
        imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
        assert "gymplug" in imported and not imported & {"PIL", "jinja2", "markupsafe"}, args


def test_without_the_extra_it_says_what_to_install(venv, tmp_path):
    proc = run([venv.path / "bin" / "gymplug", "gallery", "--out", tmp_path / "site"], check=False)
    assert proc.returncode == 1 and "pip install 'gymplug[gallery]'" in proc.stderr
    assert not (tmp_path / "site").exists()


def test_benchmark_runs(gallery_venv):
    proc = run([sys.executable, ROOT / "benchmarks" / "gallery.py", gallery_venv.python, "--plugin", "gymplug-foo",
                "--runs", "1", "--steps", "3"], timeout=300)
    assert "| first (learning gymplug-foo included) |" in proc.stdout
    assert "| second, same folder (0 rendered again) |" in proc.stdout


def test_a_gallery_of_the_hosts_own_envs(gallery_venv, tmp_path):
    proc = gallery(gallery_venv, "--all", "--out", tmp_path / "site", "CartPole-v1", "--steps", "3", "--json",
                   env={"GYMPLUG_CACHE_DIR": str(tmp_path / "cache")})
    card = cards_by_id(json.loads(proc.stdout))["CartPole-v1"]  # beside phys2d/CartPole-v1 and the like
    assert (card["status"], card["distribution"], card["host"]) == ("builtin", HOST, HOST)
    assert card["version"] and card["max_episode_steps"] == 500 and card["reward_threshold"] == 475.0
    # the classic-control renderer needs pygame, which this venv does not have: the card says so, no problem
    assert (card["outcome"], card["problem"], card["preview"]) == ("needs", False, None)
    assert "DependencyNotInstalled" in card["reason"] and "pygame" in card["reason"]
    assert proc.returncode == 0 and os.path.isfile(tmp_path / "site" / "index.html")


def test_workers_start_whatever_the_interpreter_prints_first(gallery_venv, tmp_path):
    # a sitecustomize (or a .pth file) that prints at start-up, before a worker takes its descriptors
    (tmp_path / "startup").mkdir()
    (tmp_path / "startup" / "sitecustomize.py").write_text("import sys\nsys.stdout.write('hello, no newline')\n")
    proc = gallery(gallery_venv, "--out", tmp_path / "site", "foo-v0", "--steps", "2",
                   env={"PYTHONPATH": str(tmp_path / "startup")})
    assert proc.returncode == 0 and "1 preview (1 rendered, 0 kept)" in proc.stdout, proc.stderr


def test_a_progress_bar_on_a_terminal_only(gallery_venv, tmp_path):
    import pty

    def stderr_on_a_terminal(*args):
        leader, follower = pty.openpty()
        try:
            proc = subprocess.run([str(gallery_venv.path / "bin" / "gymplug"), "gallery", "foo-v0", "--steps", "2",
                                   "--out", str(tmp_path / "site"), *args], stdout=subprocess.PIPE, stderr=follower,
                                  env=clean_env(), cwd=NEUTRAL_CWD, timeout=120)
            os.close(follower)
            follower = -1
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal is closed: all read
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return proc, b"".join(chunks).decode(errors="replace")
        finally:
            os.close(leader)
            if follower != -1:
                os.close(follower)

    proc, terminal = stderr_on_a_terminal()
    assert proc.returncode == 0 and "] 1/1 foo-v0" in terminal
    for quiet in (["--json"], ["-q"]):
        proc, terminal = stderr_on_a_terminal(*quiet)
        assert proc.returncode == 0 and "1/1" not in terminal, quiet
