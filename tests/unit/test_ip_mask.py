"""IP anonymisation: one masking rule, applied to address fields and to addresses inside free text."""

from __future__ import annotations

import ipaddress
import time

import pytest

from app.privacy import IpMask, anonymise


@pytest.mark.parametrize(
    ("address", "octets", "groups", "masked"),
    [
        ("203.0.113.77", 1, 0, "203.0.113.0"),
        ("203.0.113.77", 2, 0, "203.0.0.0"),
        ("203.0.113.77", 4, 0, "0.0.0.0"),
        ("203.0.113.77", 0, 4, "203.0.113.77"),
        ("::ffff:203.0.113.77", 1, 0, "203.0.113.0"),  # the IPv4 it carries, masked as one
        ("::ffff:203.0.113.77", 0, 8, "203.0.113.77"),
        ("2001:db8:1:2:3:4:5:6", 0, 4, "2001:db8:1:2::"),
        ("2001:db8:1:2:3:4:5:6", 1, 0, "2001:db8:1:2:3:4:5:6"),
        ("::1", 0, 1, "::"),
    ],
)
def test_anonymise(address, octets, groups, masked):
    assert anonymise(ipaddress.ip_address(address), octets, groups) == ipaddress.ip_address(masked)


@pytest.mark.parametrize(
    ("octets", "groups", "sent", "kept"),
    [
        (1, 0, "203.0.113.77", "203.0.113.0"),
        (2, 0, "203.0.113.77", "203.0.0.0"),
        (4, 0, "203.0.113.77", "0.0.0.0"),
        (1, 0, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
        (0, 2, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4::"),
        (0, 8, "2001:db8:1:2:3:4:5:6", "::"),
        (0, 2, "203.0.113.77", "203.0.113.77"),
        (3, 4, "198.51.100.7", "198.0.0.0"),
        (3, 4, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        (1, 1, "unknown", "unknown"),
        (1, 1, "", ""),
        (0, 0, "2001:0DB8:0:0::1", "2001:0DB8:0:0::1"),
        (0, 0, "203.0.113.77", "203.0.113.77"),
    ],
    ids=[
        "ipv4-one-octet",
        "ipv4-two-octets",
        "ipv4-every-octet",
        "ipv4-only-leaves-ipv6",
        "ipv6-only",
        "ipv6-every-group",
        "ipv6-only-leaves-ipv4",
        "both-ipv4",
        "both-ipv6",
        "not-an-address-kept-as-sent",
        "empty-kept",
        "off-ipv6-as-sent",
        "off-ipv4-as-sent",
    ],
)
def test_an_address_field_is_masked_with_the_configured_widths(octets, groups, sent, kept):
    assert IpMask(octets, groups).mask(sent) == kept


@pytest.mark.parametrize(("octets", "groups", "enabled"), [(0, 0, False), (1, 0, True), (0, 1, True), (2, 3, True)])
def test_enabled_when_either_family_is_masked(octets, groups, enabled):
    assert IpMask(octets, groups).enabled is enabled


MASK = IpMask(1, 4)


@pytest.mark.parametrize(
    ("field", "stored"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("203.0.113.77:8080", "203.0.113.0"),
        ("[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("203.0.113.80;", "203.0.113.0;"),  # not an address as a whole: the address inside is masked
        ("unknown", "unknown"),
    ],
)
def test_an_address_field_is_masked(field, stored):
    assert MASK.mask(field) == stored


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ('{"ip":"203.0.113.77"}', '{"ip":"203.0.113.0"}'),
        ("ip=203.0.113.77:8080&x=1", "ip=203.0.113.0:8080&x=1"),
        ("ip=2001%3Adb8%3A1%3A2%3A3%3A4%3A5%3A6", "ip=2001:db8:1:2::"),  # percent-encoded in a raw query
        ("for=[2001:db8:1:2:3:4:5:6]:443", "for=[2001:db8:1:2::]:443"),
        ("198.51.100.7, 203.0.113.5|10.1.2.3", "198.51.100.0, 203.0.113.0|10.1.2.0"),
        ("at 12:30:45 on 2026-12-01T08:21:52Z", "at 12:30:45 on 2026-12-01T08:21:52Z"),  # times
        ("mac aa:bb:cc:dd:ee:ff, version 1.2.3.4.5, 999.1.1.1", "mac aa:bb:cc:dd:ee:ff, version 1.2.3.4.5, 999.1.1.1"),
    ],
)
def test_addresses_inside_text_are_masked_and_nothing_else(text, stored):
    assert MASK.mask_text(text) == stored


def test_without_anonymisation_nothing_changes():
    assert IpMask(0, 0).mask_text("203.0.113.77 ::ffff:203.0.113.77") == "203.0.113.77 ::ffff:203.0.113.77"


@pytest.mark.parametrize("address", ["203.0.113.77", "2001:db8:1:2:3:4:5:6"])
def test_a_body_full_of_addresses_is_masked_in_bounded_time(address):
    body = f"{address} " * (1024 * 1024 // (len(address) + 1))  # 1 MiB, the largest payload kept
    started = time.process_time()
    masked = MASK.mask_text(body)
    assert address not in masked
    assert time.process_time() - started < 2.0  # CPU time, with room for a slow machine: linear, not worse
