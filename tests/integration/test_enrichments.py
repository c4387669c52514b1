"""The service with a folder of real-format Enrich configs (data files downloaded at start-up from a local
HTTP server), events sent by the official Python tracker, every enriched field checked in data/good:
in JSON, and in TSV read back with the Python Analytics SDK."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from snowplow_analytics_sdk.event_transformer import transform
from snowplow_tracker import Emitter, SelfDescribingJson, Subject, Tracker
from snowplow_tracker.events import PageView

from tests.conftest import Collector, serve_folder
from tests.enrichment_data import CLIENT_IP, write_maxmind_databases, write_referer_database
from tests.integration.http_support import assert_valid_bad_row
from tests.unit.enrichment_support import config_document

CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_3) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/33.0.1750.152 Safari/537.36"
)
PAGE_URL = (
    "https://shop.example/boots?utm_source=newsletter&utm_medium=email&utm_term=winter+boots"
    "&utm_content=hero&utm_campaign=sale-2026&gclid=Cj0KCQ&_sp=d-9f1c.1697175843762"
)
REFERRER = "https://www.google.com/search?q=winter+boots"
HEADERS = {"X-Forwarded-For": CLIENT_IP, "Cookie": "_ga=GA1.2.345; theme=dark", "X-Tenant": "acme"}
FIELDS = {
    "geo_country": "US",
    "geo_region": "CA",
    "geo_region_name": "California",
    "geo_city": "San Francisco",
    "geo_zipcode": "94103",
    "geo_latitude": 37.7758,
    "geo_longitude": -122.4128,
    "geo_timezone": "America/Los_Angeles",
    "ip_isp": "Acme Fibre",
    "ip_organization": "Acme Corp",
    "ip_domain": "acme.example",
    "ip_netspeed": "Cable/DSL",
    "user_ipaddress": "198.51.x.x",  # anon_ip, after the lookups
    "refr_medium": "search",
    "refr_source": "Google",
    "refr_term": "winter boots",
    "mkt_medium": "email",
    "mkt_source": "newsletter",
    "mkt_term": "winter boots",
    "mkt_content": "hero",
    "mkt_campaign": "sale-2026",
    "mkt_clickid": "Cj0KCQ",
    "mkt_network": "Google",
}
UA_CONTEXT = {
    "useragentFamily": "Chrome",
    "useragentMajor": "33",
    "useragentMinor": "0",
    "useragentPatch": "1750",
    "useragentVersion": "Chrome 33.0.1750",
    "osFamily": "Mac OS X",
    "osMajor": "10",
    "osMinor": "9",
    "osPatch": "3",
    "osPatchMinor": None,
    "osVersion": "Mac OS X 10.9.3",
    "deviceFamily": "Mac",
}
IGLU = "iglu:com.snowplowanalytics.snowplow"
SALT = "pepper123"
USER_ID = "alice@example.com"
# The Analytics SDK's names for shredded (derived) contexts: contexts_<vendor>_<name>_<model>.
SDK_KEYS = {
    "contexts_com_snowplowanalytics_snowplow_ua_parser_context_1": "ua_parser_context",
    "contexts_com_snowplowanalytics_snowplow_asn_1": "asn",
    "contexts_org_ietf_http_cookie_1": "http_cookie",
    "contexts_org_ietf_http_header_1": "http_header",
    "contexts_com_iab_snowplow_spiders_and_robots_1": "spiders_and_robots",
    "contexts_com_snowplowanalytics_snowplow_bot_detection_1": "bot_detection",
    "contexts_com_snowplowanalytics_snowplow_cross_navigation_1": "cross_navigation",
}


def write_configs(folder: Path, data_url: str) -> Path:
    folder.mkdir(parents=True)
    utm = {f"mkt{part}": [f"utm_{part.lower()}"] for part in ("Medium", "Source", "Term", "Content", "Campaign")}
    maxmind = {
        "geo": "GeoIP2-City.mmdb",
        "isp": "GeoIP2-ISP.mmdb",
        "domain": "GeoIP2-Domain.mmdb",
        "connectionType": "GeoIP2-Connection-Type.mmdb",
        "asn": "GeoLite2-ASN.mmdb",
    }
    configs = [
        (
            "ip_lookups",
            "2-0-1",
            {kind: {"database": name, "uri": f"{data_url}/maxmind"} for kind, name in maxmind.items()},
        ),
        ("asn_lookups", "1-0-0", {"botAsns": [{"asn": 64500, "name": "ACME-AS"}]}),
        ("anon_ip", "1-0-1", {"anonOctets": 2, "anonSegments": 4}),
        ("ua_parser_config", "1-0-0", {}),
        (
            "referer_parser",
            "2-0-0",
            {"internalDomains": ["shop.example"], "database": "referers-latest.json", "uri": f"{data_url}/referers/"},
        ),
        ("campaign_attribution", "1-0-1", {"mapping": "static", "fields": utm}),
        ("cross_navigation_config", "1-0-0", None),
        (
            "event_fingerprint_config",
            "1-0-1",
            {"excludeParameters": ["eid", "stm", "dtm", "cv", "nuid"], "hashAlgorithm": "SHA256"},
        ),
        ("cookie_extractor_config", "1-0-0", {"cookies": ["_ga", "sp"]}),
        ("http_header_extractor_config", "1-0-0", {"headersPattern": "X-Tenant|X-Forwarded-For"}),
        (
            "iab_spiders_and_robots_enrichment",
            "1-0-0",
            {
                "ipFile": {"database": "ip_exclude_current_cidr.txt", "uri": f"{data_url}/iab"},
                "excludeUseragentFile": {"database": "exclude_current.txt", "uri": f"{data_url}/iab"},
                "includeUseragentFile": {"database": "include_current.txt", "uri": f"{data_url}/iab"},
            },
        ),
        (
            "bot_detection_enrichment_config",
            "1-0-1",
            {"useYauaa": False, "useIab": True, "useAsnLookups": True, "useClientSideDetection": True},
        ),
        (
            "pii_enrichment_config",
            "2-0-0",
            {
                "pii": [
                    {"pojo": {"field": "user_id"}},
                    {
                        "json": {
                            "field": "contexts",
                            "schemaCriterion": f"{IGLU}/client_session/jsonschema/1-*-*",
                            "jsonPath": "$.userId",
                        }
                    },
                ],
                "strategy": {"pseudonymize": {"hashFunction": "SHA-256", "salt": SALT}},
            },
        ),
    ]
    for name, version, parameters in configs:
        document = config_document(name, version, parameters)
        if name == "pii_enrichment_config":
            document["data"]["emitEvent"] = False  # required by the PII config schema
        (folder / f"{name}.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return folder


@pytest.fixture
def start(tmp_path, collector_factory):
    """start(output_format, **env) → a collector with every enrichment of the folder above, its data files fetched over HTTP."""
    served = tmp_path / "served"
    write_maxmind_databases(served / "maxmind")
    write_referer_database(served / "referers")
    (served / "iab").mkdir()  # the IAB's formats, with made-up entries (the real lists are licensed)
    (served / "iab" / "ip_exclude_current_cidr.txt").write_text("192.0.2.0/24\n")
    (served / "iab" / "include_current.txt").write_text("mozilla|1\n")
    (served / "iab" / "exclude_current.txt").write_text("bot|1||0|2|0\n")
    with serve_folder(served) as data_url:
        configs = write_configs(tmp_path / "enrichments", data_url)

        def start(output_format: str, **env: str) -> Collector:
            env |= {
                "COLLECTOR_ENRICHMENTS_DIR": str(configs),
                "COLLECTOR_ENRICHMENTS_CACHE_DIR": str(tmp_path / "cache"),
                "COLLECTOR_OUTPUT_FORMAT": output_format,
            }
            return collector_factory(env=env)

        yield start


def track_page_view(
    collector: Collector, headers: dict[str, str], context: list[SelfDescribingJson] | None = None
) -> str:
    session = requests.Session()
    session.headers.update(headers)
    failures: list[Any] = []
    emitter = Emitter(
        "127.0.0.1",
        protocol="http",
        port=collector.port,
        method="get",
        session=session,
        batch_size=1,
        on_failure=lambda sent, unsent: failures.append(unsent),
    )
    tracker = Tracker(
        "enrich",
        emitter,
        subject=Subject().set_useragent(CHROME).set_platform("web").set_user_id(USER_ID),
        app_id="shop",
    )
    event_id = tracker.track(PageView(page_url=PAGE_URL, page_title="Boots", referrer=REFERRER, context=context))
    tracker.flush()
    assert failures == []
    return event_id


def good_events(collector: Collector, output_format: str) -> list[dict[str, Any]]:
    lines = [
        line
        for path in sorted((collector.data_dir / "good").glob("*.jsonl*" if output_format == "json" else "*.tsv*"))
        for line in path.read_text().splitlines()
    ]
    if output_format == "json":
        return [orjson.loads(line) for line in lines]
    return [transform(line) for line in lines]


def derived(event: dict[str, Any], output_format: str) -> dict[str, list[dict[str, Any]]]:
    """Derived entities by schema name, from the JSON event or as the Analytics SDK shreds them from TSV."""
    if output_format == "json":
        by_name: dict[str, list[dict[str, Any]]] = {}
        for entity in event["derived_contexts"]["data"]:
            by_name.setdefault(entity["schema"].split("/")[1], []).append(entity["data"])
        return by_name
    return {name: event[key] for key, name in SDK_KEYS.items() if key in event}


@pytest.mark.parametrize("output_format", ["json", "tsv"])
def test_every_enriched_field_of_a_tracker_event(start, output_format):
    collector = start(output_format)
    event_id = track_page_view(collector, HEADERS)
    assert collector.bad() == []
    [event] = good_events(collector, output_format)
    assert event["event_id"] == event_id
    assert {name: event.get(name) for name in FIELDS} == FIELDS
    assert re.fullmatch(r"[0-9a-f]{64}", event["event_fingerprint"])
    assert event["user_id"] == hashlib.sha256(f"{USER_ID}{SALT}".encode()).hexdigest()  # PII, last
    entities = derived(event, output_format)
    assert entities["ua_parser_context"] == [UA_CONTEXT]
    assert entities["asn"] == [{"number": 64500, "organization": "ACME-AS", "likelyBot": True}]
    assert entities["spiders_and_robots"] == [
        {"spiderOrRobot": False, "category": "BROWSER", "reason": "PASSED_ALL", "primaryImpact": "NONE"}
    ]
    assert entities["bot_detection"] == [{"bot": True, "indicators": ["asnLookups"]}]
    assert entities["cross_navigation"] == [{"domain_user_id": "d-9f1c", "timestamp": "2023-10-13T05:44:03.762Z"}]
    assert entities["http_cookie"] == [{"name": "_ga", "value": "GA1.2.345"}]
    assert {(h["name"], h["value"]) for h in entities["http_header"]} == {
        ("x-forwarded-for", CLIENT_IP),
        ("x-tenant", "acme"),
    }


def test_sp_anonymous_keeps_no_ip_derived_field_but_the_country_asked_for(start):
    collector = start("json", COLLECTOR_ANONYMOUS_GEO="country")
    track_page_view(collector, {**HEADERS, "SP-Anonymous": "*"})
    [event] = good_events(collector, "json")
    ip_derived = {name for name in event if name.startswith(("geo_", "ip_"))} | {"user_ipaddress", "network_userid"}
    assert {name: event.get(name) for name in ip_derived} == {
        "geo_country": "US",
        "user_ipaddress": None,
        "network_userid": None,
    }
    entities = derived(event, "json")
    assert "asn" not in entities
    assert "http_cookie" in entities and entities["http_header"] == [{"name": "x-tenant", "value": "acme"}]
    assert event["refr_source"] == "Google" and event["mkt_campaign"] == "sale-2026"  # not IP-based: still there


def test_an_event_an_enrichment_fails_on_is_an_enrichment_failures_bad_row(start):
    collector = start("json")
    session = {
        "userId": str(uuid.uuid4()),
        "sessionId": str(uuid.uuid4()),
        "sessionIndex": 1,
        "previousSessionId": None,
        "storageMechanism": "COOKIE_1",
    }
    # PII would turn the uuid userId into a hash its schema refuses: this event fails, the next one does not.
    failed_id = track_page_view(
        collector, HEADERS, [SelfDescribingJson(f"{IGLU}/client_session/jsonschema/1-0-1", session)]
    )
    good_id = track_page_view(collector, HEADERS)
    assert [event["event_id"] for event in good_events(collector, "json")] == [good_id]
    [row] = collector.bad()
    assert_valid_bad_row(row)
    assert row["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/enrichment_failures/jsonschema/2-0-0"
    [message] = row["data"]["failure"]["messages"]
    assert message["enrichment"] == {
        "schemaKey": "iglu:com.snowplowanalytics.snowplow.enrichments/pii_enrichment_config/jsonschema/2-0-0",
        "identifier": "pii_enrichment_config",
    }
    assert message["message"]["field"] == "contexts"
    assert message["message"]["value"] == f"{IGLU}/client_session/jsonschema/1-0-1"
    assert row["data"]["payload"]["enriched"]["event_id"] == failed_id
