"""ip_lookups 2-0-x: MaxMind databases (GeoIP2/GeoLite2 City, ISP, Domain, Connection Type, ASN)
→ the geo_*, ip_* fields and the `asn` derived context, for the full client address (in memory,
before anonymisation). Under SP-Anonymous nothing is looked up, except what COLLECTOR_ANONYMOUS_GEO
asks for: the country (and region) alone, from the address that is then dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import maxminddb

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.schemas import ASN as ASN_SCHEMA

Reader = Any  # maxminddb.Reader; the C extension's type when installed


def _get(reader: Reader | None, ip: str) -> dict[str, Any] | None:
    if reader is None:
        return None
    try:
        record = reader.get(ip)
    except (ValueError, TypeError):  # not an address (a tracker's `ip` may be anything, even a NUL)
        return None
    return record if isinstance(record, dict) else None


def _english(part: dict[str, Any] | None) -> str | None:
    return part.get("names", {}).get("en") if part else None


def geo_fields(record: dict[str, Any], coarseness: str = "city") -> dict[str, Any]:
    """A City record → Enrich's geo_* fields; `country` or `region` keep only that much."""
    country = record.get("country") or {}
    subdivisions = record.get("subdivisions") or [{}]
    region = subdivisions[-1]  # the most specific, as Enrich takes it
    fields: dict[str, Any] = {"geo_country": country.get("iso_code")}
    if coarseness in ("region", "city"):
        fields.update(geo_region=region.get("iso_code"), geo_region_name=_english(region))
    if coarseness == "city":
        location = record.get("location") or {}
        fields.update(
            geo_city=_english(record.get("city")),
            geo_zipcode=(record.get("postal") or {}).get("code"),
            geo_latitude=location.get("latitude"),
            geo_longitude=location.get("longitude"),
            geo_timezone=location.get("time_zone"),
        )
    return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True, slots=True)
class IpLookups:
    config: EnrichmentConfig
    geo: Reader | None
    isp: Reader | None
    domain: Reader | None
    connection_type: Reader | None
    asn: Reader | None
    anonymous_geo: str  # none, country or region

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        ip = context.client_ip
        if not ip:
            return NOTHING
        if context.anonymous:
            if self.anonymous_geo != "none":
                city = _get(self.geo, ip)
                if city:
                    event.update(geo_fields(city, self.anonymous_geo))
            return NOTHING
        city = _get(self.geo, ip)
        if city:
            event.update(geo_fields(city))
        isp = _get(self.isp, ip)
        if isp:
            event.update(
                {
                    name: isp[key]
                    for key, name in (("isp", "ip_isp"), ("organization", "ip_organization"))
                    if isp.get(key)
                }
            )
        domain = _get(self.domain, ip)
        if domain and domain.get("domain"):
            event["ip_domain"] = domain["domain"]
        connection = _get(self.connection_type, ip)
        if connection and connection.get("connection_type"):
            event["ip_netspeed"] = connection["connection_type"]
        asn = _get(self.asn, ip) or isp  # GeoIP2 ISP records carry the ASN too
        if asn and isinstance(asn.get("autonomous_system_number"), int):
            data = {
                "number": asn["autonomous_system_number"],
                "organization": asn.get("autonomous_system_organization"),
            }
            return Outcome(({"schema": ASN_SCHEMA, "data": data},))
        return NOTHING


def build(config: EnrichmentConfig, setup: Setup) -> IpLookups:
    def open_database(name: str) -> Reader | None:
        location = config.parameters.get(name)
        if location is None:
            return None
        path = setup.files.fetch(config, location)
        try:
            return maxminddb.open_database(str(path))
        except (maxminddb.InvalidDatabaseError, ValueError, OSError) as error:
            raise config.problem(f"{path} is not a MaxMind database: {error}") from None

    return IpLookups(
        config,
        open_database("geo"),
        open_database("isp"),
        open_database("domain"),
        open_database("connectionType"),
        open_database("asn"),
        setup.anonymous_geo,
    )
