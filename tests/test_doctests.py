"""The examples in gymplug's docstrings hold: a subtle rule is shown there (``provides``, ``relevance``)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import gymplug


def _with_examples() -> list[str]:
    """The modules whose source shows an example (``>>>``); the child's and workers' programs are run, not imported."""
    names = []
    for info in pkgutil.walk_packages(gymplug.__path__, "gymplug."):
        spec = importlib.util.find_spec(info.name)
        origin = getattr(spec, "origin", None) or ""
        if origin.endswith(".py") and not info.name.endswith(("._child", "._worker")):
            with open(origin, encoding="utf-8") as file:
                if ">>>" in file.read():
                    names.append(info.name)
    return sorted(names)


MODULES = _with_examples()


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_docstrings_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_subtle_rules_have_examples() -> None:
    from gymplug import _entries
    from gymplug._learning import _learn

    for function in (_entries.provides, _learn.relevance):
        assert ">>>" in (function.__doc__ or ""), function.__name__
