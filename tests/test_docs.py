"""The documentation's examples run: python blocks marked `<!-- test: run -->` in README.md."""

from __future__ import annotations

import re

import pytest

from helpers import HOST, ROOT

MARKED = re.compile(r"<!-- test: run -->\s*```python\n(.*?)```", re.S)


def marked_blocks() -> list[str]:
    return MARKED.findall((ROOT / "README.md").read_text())


def test_readme_has_marked_examples():
    assert marked_blocks()


@pytest.mark.parametrize("index", range(len(marked_blocks())))
def test_readme_example_runs(venv, index):
    code = marked_blocks()[index]
    if "import gymnasium" in code and HOST != "gymnasium":
        pytest.skip("a Gymnasium example")
    proc = venv.run_python(code)
    assert proc.returncode == 0
