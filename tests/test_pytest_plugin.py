"""gymplug's pytest plugin and gymplug.testing, driven with pytester against installed distributions.

tox installs gymplug-foo (conforming) and gp-fixture-sloppy (not) into the test environment.
"""

from __future__ import annotations

import pytest

from helpers import HOST

pytest_plugins = ["pytester"]

RULES = 8


def conformance_module(distribution: str, host: str = HOST) -> str:
    return (
        "from gymplug.testing import ConformanceTests\n\n\n"
        f"class TestPlugin(ConformanceTests):\n    distribution = {distribution!r}\n    host = {host!r}\n"
    )


def test_a_conforming_distribution_passes_every_rule(pytester):
    pytester.makepyfile(conformance_module("gymplug-foo"))
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=RULES)
    result.stdout.fnmatch_lines([f"*test_seeding?{HOST}:foo-v0? PASSED*"])


def test_failures_name_the_id_and_the_rule_with_a_hint(pytester):
    pytester.makepyfile(conformance_module("gp-fixture-sloppy"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 3
    result.stdout.fnmatch_lines(
        [
            "*sloppy-v0: rule 'seeding': two envs reset with seed=123 differ in their first observation*",
            "*hint: draw every random number from self.np_random*",
        ]
    )
    result.stdout.fnmatch_lines(["*sloppy-v0: rule 'observations in space': the observation of reset() is outside*"])
    result.stdout.fnmatch_lines(["*sloppy-v0: rule 'render modes': rgb_array render gave NoneType*"])


def test_the_distribution_can_come_from_the_ini_file(pytester):
    pytester.makeini("[pytest]\ngymplug_distribution = gymplug-foo\n")
    pytester.makepyfile("from gymplug.testing import ConformanceTests\n\nclass TestPlugin(ConformanceTests):\n    pass\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=RULES)


@pytest.mark.parametrize(
    ("distribution", "message"),
    [
        ("", "set `distribution = 'your-dist'` on the test class"),
        ("no-such-distribution", "no-such-distribution declares no environments"),
    ],
)
def test_nothing_to_check_is_a_clear_failure(pytester, distribution, message):
    pytester.makepyfile(conformance_module(distribution))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=RULES)  # a setup error of each test, saying why
    result.stdout.fnmatch_lines([f"*gymplug conformance: {message}*"])


def test_the_plugin_costs_nothing_when_unused(pytester):
    pytester.makepyfile(
        "import sys\n\n"
        "def test_gymplug_was_not_imported():\n"
        "    assert '_gymplug_pytest' in sys.modules  # registered through pytest11\n"
        "    assert 'gymplug' not in sys.modules\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error::pytest.PytestWarning")
    result.assert_outcomes(passed=1)
