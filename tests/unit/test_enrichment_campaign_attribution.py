"""campaign_attribution: mkt_* fields from the page URL, with Enrich's documented defaults and configured lists."""

from __future__ import annotations

import pytest

from tests.unit.enrichment_support import build, run

UTM = {
    "mktMedium": ["utm_medium"],
    "mktSource": ["utm_source"],
    "mktTerm": ["utm_term"],
    "mktContent": ["utm_content"],
    "mktCampaign": ["utm_campaign"],
}
# Enrich's documented example for SiteCatalyst-style campaigns: several names per field, first present wins.
OMNITURE = {**UTM, "mktCampaign": ["cid", "utm_campaign"], "mktSource": ["utm_source", "src"]}
CUSTOM_CLICKS = {**UTM, "mktClickId": {"customclid": "Custom Network", "gclid": "Renamed Google"}}

CASES = [
    (
        "Google Analytics parameters",
        UTM,
        "http://www.example.com?utm_source=GoogleSearch&utm_medium=cpc&utm_term=native+american+tarot+deck"
        "&utm_content=39254295088&utm_campaign=uk-tarot--native-american",
        {
            "mkt_medium": "cpc",
            "mkt_source": "GoogleSearch",
            "mkt_term": "native american tarot deck",
            "mkt_content": "39254295088",
            "mkt_campaign": "uk-tarot--native-american",
        },
    ),
    (
        "Omniture cid",
        OMNITURE,
        "http://www.example.com?cid=uk-tarot--native-american",
        {"mkt_campaign": "uk-tarot--native-american"},
    ),
    (
        "first listed name wins",
        OMNITURE,
        "http://www.example.com?utm_campaign=second&cid=first&src=s2&utm_source=s1",
        {"mkt_campaign": "first", "mkt_source": "s1"},
    ),
    (
        "gclid by default",
        UTM,
        "http://www.example.com?gclid=abc123",
        {"mkt_clickid": "abc123", "mkt_network": "Google"},
    ),
    ("msclkid by default", UTM, "http://www.example.com?msclkid=m1", {"mkt_clickid": "m1", "mkt_network": "Microsoft"}),
    ("dclid by default", UTM, "http://www.example.com?dclid=d1", {"mkt_clickid": "d1", "mkt_network": "DoubleClick"}),
    (
        "configured click id",
        CUSTOM_CLICKS,
        "http://x.com/?customclid=c9",
        {"mkt_clickid": "c9", "mkt_network": "Custom Network"},
    ),
    (
        "renamed default network",
        CUSTOM_CLICKS,
        "http://x.com/?gclid=g",
        {"mkt_clickid": "g", "mkt_network": "Renamed Google"},
    ),
    ("percent-encoded value", UTM, "http://x.com/?utm_term=caf%C3%A9%20cr%C3%A8me", {"mkt_term": "café crème"}),
    ("no query", UTM, "http://www.example.com/page", {}),
    ("unrelated parameters", UTM, "http://www.example.com/?q=1&source=x", {}),
]


@pytest.mark.parametrize(("fields", "url", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_mkt_fields_from_the_page_url(make_request, fields, url, expected):
    version = "1-0-1" if "mktClickId" in fields else "1-0-0"
    enrichment = build("campaign_attribution", version, {"mapping": "static", "fields": fields})
    event = {"page_url": url}
    run(enrichment, event, make_request())
    assert {name: value for name, value in event.items() if name.startswith("mkt_")} == expected


def test_an_event_without_a_page_url_is_left_alone(make_request):
    event: dict = {"event": "struct"}
    run(build("campaign_attribution", "1-0-0", {"fields": UTM}), event, make_request())
    assert event == {"event": "struct"}
