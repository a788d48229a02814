"""Broken and hostile plugins: the host imports, every other plugin works, each failure is named."""

from __future__ import annotations

import json

import pytest

from helpers import HOST, run

pytestmark = pytest.mark.integration

OTHER = "gym" if HOST == "gymnasium" else "gymnasium"
LOAD = "PluginLoadError"
# (env id, expected error class name or None for "makes fine", fragments the message must contain)
CASES = [
    ("broken-import-v0", LOAD, ["gp-fixture-broken-import 1.0.0", "'broken-import-v0 = gp_broken_import.envs:Env'", "ModuleNotFoundError"]),
    ("BrokenReg/Any-v0", LOAD, ["gp-fixture-broken-registration 1.0.0", "BrokenReg = gp_broken_registration.reg:register", "RuntimeError: registration exploded"]),
    ("bad-novalue-v0", "InvalidEntryError", ["gp-fixture-malformed 1.0.0", "must name an Env class"]),
    ("bad-dotted-v0", "InvalidEntryError", ["gp-fixture-malformed", "one attribute"]),
    ("clash-v0", "EnvConflictError", ["gp-fixture-conflict-a 1.0.0", "gp-fixture-conflict-b 1.0.0"]),
    ("init-raises-v0", "ValueError", ["bad init"]),
    ("Recur/Self-v0", LOAD, ["gp-fixture-recursive 1.0.0", "Recur = gp_recursive.reg:register_"]),
    ("syntax-v0", LOAD, ["gp-fixture-syntax-error 1.0.0", "SyntaxError"]),
    ("SyntaxNs/Any-v0", LOAD, ["gp-fixture-syntax-error", "SyntaxNs = gp_syntax.bad_reg:register", "SyntaxError"]),
    ("exit-v0", LOAD, ["gp-fixture-sys-exit 1.0.0", "SystemExit"]),
    ("Exit/Any-v0", LOAD, ["gp-fixture-sys-exit", "SystemExit: bye from a plugin"]),
    ("raise-at-import-v0", LOAD, ["gp-fixture-raise-at-import 1.0.0", "RuntimeError: kaboom at import"]),
    ("missing-attr-v0", LOAD, ["gp-fixture-bad-attributes 1.0.0", "AttributeError", "NoSuchClass"]),
    ("not-callable-v0", LOAD, ["gp-fixture-bad-attributes", "not an Env class or factory but a int object"]),
    ("ClassAsRegistration/Any-v0", LOAD, ["gp-fixture-bad-attributes", "is a class, not a registration function", "ClassAsRegistration-v0"]),
    ("Versions/Thing-v0", LOAD, ["gp-fixture-version-collision 1.0.0", "RegistrationError"]),
    ("wrong-host-v0", LOAD, ["gp-fixture-wrong-host 1.0.0", f"No module named '{OTHER}'"]),
    ("attrs-ok-v0", None, []),
    ("Ωmega-v0", None, []),
    ("Ζeta/Ünï-v1", None, []),
    ("PathMut/Path-v0", None, []),
    ("Vandal/Vandal-v0", None, []),
    ("huge-9999-v0", None, []),
    ("Flood/Flood-v0", None, []),
    ("Slow/Slow-v0", None, []),
    ("RootShadowOk-v0", None, []),
]
if HOST == "gymnasium":
    CASES += [
        ("HookRaises/First-v0", LOAD, ["gp-fixture-bad-hooks 1.0.0", "ValueError: hook exploded"]),
        ("HookSignature/Never-v0", LOAD, ["gp-fixture-bad-hooks", "PluginValidationError"]),
        ("HookOptions/Typo-v0", LOAD, ["gp-fixture-bad-hooks", "refused", "invalid options", "max_episode_stepz"]),
        ("HookOptions/Fine-v0", None, []),
    ]

SCRIPT = f"""
import json, sys
import {HOST} as host
cases = json.loads(sys.argv[1])
report = {{}}
for env_id in cases:
    entry = report[env_id] = {{}}
    try:
        host.make(env_id).close()
    except Exception as exc:
        entry["types"] = [c.__name__ for c in type(exc).__mro__]
        entry["text"] = str(exc) + " " + " ".join(getattr(exc, "__notes__", [])) + " " + repr(exc.__cause__)
    # after every case, an unrelated plugin env and a host built-in still make
    entry["others"] = [host.make("foo-v0").spec.id, type(host.make("CartPole-v1").unwrapped).__module__.split(".")[0]]
sys.stdout.flush()
print("\\n" + json.dumps(report))
"""


@pytest.fixture(scope="module")
def report(venv):
    proc = run([venv.python, "-c", SCRIPT, json.dumps([c[0] for c in CASES])], timeout=600)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_there_are_at_least_25_hostile_fixtures():
    from helpers import FIXTURES, distributions

    hostile = [p.name for p in distributions(FIXTURES) if p.name not in ("gp-fixture-base", "gp-fixture-canary", "gp-fixture-legacy", "gp-fixture-rootlegacy", "gp-fixture-hooks")]
    assert len(hostile) >= 25, hostile


@pytest.mark.parametrize(("env_id", "error", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_each_case(report, env_id, error, fragments):
    entry = report[env_id]
    assert entry["others"] == ["foo-v0", HOST], entry
    if error is None:
        assert "types" not in entry, entry.get("text")
        return
    assert entry["types"][0] == error, entry
    if error != "ValueError":
        assert "GymplugError" in entry["types"] and "Error" in entry["types"]  # also the host's error.Error
    for fragment in fragments:
        assert fragment in entry["text"], (fragment, entry["text"])


def test_vandalism_is_undone_and_reported(venv):
    out = venv.json(
        f"import json, gymplug\nimport {HOST} as host\nhost.make('Vandal/Vandal-v0')\n"
        f"m = gymplug.get_manager('{HOST}')\n"
        "print(json.dumps([[d.dist.name, i, r] for d, i, r in m.rejected if d.dist.name == 'gp-fixture-mutators']))"
    )
    assert sorted(i for _, i, _ in out) == ["CartPole-v1", "foo-v0"]
    assert all("restored" in r for _, _, r in out)


def test_a_root_plugin_cannot_take_a_built_in_or_anothers_namespace(venv):
    out = venv.json(
        f"import json, gymplug\nimport {HOST} as host\ngymplug.load_all()\n"
        f"m = gymplug.get_manager('{HOST}')\n"
        "print(json.dumps([sorted(d.dist.name for d in m.shadowed.get('CartPole-v1', [])), [[d.dist.name, i, r] for d, i, r in m.rejected], host.make('Legacy/Pong-v5').spec.entry_point]))"
    )
    shadowed, rejected, legacy_entry_point = out
    assert "gp-fixture-root-shadow" in shadowed
    assert legacy_entry_point.startswith("gp_legacy.")
    if HOST == "gymnasium":
        assert ["gp-fixture-bad-hooks", "Legacy/Pong-v5", "the namespace 'Legacy' belongs to the distribution gp-fixture-legacy"] in rejected


def test_doctor_and_list_report_every_broken_fixture(venv):
    doctor = json.loads(run([venv.path / "bin" / "gymplug", "doctor", "--json"], check=False).stdout)
    text = json.dumps(doctor)
    for dist in ("gp-fixture-broken-registration", "gp-fixture-malformed", "gp-fixture-syntax-error", "gp-fixture-sys-exit",
                 "gp-fixture-bad-attributes", "gp-fixture-version-collision", "gp-fixture-mutators", "gp-fixture-corrupt-metadata",
                 "gp-fixture-slow-import", "gp-fixture-conflict-a", "gp-fixture-shadow", "gp-fixture-root-shadow"):
        assert dist in text, dist
    assert "corrupt-v1 = = =" in text  # the corrupt entry_points.txt
    listing = run([venv.path / "bin" / "gymplug", "list", "--json"], check=False)  # exit 1: broken rows
    rows = json.loads(listing.stdout)["envs"]  # valid JSON despite the megabyte the flood plugin printed
    assert sum(1 for r in rows if r["id"].startswith("huge-")) == 10_000
    assert "y" * 1000 in listing.stderr


def test_no_escape_sequence_from_metadata_reaches_the_terminal(venv):
    # gp-fixture-corrupt-metadata has an entry name with ESC [31m in it
    for command in (["doctor"], ["list", "corrupt"], ["info", "corrupt-v1"]):
        proc = run([venv.path / "bin" / "gymplug", *command], env={"NO_COLOR": "1"}, check=False)
        # gymplug's own output; the hosts colour their own warnings on stderr, whatever NO_COLOR says
        ours = proc.stdout + "".join(line for line in proc.stderr.splitlines() if line.startswith("gymplug"))
        assert "\x1b" not in ours
    assert "\\x1b[31m" in run([venv.path / "bin" / "gymplug", "doctor"], env={"NO_COLOR": "1"}, check=False).stdout
