"""The README's browser-tracker snippet, run in headless Chromium against the real service: pasted
into a page (its import resolved to the tracker's build, as a bundler would), it stores its event.

tests/integration/test_readme_snippets.py runs the other runnable blocks; this one needs the browser.
"""

from __future__ import annotations

import pytest
from node_driver import run_node

from tests.conftest import ROOT

README = ROOT / "README.md"
MARKER = "<!-- runnable: browser -->\n```js\n"
EXAMPLE_COLLECTOR = "https://collector.acme.com"


def browser_snippets() -> list[str]:
    return [block.split("\n```", 1)[0] for block in README.read_text().split(MARKER)[1:]]


@pytest.mark.parametrize("code", browser_snippets())
def test_browser_snippet_stores_its_page_view(page_origin, collector, code):
    assert EXAMPLE_COLLECTOR in code
    pasted = code.replace(EXAMPLE_COLLECTOR, collector.url)
    report = run_node("readme_snippet.mjs", {"page": f"{page_origin}/", "collector": collector.url, "code": pasted})
    assert report == {"method": "POST", "status": 200}
    [event] = collector.good()
    assert event["event"] == "page_view" and event["app_id"] == "shop"
    assert event["v_tracker"].startswith("js-")
    entities = {entity["schema"].split("/")[1] for entity in event["contexts"]["data"]}
    assert "client_session" in entities, entities  # the snippet's `contexts: { session: true }`, validated
    assert collector.bad() == []


def test_the_readme_has_a_browser_snippet():
    assert len(browser_snippets()) == 1
