"""A gallery in a real browser: headless Chromium from the system's packages, driven by Playwright.

Runs in ``tox run -e browser`` (GYMPLUG_TEST_BROWSER names the browser; ``.ci/run`` installs it), where
the example plugins are installed and the gallery fixtures sit in a folder of their own, put on the
path of the first gallery only. GYMPLUG_TEST_SCREENSHOT: where to save the screenshot of the second
(the README's picture: ``GYMPLUG_TEST_SCREENSHOT=docs/gallery.png tox run -e browser``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import NEUTRAL_CWD, clean_env

BROWSER = os.environ.get("GYMPLUG_TEST_BROWSER")
FIXTURES = os.environ.get("GYMPLUG_TEST_GALLERY_FIXTURES")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not BROWSER, reason="tox run -e browser (GYMPLUG_TEST_BROWSER names the browser)"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
MARKUP_ENTRY = "<script>alert(3)</script>-v0"


def build(out: Path, *args: str, path: str = "") -> dict:
    """Run ``gymplug gallery`` of this tox environment; its gallery.json."""
    env = clean_env({"PYTHONPATH": path} if path else None)
    proc = subprocess.run([sys.executable, "-m", "gymplug", "gallery", "--out", str(out), *args], env=env,
                          cwd=NEUTRAL_CWD, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads((out / "gallery.json").read_text())


def expected_matches(data: dict, query: str) -> int:
    """How many cards the page should show for ``query``: the rule gallery.js applies."""
    words = query.lower().split()
    fields = ("id", "distribution", "host", "status", "observation_space", "action_space")
    texts = [" ".join(str(c[f]) for f in fields if c[f]).lower() for c in data["envs"]]
    return sum(1 for text in texts if all(w in text for w in words))


class Browser:
    """A page of headless Chromium with everything it requests, logs and pops up, recorded."""

    def __init__(self, context) -> None:
        self.context = context
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))
        self.page = context.pages[0] if context.pages else context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, site: Path) -> None:
        self.page.goto((site / "index.html").as_uri())
        self.page.wait_for_load_state("load")

    def shown(self) -> int:
        return self.page.locator("article.card:not([hidden])").count()

    def load_images(self) -> list[int]:
        """Scroll each preview into view (they load lazily) and wait for it; their natural widths."""
        widths = []
        for image in self.page.locator("article.card:not([hidden]) img").all():
            image.scroll_into_view_if_needed()
            self.page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=10_000)
            widths.append(image.evaluate("img => img.naturalWidth"))
        return widths


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=BROWSER, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 800}, timeout=60_000,
        )
        try:
            yield Browser(context)
        finally:
            context.close()


def test_the_page_in_chromium(chromium, tmp_path):
    if not FIXTURES:
        pytest.fail("GYMPLUG_TEST_GALLERY_FIXTURES names no folder (tox run -e browser sets it)")
    site = tmp_path / "site"
    data = build(site, "--steps", "12", "--timeout", "3", path=FIXTURES)
    ids = {c["id"] for c in data["envs"]}
    assert {"foo-v0", "Trouble/hang-v0", "Markup/script-v0", MARKUP_ENTRY} <= ids
    chromium.open(site)
    page = chromium.page
    assert page.locator("article.card").count() == len(data["envs"])
    widths = chromium.load_images()
    assert len(widths) == data["previews"] > 0 and all(w > 0 for w in widths), widths
    assert page.locator("h2.env-id", has_text=MARKUP_ENTRY).count() == 1  # the text, not a script
    assert "A docstring with <b>markup</b>" in page.locator("article.card", has_text="Markup/script-v0").inner_text()

    for query in ("tidy", "Discrete", "gymplug-foo box", "no such thing"):
        page.fill("#search", query)
        assert chromium.shown() == expected_matches(data, query), query
    assert page.locator("#nothing").is_visible()
    page.fill("#search", "")
    page.select_option("#distribution", "gp-fixture-gallery-troubles")
    assert chromium.shown() == sum(1 for c in data["envs"] if c["distribution"] == "gp-fixture-gallery-troubles")
    page.select_option("#distribution", "")
    assert chromium.shown() == len(data["envs"])

    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("article.card").first.bounding_box()["width"] > 300
    page.set_viewport_size({"width": 1280, "height": 800})

    assert chromium.errors == [] and chromium.dialogs == []
    inside = site.as_uri() + "/"
    assert chromium.requests and [url for url in chromium.requests if not url.startswith(inside)] == []


def test_screenshot_of_the_example_plugins_and_the_hosts_envs(chromium, tmp_path):
    site = tmp_path / "site"
    data = build(site, "--all", "--timeout", "10")
    assert {"foo-v0", "CartPole-v1"} <= {c["id"] for c in data["envs"] if c["preview"]}
    chromium.requests.clear()
    chromium.open(site)
    page = chromium.page
    page.fill("#search", "Discrete")  # the envs whose actions are discrete: those that made and show a preview
    assert chromium.shown() == expected_matches(data, "Discrete") > 4
    assert all(w > 0 for w in chromium.load_images())
    page.evaluate("window.scrollTo(0, 0)")
    target = Path(os.environ.get("GYMPLUG_TEST_SCREENSHOT") or tmp_path / "gallery.png")
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
    assert chromium.errors == [] and chromium.dialogs == []
    assert [url for url in chromium.requests if not url.startswith(site.as_uri() + "/")] == []
