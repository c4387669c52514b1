"""anon_ip: user_ipaddress masked as Enrich writes it (Enrich's AnonIpEnrichmentSpec table), with the masking
that COLLECTOR_IP_ANONYMISE_* uses (which writes zeros instead, so the address stays an address)."""

from __future__ import annotations

import pytest

from app.privacy import IpMask
from tests.unit.enrichment_support import build, run

CASES = [
    ("0.23.0.20", 1, 1, "0.23.0.x"),
    ("168.192.102.4", 2, 2, "168.192.x.x"),
    ("54.242.102.43", 3, 3, "54.x.x.x"),
    ("94.15.213.171", 4, 4, "x.x.x.x"),
    ("hello;goodbye", 3, 3, "hello;goodbye"),
    ("4b0c:0:0:0:880c:99a8:4b0:4411", 1, 1, "4b0c:0:0:0:880c:99a8:4b0:x"),
    ("4b0c::880c:99a8:4b0:4411", 2, 2, "4b0c:0:0:0:880c:99a8:x:x"),
    ("2605:2700:0:3:0:0:4713:93e3", 3, 3, "2605:2700:0:3:0:x:x:x"),
    ("2605:2700:0:3::4713:93e3", 4, 4, "2605:2700:0:3:x:x:x:x"),
    ("2605:2700:0:3::4713:93e3", 4, 5, "2605:2700:0:x:x:x:x:x"),
    ("2605:2700::4713:93e3", 4, 8, "x:x:x:x:x:x:x:x"),
    ("::192.168.0.1", 4, 1, "0:0:0:0:0:0:c0a8:x"),
]


@pytest.mark.parametrize(("ip", "octets", "segments", "expected"), CASES)
def test_user_ipaddress_masked_as_enrich_writes_it(make_request, ip, octets, segments, expected):
    enrichment = build("anon_ip", "1-0-1", {"anonOctets": octets, "anonSegments": segments})
    event = {"user_ipaddress": ip}
    run(enrichment, event, make_request())
    assert event["user_ipaddress"] == expected


def test_anon_ip_1_0_0_masks_two_ipv6_segments_by_default(make_request):
    event = {"user_ipaddress": "2605:2700:0:3::4713:93e3"}
    run(build("anon_ip", "1-0-0", {"anonOctets": 1}), event, make_request())
    assert event["user_ipaddress"] == "2605:2700:0:3:0:0:x:x"


@pytest.mark.parametrize(
    ("ip", "octets", "groups", "zeros", "written"),
    [
        ("203.0.113.77", 1, 1, "203.0.113.0", "203.0.113.x"),
        ("2001:db8::1:2", 2, 2, "2001:db8::", "2001:db8:0:0:0:0:x:x"),
    ],
)
def test_one_masking_two_written_forms(make_request, ip, octets, groups, zeros, written):
    assert IpMask(octets, groups).mask(ip) == zeros  # COLLECTOR_IP_ANONYMISE_*
    event = {"user_ipaddress": ip}
    run(build("anon_ip", "1-0-1", {"anonOctets": octets, "anonSegments": groups}), event, make_request())
    assert event["user_ipaddress"] == written
