"""IP anonymisation: the last IPv4 octets / IPv6 groups are zeroed before anything leaves the service.

`anonymise` is the one masking rule (the IP anonymisation enrichment uses it too); `IpMask` applies
it with the configured widths to an address field, and to every address inside free text (a raw
body, a header, a query string kept in a bad row), so that no stored byte holds a full address.

The contract: docs/behaviour.md#anonymisation.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Candidates in free text: dotted quads, and runs of hex groups with at least two colons (also
# percent-encoded, as in a raw query string), optionally ending in a dotted quad (::ffff:1.2.3.4).
# Quantifiers are bounded, so a scan stays linear in the text.
_QUAD = r"\d{1,3}(?:\.\d{1,3}){3}"
_COLON = r"(?::|%3[Aa])"
ADDRESS_IN_TEXT = re.compile(
    rf"(?<![0-9A-Za-z:.%])(?P<v6>(?:[0-9A-Fa-f]{{0,4}}{_COLON}){{2,7}}(?:{_QUAD}|[0-9A-Fa-f]{{1,4}})?)(?![0-9A-Za-z])"
    rf"|(?<![0-9.])(?P<v4>{_QUAD})(?![0-9]|\.[0-9])"
)


def parse_ip(text: str) -> IPAddress | None:
    """An address from a header token or parameter: brackets and ports removed, IPv4-mapped IPv6 unwrapped."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def anonymise(address: IPAddress, ipv4_octets: int, ipv6_groups: int) -> IPAddress:
    """Zero the last `ipv4_octets` octets of an IPv4 address or `ipv6_groups` groups of an IPv6 one.
    An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is the IPv4 address it carries, and masked as one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return ipaddress.IPv4Address(int(address) >> 8 * ipv4_octets << 8 * ipv4_octets)
    return ipaddress.IPv6Address(int(address) >> 16 * ipv6_groups << 16 * ipv6_groups)


class IpMask:
    def __init__(self, ipv4_octets: int, ipv6_groups: int) -> None:
        self.ipv4_octets, self.ipv6_groups = ipv4_octets, ipv6_groups
        self.enabled = bool(ipv4_octets or ipv6_groups)

    def mask(self, text: str) -> str:
        """An address field: `203.0.113.77`, `203.0.113.77:8080` → `203.0.113.0` (one octet). A value
        that is no address is kept, less any address inside it (`203.0.113.77;` → `203.0.113.0;`)."""
        if not self.enabled:
            return text
        address = parse_ip(text)
        if address is None:
            return self.mask_text(text)
        return anonymise(address, self.ipv4_octets, self.ipv6_groups).compressed

    def mask_text(self, text: str) -> str:
        """Every address inside free text masked in place; the rest left as it is."""
        if not self.enabled:
            return text
        return ADDRESS_IN_TEXT.sub(self._masked_match, text)

    def _masked_match(self, match: re.Match[str]) -> str:
        candidate = match.group()
        if match.group("v4") is not None:  # the common case, kept off ipaddress's slower parser
            octets = candidate.split(".")
            if any(int(octet) > 255 for octet in octets):
                return candidate  # a version number, say: not an address
            kept = 4 - self.ipv4_octets
            return ".".join([str(int(octet)) for octet in octets[:kept]] + ["0"] * self.ipv4_octets)
        try:  # the C parser and printer: a body full of addresses costs microseconds per address
            packed = socket.inet_pton(socket.AF_INET6, candidate.replace("%3A", ":").replace("%3a", ":"))
        except OSError:
            return candidate  # a clock time, a MAC address...: not an address
        masked = anonymise(ipaddress.IPv6Address(packed), self.ipv4_octets, self.ipv6_groups)
        return socket.inet_ntop(socket.AF_INET6 if masked.version == 6 else socket.AF_INET, masked.packed)
