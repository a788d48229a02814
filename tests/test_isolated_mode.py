"""What SECURITY.md says about `python -I` and `-S`, checked in a real virtual environment."""

from __future__ import annotations

import json

import pytest

from helpers import HOST, run

pytestmark = pytest.mark.integration

PROBE = "import json, sys; print(json.dumps('_gymplug_startup' in sys.modules))"


def test_isolated_mode_still_runs_the_startup_hook(venv):
    # -I implies -E -P -s, not -S: site-packages .pth files (gymplug.pth among them) are processed.
    proc = run([venv.python, "-I", "-c", PROBE], timeout=120)
    assert json.loads(proc.stdout) is True
    made = run([venv.python, "-I", "-c", f"import {HOST} as host; print(host.make('foo-v0').spec.id)"], timeout=300)
    assert made.stdout.split()[-1] == "foo-v0"


def test_no_site_mode_skips_the_startup_hook(venv):
    proc = run([venv.python, "-S", "-c", PROBE], timeout=120)
    assert json.loads(proc.stdout) is False
