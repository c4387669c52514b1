"""referer_parser: refr_medium / refr_source / refr_term with Snowplow's referer database (the JSON copy
shipped in the PyPI package referer-parser), read from the file the config names."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from tests.unit.enrichment_support import build, run

DATABASE = Path(str(files("referer_parser") / "data" / "referers.json"))
PAGE_HOST = "www.snowplowanalytics.com"

CASES = [
    (
        "Google search",
        "http://www.google.com/search?q=gateway+oracle+cards+denise+linn&hl=en&client=safari",
        ("search", "Google", "gateway oracle cards denise linn"),
    ),
    (
        "Google, country domain",
        "https://www.google.co.uk/url?q=snowplow+enrich",
        ("search", "Google", "snowplow enrich"),
    ),
    (
        "Bing",
        "http://www.bing.com/search?q=psychic+oracle+cards&go=&form=QBRE",
        ("search", "Bing", "psychic oracle cards"),
    ),
    ("search without a term", "http://www.google.com/", ("search", "Google", None)),
    ("social", "http://www.facebook.com/l.php?u=http%3A%2F%2Fwww.snowplowanalytics.com", ("social", "Facebook", None)),
    ("subdomain falls back to its domain", "https://m.facebook.com/story", ("social", "Facebook", None)),
    ("email", "https://mail.google.com/mail/u/0/", ("email", "Gmail", None)),
    ("unknown site", "http://www.some-blog.example/article", ("unknown", None, None)),
    ("same host as the page", f"http://{PAGE_HOST}/about", ("internal", None, None)),
    ("an internal domain", "https://blog.acme.example/post", ("internal", None, None)),
    (
        "configured extra referer",
        "https://search.acme-engine.example/find?query=boots",
        ("search", "Acme Engine", "boots"),
    ),
]


@pytest.fixture(scope="module")
def parser(tmp_path_factory):
    parameters = {
        "internalDomains": ["blog.acme.example"],
        "database": DATABASE.name,
        "uri": DATABASE.parent.as_uri(),
        "referrers": {"search": {"Acme Engine": {"domains": ["search.acme-engine.example"], "parameters": ["query"]}}},
    }
    return build("referer_parser", "2-0-1", parameters, tmp=tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize(("referer", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_refr_fields(parser, make_request, referer, expected):
    event = {"page_referrer": referer, "page_urlhost": PAGE_HOST}
    run(parser, event, make_request())
    assert (event.get("refr_medium"), event.get("refr_source"), event.get("refr_term")) == expected


@pytest.mark.parametrize("referer", ["android-app://com.google.android.gm/", "not a url", "http://[::1"])
def test_referers_that_are_not_web_urls_are_not_classified(parser, make_request, referer):
    event = {"page_referrer": referer}
    run(parser, event, make_request())
    assert "refr_medium" not in event
