"""Data files for enrichment tests, written in the real formats: MaxMind databases in the GeoIP2 City,
ISP, Domain, Connection-Type and GeoLite2 ASN layouts (with mmdb-writer), and Snowplow's referer database."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# One address per layout, with what each database says about it (and so what the event must carry).
CLIENT_IP = "198.51.100.23"
CLIENT_IPV6 = "2001:db8:85a3::8a2e:370:7334"
CITY = {
    "city": {"geoname_id": 5391959, "names": {"en": "San Francisco", "de": "San Francisco"}},
    "country": {"iso_code": "US", "names": {"en": "United States"}},
    "location": {"latitude": 37.7758, "longitude": -122.4128, "time_zone": "America/Los_Angeles", "accuracy_radius": 5},
    "postal": {"code": "94103"},
    "subdivisions": [{"iso_code": "CA", "names": {"en": "California"}}],
}
ISP = {"isp": "Acme Fibre", "organization": "Acme Corp", "autonomous_system_number": 64500}
DOMAIN = {"domain": "acme.example"}
CONNECTION_TYPE = {"connection_type": "Cable/DSL"}
ASN = {"autonomous_system_number": 64500, "autonomous_system_organization": "ACME-AS"}
LAYOUTS = {
    "GeoIP2-City.mmdb": ("GeoIP2-City", CITY),
    "GeoIP2-ISP.mmdb": ("GeoIP2-ISP", ISP),
    "GeoIP2-Domain.mmdb": ("GeoIP2-Domain", DOMAIN),
    "GeoIP2-Connection-Type.mmdb": ("GeoIP2-Connection-Type", CONNECTION_TYPE),
    "GeoLite2-ASN.mmdb": ("GeoLite2-ASN", ASN),
}
REFERERS = Path(str(files("referer_parser") / "data" / "referers.json"))


def write_maxmind_databases(folder: Path) -> Path:
    """The five databases, each knowing CLIENT_IP's /24 and CLIENT_IPV6's /64, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (database_type, record) in LAYOUTS.items():
        writer = MMDBWriter(ip_version=6, database_type=database_type, ipv4_compatible=True, languages=["en"])
        writer.insert_network(IPSet(["198.51.100.0/24", "2001:db8:85a3::/64"]), record)
        writer.to_db_file(str(folder / name))
    return folder


def write_referer_database(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REFERERS, folder / "referers-latest.json")
    return folder / "referers-latest.json"
