"""One settings module reads every GYMPLUG_* variable; the startup shim's own reading agrees with it."""

from __future__ import annotations

import logging

import pytest

import _gymplug_startup
from gymplug._hosts import HOSTS
from gymplug._settings import VARIABLES, Settings, switch_on


@pytest.mark.parametrize("value", [None, "", "1", "yes", "on", "0", "false", " No ", "OFF", "2"])
def test_the_shim_reads_gymplug_autoload_by_the_settings_rule(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("GYMPLUG_AUTOLOAD", raising=False)
    else:
        monkeypatch.setenv("GYMPLUG_AUTOLOAD", value)
    assert _gymplug_startup.autoload_enabled() is Settings.from_environ().autoload is switch_on(value)


def test_the_shim_hooks_the_modules_the_host_facts_name():
    expected = {}
    for name, facts in HOSTS.items():
        expected[facts.registration_module] = (name, "registration")
        expected[facts.envs_module] = (name, "envs")
    assert _gymplug_startup.HOOKED == expected


def test_every_variable_is_documented_and_read():
    settings = Settings.from_environ({
        "GYMPLUG_AUTOLOAD": "0", "GYMPLUG_CACHE": "0", "GYMPLUG_LEARN": "0",
        "GYMPLUG_DISABLE": "Gym_Foo, other;x", "GYMPLUG_CACHE_DIR": "relative/dir",
    })
    assert (settings.autoload, settings.cache, settings.learn) == (False, False, False)
    assert settings.disable == {"gym-foo", "other;x"} and settings.disable_raw == ("Gym_Foo", "other;x")
    assert settings.cache_dir is None  # a relative path would land under the current directory
    assert set(VARIABLES) == {"GYMPLUG_AUTOLOAD", "GYMPLUG_DISABLE", "GYMPLUG_CACHE", "GYMPLUG_CACHE_DIR",
                              "GYMPLUG_LEARN"}


def test_verbose_log_lines_escape_terminal_control_characters(capsys):
    from gymplug.cli._main import _EscapingFormatter

    record = logging.LogRecord("gymplug.x", logging.WARNING, __file__, 1, "plugin says %s", ("\x1b[2J\x07hi",), None)
    line = _EscapingFormatter("%(message)s").format(record)
    assert "\x1b" not in line and "\x07" not in line and "\\x1b[2J\\x07hi" in line


def test_settings_compare_copy_and_pickle_by_value(monkeypatch):
    """Settings is a plain class (cheaper to build at a host's import than a NamedTuple): it keeps the
    NamedTuple's contract that discovery, the learned store and the tests rely on."""
    import copy
    import pickle

    monkeypatch.setenv("GYMPLUG_DISABLE", " gym_Foo, bar.baz  qux ")
    monkeypatch.setenv("GYMPLUG_LEARN", "off")
    settings = Settings.from_environ()
    assert settings.disable == frozenset({"gym-foo", "bar-baz", "qux"})
    assert settings.disable_raw == ("gym_Foo", "bar.baz", "qux") and settings.learn is False
    assert settings == Settings.from_environ() and hash(settings) == hash(Settings.from_environ())
    changed = settings._replace(learn=True)
    assert changed.learn is True and changed.disable == settings.disable and changed != settings
    assert settings.learn is False  # the original is untouched
    assert pickle.loads(pickle.dumps(settings)) == settings == copy.copy(settings)
    assert "learn=False" in repr(settings)
    with pytest.raises(TypeError):
        settings._replace(no_such_field=1)
    monkeypatch.delenv("GYMPLUG_DISABLE")
    assert Settings.from_environ().disable == frozenset() and Settings.from_environ().disable_raw == ()
