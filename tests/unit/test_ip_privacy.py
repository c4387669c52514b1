"""IP anonymisation (SPEC §2): the last IPv4 octets and IPv6 groups are zeroed, nothing else changes."""

from __future__ import annotations

import pytest

from app.privacy import IpMask


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
def test_mask(octets, groups, sent, kept):
    assert IpMask(octets, groups).mask(sent) == kept


@pytest.mark.parametrize(("octets", "groups", "enabled"), [(0, 0, False), (1, 0, True), (0, 1, True), (2, 3, True)])
def test_enabled_when_either_family_is_masked(octets, groups, enabled):
    assert IpMask(octets, groups).enabled is enabled
