"""IP anonymisation: the last IPv4 octets / IPv6 groups are zeroed before an event leaves the service."""

from __future__ import annotations

import ipaddress


class IpMask:
    def __init__(self, ipv4_octets: int, ipv6_groups: int) -> None:
        self.ipv4_keep = ipaddress.IPv4Network(f"0.0.0.0/{32 - 8 * ipv4_octets}").netmask
        self.ipv6_keep = ipaddress.IPv6Network(f"::/{128 - 16 * ipv6_groups}").netmask
        self.enabled = bool(ipv4_octets or ipv6_groups)

    def mask(self, text: str) -> str:
        """`203.0.113.77` → `203.0.113.0` (one octet); anything that is not an address is left as sent."""
        if not self.enabled:
            return text
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text
        keep = self.ipv4_keep if address.version == 4 else self.ipv6_keep
        # type(address), not ip_address(): a masked IPv6 address below 2**32 must not turn into IPv4 text.
        return str(type(address)(int(address) & int(keep)))
