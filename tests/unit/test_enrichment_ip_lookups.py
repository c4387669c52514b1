"""ip_lookups: MaxMind databases → geo_*, ip_* and the asn context, proven on databases written here in each
layout and on MaxMind's own published test databases (tests/unit/install.sh fetches them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.enrichments.base import EnrichmentConfigError, Setup
from app.enrichments.files import DataFileCache
from app.iglu import SchemaKey
from tests.enrichment_data import CLIENT_IP, CLIENT_IPV6, write_maxmind_databases
from tests.unit.enrichment_support import build, run

MAXMIND_TEST_DATA = Path(__file__).resolve().parent / "maxmind-test-data"
ASN_SCHEMA = "iglu:com.snowplowanalytics.snowplow/asn/jsonschema/1-0-0"
ALL_FIVE = {
    "geo": "GeoIP2-City.mmdb",
    "isp": "GeoIP2-ISP.mmdb",
    "domain": "GeoIP2-Domain.mmdb",
    "connectionType": "GeoIP2-Connection-Type.mmdb",
    "asn": "GeoLite2-ASN.mmdb",
}
OURS = {
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
}


def parameters(folder: Path, databases: dict[str, str]) -> dict:
    return {kind: {"database": database, "uri": folder.as_uri()} for kind, database in databases.items()}


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    folder = write_maxmind_databases(tmp_path_factory.mktemp("maxmind"))
    return build("ip_lookups", "2-0-1", parameters(folder, ALL_FIVE))


@pytest.mark.parametrize("ip", [CLIENT_IP, CLIENT_IPV6])
def test_every_field_from_databases_in_each_layout(ours, registry, make_request, ip):
    event: dict = {}
    outcome = run(ours, event, make_request(), client_ip=ip)
    assert event == OURS
    [asn] = outcome.entities
    assert asn == {"schema": ASN_SCHEMA, "data": {"number": 64500, "organization": "ACME-AS"}}
    assert registry.validate(SchemaKey.parse(ASN_SCHEMA), asn["data"]) is None


@pytest.mark.parametrize("ip", ["192.0.2.1", "not an address", None])
def test_an_unknown_or_invalid_address_fills_nothing(ours, make_request, ip):
    event: dict = {}
    assert run(ours, event, make_request(), client_ip=ip).entities == ()
    assert event == {}


@pytest.mark.parametrize(
    ("anonymous_geo", "expected"),
    [
        ("none", {}),
        ("country", {"geo_country": "US"}),
        ("region", {"geo_country": "US", "geo_region": "CA", "geo_region_name": "California"}),
    ],
)
def test_sp_anonymous_keeps_at_most_the_coarse_location_asked_for(tmp_path, make_request, anonymous_geo, expected):
    folder = write_maxmind_databases(tmp_path / "maxmind")
    setup = Setup(DataFileCache(tmp_path, 5.0, refresh=True), anonymous_geo=anonymous_geo)
    enrichment = build("ip_lookups", "2-0-1", parameters(folder, ALL_FIVE), setup=setup)
    event: dict = {}
    outcome = run(enrichment, event, make_request(), client_ip=CLIENT_IP, anonymous=True)
    assert event == expected
    assert outcome.entities == ()  # no ASN, ISP, domain or connection type: nothing else IP-derived


# MaxMind's test databases, with the values MaxMind publishes for these addresses.
MAXMIND_CASES = [
    (
        "GeoIP2 City",
        {"geo": "GeoIP2-City-Test.mmdb"},
        "81.2.69.160",
        {
            "geo_country": "GB",
            "geo_region": "ENG",
            "geo_region_name": "England",
            "geo_city": "London",
            "geo_latitude": 51.5142,
            "geo_longitude": -0.0931,
            "geo_timezone": "Europe/London",
        },
    ),
    (
        "GeoIP2 City with a postal code",
        {"geo": "GeoIP2-City-Test.mmdb"},
        "216.160.83.56",
        {
            "geo_country": "US",
            "geo_region": "WA",
            "geo_region_name": "Washington",
            "geo_city": "Milton",
            "geo_zipcode": "98354",
            "geo_latitude": 47.2513,
            "geo_longitude": -122.3149,
            "geo_timezone": "America/Los_Angeles",
        },
    ),
    (
        "GeoIP2 ISP",
        {"isp": "GeoIP2-ISP-Test.mmdb"},
        "1.128.0.0",
        {"ip_isp": "Telstra Internet", "ip_organization": "Telstra Internet"},
    ),
    ("GeoIP2 Domain", {"domain": "GeoIP2-Domain-Test.mmdb"}, "1.2.0.0", {"ip_domain": "maxmind.com"}),
    (
        "GeoIP2 Connection Type",
        {"connectionType": "GeoIP2-Connection-Type-Test.mmdb"},
        "1.0.1.0",
        {"ip_netspeed": "Cellular"},
    ),
]


@pytest.fixture(scope="module")
def maxmind_test_data() -> Path:
    assert (MAXMIND_TEST_DATA / "GeoIP2-City-Test.mmdb").is_file(), "run tests/unit/install.sh first"
    return MAXMIND_TEST_DATA


@pytest.mark.parametrize(
    ("databases", "ip", "expected"), [c[1:] for c in MAXMIND_CASES], ids=[c[0] for c in MAXMIND_CASES]
)
def test_maxmind_published_test_databases(maxmind_test_data, make_request, databases, ip, expected):
    # Built directly (the config schema only allows MaxMind's production file names).
    enrichment = build("ip_lookups", "2-0-0", parameters(maxmind_test_data, databases))
    event: dict = {}
    run(enrichment, event, make_request(), client_ip=ip)
    assert event == expected


def test_maxmind_published_asn_database(maxmind_test_data, make_request):
    enrichment = build("ip_lookups", "2-0-1", parameters(maxmind_test_data, {"asn": "GeoLite2-ASN-Test.mmdb"}))
    outcome = run(enrichment, {}, make_request(), client_ip="1.128.0.0")
    assert outcome.entities == ({"schema": ASN_SCHEMA, "data": {"number": 1221, "organization": "Telstra Pty Ltd"}},)


def test_a_file_that_is_not_a_maxmind_database_stops_start_up(tmp_path):
    (tmp_path / "GeoIP2-City.mmdb").write_text("not a database")
    with pytest.raises(EnrichmentConfigError, match="GeoIP2-City.mmdb is not a MaxMind database"):
        build("ip_lookups", "2-0-0", parameters(tmp_path, {"geo": "GeoIP2-City.mmdb"}))
