"""gymplug's pytest plugin: parametrizes ``gymplug_env`` for gymplug.testing.ConformanceTests.

Registered through the ``pytest11`` entry point, so it stays tiny: it imports gymplug only in a
session that collects a test asking for ``gymplug_env``. Other projects pay for one small module.
"""

import pytest


def pytest_addoption(parser):
    parser.addini(
        "gymplug_distribution",
        "distribution whose environments ConformanceTests checks, when a test class sets none",
        default="",
    )


def pytest_generate_tests(metafunc):
    if "gymplug_env" not in metafunc.fixturenames:
        return
    cls = metafunc.cls
    distribution = getattr(cls, "distribution", "") or metafunc.config.getini("gymplug_distribution")
    host = getattr(cls, "host", None)
    if not distribution:
        params = [pytest.param(("", "", "set `distribution = 'your-dist'` on the test class"), id="no-distribution")]
    else:
        from gymplug.testing import declared_envs

        envs = declared_envs(distribution, host)
        params = [pytest.param((h, env_id, ""), id=f"{h}:{env_id}") for h, env_id in envs]
        if not params:
            where = host or "gym or gymnasium"
            why = f"{distribution} declares no environments for {where} here (is it installed in this environment?)"
            params = [pytest.param(("", "", why), id="no-environments")]
    metafunc.parametrize("gymplug_env", params, indirect=True)


@pytest.fixture
def gymplug_env(request):
    """(host, env id) of one environment of the distribution under test."""
    host, env_id, problem = request.param
    if problem:
        pytest.fail(f"gymplug conformance: {problem}", pytrace=False)
    return host, env_id
