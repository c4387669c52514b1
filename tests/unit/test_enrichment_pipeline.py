"""The enrichments inside the pipeline: IP lookups read the address before COLLECTOR_IP_ANONYMISE_* masks
what is stored (the reason to enrich here at all), and an enrichment's failure is one event's bad row."""

from __future__ import annotations

import orjson

from app.config import Settings
from app.wiring import build_pipeline
from tests.enrichment_data import CLIENT_IP, write_maxmind_databases
from tests.unit.enrichment_support import config_document


def test_geography_survives_ip_anonymisation_and_a_failing_event_is_its_own_bad_row(tmp_path, registry, make_request):
    data = write_maxmind_databases(tmp_path / "maxmind")
    configs = tmp_path / "enrichments"
    configs.mkdir()
    for name, version, parameters in [
        ("ip_lookups", "2-0-0", {"geo": {"database": "GeoIP2-City.mmdb", "uri": data.as_uri()}}),
        ("cross_navigation_config", "1-0-0", None),
    ]:
        (configs / f"{name}.json").write_bytes(orjson.dumps(config_document(name, version, parameters)))
    settings = Settings(
        data_dir=tmp_path / "out", enrichments_dir=configs, ip_anonymise_octets=2, ip_anonymise_ipv6_groups=2
    )
    pipeline = build_pipeline(settings, registry, "file")

    good = "e=pv&p=web&tv=js-4.0.0&url=https%3A%2F%2Fshop.example%2F"
    failing = "e=pv&p=web&tv=js-4.0.0&url=https%3A%2F%2Fshop.example%2F%3F_sp%3Dabc.1697175843762.not-a-uuid"
    collected = [pipeline.collect(make_request(query=query, peer=CLIENT_IP)) for query in (good, failing)]

    [event] = [orjson.loads(record.data) for record in collected[0].good]
    assert (event["user_ipaddress"], event["geo_country"], event["geo_city"]) == ("198.51.0.0", "US", "San Francisco")
    assert collected[1].good == []
    [row] = [orjson.loads(record.data) for record in collected[1].bad]
    assert row["schema"].endswith("/enrichment_failures/jsonschema/2-0-0")
    assert collected[1].outcomes == {"enrichment_failures": 1}
