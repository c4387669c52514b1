"""IP anonymisation: the last IPv4 octets / IPv6 groups are masked before an event leaves the service.

Two written forms, one masking: zeros (`203.0.113.0`, still an address: COLLECTOR_IP_ANONYMISE_*)
or Enrich's anon_ip form, where each masked part reads `x` (`203.0.x.x`, `2001:db8:0:0:0:0:x:x`).
"""

from __future__ import annotations

import ipaddress


class IpMask:
    def __init__(self, ipv4_octets: int, ipv6_groups: int, *, placeholder: str | None = None) -> None:
        self.ipv4_octets, self.ipv6_groups = ipv4_octets, ipv6_groups
        self.ipv4_keep = ipaddress.IPv4Network(f"0.0.0.0/{32 - 8 * ipv4_octets}").netmask
        self.ipv6_keep = ipaddress.IPv6Network(f"::/{128 - 16 * ipv6_groups}").netmask
        self.placeholder = placeholder  # None: zeros
        self.enabled = bool(ipv4_octets or ipv6_groups)

    def mask(self, text: str) -> str:
        """`203.0.113.77` → `203.0.113.0` (one octet); anything that is not an address is left as sent."""
        if not self.enabled:
            return text
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text
        if self.placeholder is not None:
            return self._written_masked(address)
        keep = self.ipv4_keep if address.version == 4 else self.ipv6_keep
        # type(address), not ip_address(): a masked IPv6 address below 2**32 must not turn into IPv4 text.
        return str(type(address)(int(address) & int(keep)))

    def _written_masked(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
        if address.version == 4:
            parts, masked, separator = str(address).split("."), self.ipv4_octets, "."
        else:  # all eight groups, as Java writes an IPv6 address, so that the masked ones can be counted
            groups = [int(group, 16) for group in address.exploded.split(":")]
            parts, masked, separator = [f"{group:x}" for group in groups], self.ipv6_groups, ":"
        return separator.join(parts[: len(parts) - masked] + [str(self.placeholder)] * masked)
