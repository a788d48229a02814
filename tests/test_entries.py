"""Unit tests of the entry parser: every name/value gives a declaration or a problem that says why."""

import pytest

from gymplug import Declaration, Distribution, EntryProblem, Form
from gymplug._entries import normalize_name, parse_entry, split_env_id

DIST = Distribution("gymplug-foo", "1.2.3")


def parse(name, value="pkg.mod:Attr"):
    return parse_entry(DIST, "gym.envs", name, value)


@pytest.mark.parametrize(
    ("name", "value", "env_id"),
    [
        ("foo-v0", "gym_foo.envs:FooEnv", "foo-v0"),
        ("Foo/Bar-v12", "gym_foo.envs:make_bar", "Foo/Bar-v12"),
        ("  spaced-v1 ", " pkg.mod : Attr ", "spaced-v1"),
        ("dotted.name-v3", "pkg:Env", "dotted.name-v3"),
        ("ünïcode-v0", "pkg:Env", "ünïcode-v0"),
    ],
)
def test_env_entries(name, value, env_id):
    declaration = parse(name, value)
    assert isinstance(declaration, Declaration)
    assert declaration.form is Form.ENV and declaration.env_id == env_id
    assert declaration.attr and ":" not in declaration.attr
    assert declaration.value == f"{declaration.module}:{declaration.attr}"  # normalized, as importlib reads it


@pytest.mark.parametrize(
    ("name", "value", "namespace"),
    [
        ("ALE", "ale_py.gym:register_gym_envs", "ALE"),
        ("__root__", "pkg.reg:register", None),
        ("__internal__", "pkg.reg:register", None),
        ("Grid", "gymplug_gridworlds.plugin", "Grid"),
        ("my-ns", "pkg.plugin:obj.attr", "my-ns"),
    ],
)
def test_plugin_entries(name, value, namespace):
    declaration = parse(name, value)
    assert isinstance(declaration, Declaration)
    assert declaration.form is Form.PLUGIN and declaration.namespace == namespace
    assert declaration.plugin_name == f"gymplug-foo:{name}"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("", "pkg:Attr", "no name"),
        ("foo-v0", "", "no value"),
        ("foo-v0", "pkg.mod", "must name an Env class"),
        ("foo-v0", "pkg.mod:Env.make", "one attribute"),
        ("foo-v0", "not a module:Env", "not an object reference"),
        ("foo-v0", "pkg.mod:Env [extra]", "extras"),
        ("foo-v0", "1pkg:Env", "not an object reference"),
        ("Foo/Bar", "pkg:register", "without a version"),
        ("bad name-v0", "pkg:Env", "neither an env id"),
        ("ns:id-v0", "pkg:Env", "contains ':'"),
        ("__magic__", "pkg:register", "magic namespace"),
    ],
)
def test_problems_say_why(name, value, reason):
    problem = parse(name, value)
    assert isinstance(problem, EntryProblem)
    assert reason in problem.reason
    described = problem.describe()
    assert "gymplug-foo 1.2.3" in described and "gym.envs" in described


def test_problem_remembers_the_id_it_meant():
    assert parse("foo-v0", "pkg.mod").env_id == "foo-v0"
    assert parse("Foo/Bar", "x").env_id is None


def test_split_env_id_and_normalize():
    assert split_env_id("ALE/Pong-v5") == ("ALE", "Pong", 5)
    assert split_env_id("CartPole") == (None, "CartPole", None)
    assert split_env_id("a b") is None
    assert normalize_name("Gymplug_Foo.bar") == "gymplug-foo-bar"


def test_untrusted_text_is_made_printable():
    from gymplug._entries import printable

    assert printable("plain text-v0 = a.b:C") == "plain text-v0 = a.b:C"
    assert printable("\x1b[31mred\x00") == "\\x1b[31mred\\x00"
    assert printable("ünïcode Ωmega") == "ünïcode Ωmega"
    problem = parse("\x1b[2J", "a:b")
    assert "\x1b" not in problem.describe() and "\\x1b[2J" in problem.describe()
