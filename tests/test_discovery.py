"""Unit tests of discovery on real *.dist-info folders in a temporary directory."""

import pytest

from gymplug import Form, discover
from gymplug._discovery import disabled_distributions
from gymplug._entries import parse_entry_points_text
from helpers import dist_info


def test_reads_names_and_values_without_importing(tmp_path):
    dist_info(tmp_path, "plug-a", "1.0", "[gym.envs]\nfoo-v0 = no_such_module_a:Env\nNs = no_such_module_a.reg:register\n\n[console_scripts]\nx = y:z\n")
    dist_info(tmp_path, "plug-b", "2.0", "[gymnasium.envs]\nbar-v1 = no_such_module_b:Env\n")
    dist_info(tmp_path, "unrelated", "0.1", "[console_scripts]\nfoo-v0 = a:b\n")
    dist_info(tmp_path, "no-entry-points", "0.1", None)
    found = discover("gym", path=[str(tmp_path)])
    assert [(d.dist.name, d.name, d.form) for d in found.declarations] == [
        ("plug-a", "foo-v0", Form.ENV),
        ("plug-a", "Ns", Form.PLUGIN),
    ]
    assert found.problems == ()
    assert [d.env_id for d in discover("gymnasium", path=[str(tmp_path)]).declarations] == ["bar-v1"]


def test_malformed_lines_and_undecodable_files_are_reported(tmp_path):
    dist_info(tmp_path, "messy", "3.1", "[gym.envs]\nno equals sign here\nbad name-v0 = pkg:Env\ngood-v0 = pkg:Env\n")
    dist_info(tmp_path, "corrupt", "0.0.1", b"[gym.envs]\n\xff\xfe = \x80:\x81\n")
    found = discover("gym", path=[str(tmp_path)])
    assert [d.env_id for d in found.declarations] == ["good-v0"]
    reasons = {(p.dist.name, p.reason.split(":")[0]) for p in found.problems}
    assert ("messy", "the line is not 'name = value'") in reasons
    assert ("messy", "the name is neither an env id ('[Namespace/]Name-vN') nor a namespace") in reasons
    assert any(name == "corrupt" and "unreadable" in reason for name, reason in reasons)


def test_first_distribution_of_a_name_on_the_path_wins(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "plug", "2.0", "[gym.envs]\nnew-v0 = pkg:Env\n")
    dist_info(second, "plug", "1.0", "[gym.envs]\nold-v0 = pkg:Env\n")
    found = discover("gym", path=[str(first), str(second)])
    assert [(d.dist.version, d.env_id) for d in found.declarations] == [("2.0", "new-v0")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", set()), ("Gym_Foo", {"gym-foo"}), ("a, b  c,,", {"a", "b", "c"})],
)
def test_disable_list(value, expected):
    assert disabled_distributions(value) == expected


def test_disabled_is_reported_by_discovery(tmp_path):
    dist_info(tmp_path, "plug_x", "1.0", "[gym.envs]\nx-v0 = pkg:Env\n")
    found = discover("gym", path=[str(tmp_path)], disable="Plug.X")
    assert found.is_disabled(found.declarations[0].dist)


def test_entry_points_text_parser_is_tolerant():
    text = "# comment\n[gym.envs]\n; also a comment\nA = b:c\nnonsense\n[other]\nB = x:y\n"
    assert list(parse_entry_points_text(text, "gym.envs")) == [("A ", " b:c", "A = b:c"), (None, None, "nonsense")]
