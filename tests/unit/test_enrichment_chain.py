"""The configured chain over one event: derived contexts wrapped once, the tracker's `ip` preferred to the
request's address, values an enrichment writes kept TSV-safe and within the atomic schema's lengths, and
no input — however malformed — making an enrichment raise."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.enrich import Enricher
from app.enrichments import EnrichmentSettings, build_enrichments
from app.privacy import IpMask
from app.schemas import CONTEXTS_OUT as CONTEXTS
from app.wiring import settings_view
from tests.enrichment_data import CLIENT_IP, write_maxmind_databases, write_referer_database
from tests.unit.enrichment_support import config_document

UTM = {f"mkt{part}": [f"utm_{part.lower()}"] for part in ("Medium", "Source", "Term", "Content", "Campaign")}


def write_folder(folder: Path) -> Path:
    data = folder / "data"
    write_maxmind_databases(data)
    write_referer_database(data)
    configs = [
        (
            "ip_lookups",
            "2-0-1",
            {
                "geo": {"database": "GeoIP2-City.mmdb", "uri": data.as_uri()},
                "asn": {"database": "GeoLite2-ASN.mmdb", "uri": data.as_uri()},
            },
        ),
        ("anon_ip", "1-0-0", {"anonOctets": 1}),
        ("ua_parser_config", "1-0-0", {}),
        ("referer_parser", "2-0-0", {"internalDomains": [], "database": "referers-latest.json", "uri": data.as_uri()}),
        ("campaign_attribution", "1-0-0", {"fields": UTM}),
        ("event_fingerprint_config", "1-0-0", {"excludeParameters": [], "hashAlgorithm": "MD5"}),
        ("cookie_extractor_config", "1-0-0", {"cookies": ["a"]}),
        ("http_header_extractor_config", "1-0-0", {"headersPattern": ".*"}),
    ]
    configs_folder = folder / "configs"
    configs_folder.mkdir()
    for name, version, parameters in configs:
        (configs_folder / f"{name}.json").write_bytes(orjson.dumps(config_document(name, version, parameters)))
    return configs_folder


@pytest.fixture(scope="module")
def chain(tmp_path_factory, registry):
    folder = tmp_path_factory.mktemp("chain")
    settings = Settings(
        data_dir=folder / "out", enrichments_dir=write_folder(folder), enrichments_cache_dir=folder / "cache"
    )
    limits = Enricher(registry, "c", "file", IpMask(0, 0)).max_lengths
    view = settings_view(EnrichmentSettings, settings)
    return build_enrichments(view, registry, lambda request: CLIENT_IP, str, limits)


def test_the_tracker_ip_wins_and_derived_contexts_are_one_contexts_json(chain, make_request):
    event = {"user_ipaddress": "203.0.113.5", "useragent": "Mozilla/5.0"}
    assert chain.apply(event, {"ip": "203.0.113.5"}, make_request(), False) == []
    assert "geo_country" not in event  # the tracker's address is not in the databases; the request's is
    assert event["user_ipaddress"] == "203.0.113.x"
    assert event["derived_contexts"]["schema"] == CONTEXTS
    event = {"user_ipaddress": CLIENT_IP}
    chain.apply(event, {}, make_request(), False)
    assert event["geo_country"] == "US"


def test_values_from_the_query_are_made_tsv_safe(chain, make_request):
    event = {"page_url": "https://shop.example/?utm_term=winter%09boots%0A&utm_source=a%00b"}
    assert chain.apply(event, {}, make_request(), False) == []
    assert (event["mkt_term"], event["mkt_source"]) == ("winter    boots", "ab")


def test_a_value_longer_than_the_atomic_schema_allows_fails_the_event(chain, make_request):
    event = {"page_url": "https://shop.example/?utm_campaign=" + "x" * 300}
    [failure] = chain.apply(event, {}, make_request(), False)
    assert failure.message == {
        "enrichment": None,
        "message": {"field": "mkt_campaign", "value": "x" * 300, "expectation": "at most 255 characters, not 300"},
    }


text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=text, referrer=text, user_agent=text, ip=text, cookie=text, header=text)
def test_no_input_makes_an_enrichment_raise(chain, make_request, url, referrer, user_agent, ip, cookie, header):
    event = {"page_url": url, "page_referrer": referrer, "useragent": user_agent, "user_ipaddress": ip}
    request = make_request(headers={"Cookie": cookie, "X-Anything": header})
    failures = chain.apply(event, {"ip": ip, "url": url}, request, False)
    assert all(failure.message["message"]["field"] for failure in failures)
    orjson.dumps(event)
