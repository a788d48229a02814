"""Property-based tests: any entry text gives a declaration or a clear problem; ids are handled totally."""

import sys

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gymplug import Declaration, Distribution, EntryProblem, Form
from gymplug._entries import _fast_section, parse_entry, parse_entry_points, parse_entry_points_text, printable, split_env_id

DIST = Distribution("prop-dist", "0.0.1")
TEXT = st.text(max_size=60)
IDENTIFIER = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


@settings(max_examples=500)
@given(name=TEXT, value=TEXT, group=st.sampled_from(["gym.envs", "gymnasium.envs"]))
def test_any_entry_is_a_declaration_or_a_problem(name, value, group):
    parsed = parse_entry(DIST, group, name, value)
    assert isinstance(parsed, (Declaration, EntryProblem))
    described = parsed.describe()
    assert "prop-dist 0.0.1" in described and described.isprintable()
    if isinstance(parsed, EntryProblem):
        assert parsed.reason
    elif parsed.form is Form.ENV:
        assert split_env_id(parsed.env_id) is not None and parsed.attr and "." not in parsed.attr
    else:
        assert parsed.namespace is None or "/" not in parsed.namespace


@given(module=st.lists(IDENTIFIER, min_size=1, max_size=3).map(".".join), attr=IDENTIFIER,
       name=IDENTIFIER, namespace=st.one_of(st.none(), IDENTIFIER), version=st.integers(0, 10**6))
def test_well_formed_env_entries_round_trip(module, attr, name, namespace, version):
    env_id = f"{namespace}/{name}-v{version}" if namespace else f"{name}-v{version}"
    parsed = parse_entry(DIST, "gym.envs", env_id, f"{module}:{attr}")
    assert isinstance(parsed, Declaration) and parsed.form is Form.ENV
    assert (parsed.env_id, parsed.module, parsed.attr) == (env_id, module, attr)
    assert split_env_id(env_id) == (namespace, name, version)


@given(TEXT)
def test_split_env_id_never_raises(text):
    parsed = split_env_id(text)
    assert parsed is None or (isinstance(parsed[1], str) and (parsed[2] is None or parsed[2] >= 0))


@given(st.text(max_size=300))
def test_entry_points_text_parser_never_raises(text):
    for name, value, line in parse_entry_points_text(text, "gym.envs"):
        assert (name is None) == (value is None) and isinstance(line, str)


@given(TEXT)
def test_printable_is_printable_and_idempotent_on_printable_text(text):
    shown = printable(text)
    assert shown.isprintable() or set(shown) <= set(" ") | {c for c in shown if c.isprintable()}
    if text.isprintable():
        assert shown == text


LINES = st.lists(
    st.one_of(
        st.sampled_from(["", "  ", "# note", "; note", "[gym.envs]", "[ gym.envs ]", "[other]", "[bad", "x", "=",
                         "foo-v0 = pkg.mod:Env", "  Ns/bar-v2=pkg:make  ", "Grid = pkg.plugin", "a-v0 = pkg:A.b",
                         "dup-v0 = x:Y\r", "ü-v1 = m:C", "-v0 = m:C", "k-v0 = gym.envs:X"]),
        st.text(alphabet="ab-v0=: \t.[]/#\r\x0b\u2028", max_size=20),
    ),
    max_size=12,
)


@settings(max_examples=1000)
@given(LINES, st.booleans())
# Line breaks that str.splitlines (and importlib) knows and '\n' splitting does not: once found with seed 8.
@example(["[gym.envs]", "[\r]"], False)
@example(["[gym.envs]", "[\u2028]"], False)
@example(["[gym.envs]", "a-v0 = m:E\x0cb-v0 = m:E"], True)
@example(["[gym.envs]", "a-v0 = m:E", "[other]\x85b-v0 = m:E"], False)
@example(["[gym.envs]", "a-v0 = m : E", "[[gym.envs]]", "b-v0 = m:E"], True)
def test_the_fast_section_parser_agrees_with_the_careful_one(lines, final_newline):
    text = "\n".join(lines) + ("\n" if final_newline else "")
    fast = _fast_section(text, "gym.envs")
    if fast is not None:
        careful = [(name and name.strip(), value and value.strip())
                   for name, value, _ in parse_entry_points_text(text, "gym.envs")]
        assert fast == careful
        assert all(parse_entry(DIST, "gym.envs", n, v).form is Form.ENV for n, v in fast)
    declarations, problems = parse_entry_points(DIST, "gym.envs", text)
    slow = [parse_entry(DIST, "gym.envs", n, v) if n is not None else None
            for n, v, _ in parse_entry_points_text(text, "gym.envs")]
    assert declarations == [p for p in slow if isinstance(p, Declaration)]
    assert len(problems) == sum(1 for p in slow if not isinstance(p, Declaration))


@settings(max_examples=500)
@given(LINES, st.booleans())
@example(["[[gym.envs]]", "a-v0 = m : E"], False)
@example(["[gym.envs]", "x\u2028[other]", "a-v0 = m:E"], True)
def test_entries_are_the_ones_importlib_reads(lines, final_newline):
    """Every well-formed entry gymplug reads is one importlib reads, in the same section, with the same value."""
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:  # the standard library's has no EntryPoints before 3.10: the backport gymplug requires there
        import importlib_metadata as metadata

    text = "\n".join(lines) + ("\n" if final_newline else "")
    declarations, _ = parse_entry_points(DIST, "gym.envs", text)
    try:
        theirs = [ep for ep in metadata.EntryPoints._from_text(text) if ep.group == "gym.envs"]
    except (TypeError, ValueError):  # importlib fails on a line without '=' in any section; gymplug reads on
        return
    valid = (ep for ep in theirs if ep.pattern.match(ep.value))
    pairs = {(ep.name, f"{ep.module}:{ep.attr}" if ep.attr else ep.module) for ep in valid}
    assert {(d.name, d.value) for d in declarations} <= pairs
