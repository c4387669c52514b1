"""Who sent the request: client IP, the collector's network user id, the `sp` cookie, anonymity.

The contract: docs/behaviour.md#identity and #anonymisation.

Event-level overrides (`ip`, `nuid`, `tnuid`) are the tracker's and are applied in `enrich`;
this module decides what the collector itself adds, and what cookie it answers with.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from app.ids import UUID
from app.privacy import IPAddress, IpMask
from app.privacy import parse_ip as parse_ip  # where the identity stage's callers look for it
from app.request import CollectorRequest

FORWARDED_FOR = re.compile(r'(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]+)', re.IGNORECASE)
DAY = 86400


@dataclass(slots=True)
class Identity:
    anonymous: bool
    ip: str | None  # derived client address; None under anonymisation
    network_userid: str | None  # the collector's id (cookie or new); None under anonymisation
    set_cookie: str | None  # Set-Cookie header value, if any
    do_not_track: bool = False  # the person opted out: answer normally, record nothing


def canonical_ip(address: IPAddress) -> str:
    return address.compressed


def read_cookies(header: str | None, name: str) -> list[str]:
    """Every value sent under `name`: a browser sends one per matching path and domain, in no fixed order."""
    if not header:
        return []
    values = []
    for pair in header.split(";"):
        key, _, value = pair.strip().partition("=")
        if key == name:
            values.append(value.strip().strip('"'))
    return values


def read_cookie(header: str | None, name: str) -> str | None:
    values = read_cookies(header, name)
    return values[0] if values else None


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    """What the identity stage reads of the settings (the same names), given to it by the wiring."""

    trusted_proxies: tuple[str, ...]
    client_ip_header: str | None
    cookie_enabled: bool
    cookie_name: str
    cookie_expiration_days: int
    cookie_domains: tuple[str, ...]
    cookie_fallback_domain: str | None
    cookie_same_site: Literal["None", "Lax", "Strict"] | None
    cookie_secure: bool
    cookie_http_only: bool
    do_not_track_cookie_name: str | None
    do_not_track_cookie_value: str


class IdentityPolicy:
    """Built once at start-up; `resolve` runs per request."""

    def __init__(self, settings: IdentitySettings, ip_mask: IpMask) -> None:
        self.trusted = [ipaddress.ip_network(cidr, strict=False) for cidr in settings.trusted_proxies]
        self.client_ip_header = settings.client_ip_header.lower() if settings.client_ip_header else None
        self.cookie_enabled = settings.cookie_enabled
        self.cookie_name = settings.cookie_name
        self.cookie_lifetime = settings.cookie_expiration_days * DAY
        self.cookie_domains = settings.cookie_domains
        self.fallback_domain = settings.cookie_fallback_domain
        attributes = ["Path=/"]
        if settings.cookie_same_site:
            attributes.append(f"SameSite={settings.cookie_same_site}")
        # Browsers reject SameSite=None without Secure, so None implies Secure.
        if settings.cookie_secure or settings.cookie_same_site == "None":
            attributes.append("Secure")
        if settings.cookie_http_only:
            attributes.append("HttpOnly")
        self.cookie_attributes = "; ".join(attributes)
        self.do_not_track_name = settings.do_not_track_cookie_name
        self.do_not_track_value = re.compile(settings.do_not_track_cookie_value)
        self.ip_mask = ip_mask
        # The same load balancers and clients come back on every request: remember the answers.
        self._trusted = lru_cache(maxsize=4096)(self._in_trusted_networks)
        self._peer = lru_cache(maxsize=4096)(parse_ip)

    def resolve(self, request: CollectorRequest, now_s: float) -> Identity:
        if self.do_not_track_name is not None:
            opt_out = read_cookie(request.headers.get("cookie"), self.do_not_track_name)
            if opt_out is not None and self.do_not_track_value.fullmatch(opt_out):
                return Identity(anonymous=True, ip=None, network_userid=None, set_cookie=None, do_not_track=True)
        if "sp-anonymous" in request.headers:
            had_cookie = read_cookie(request.headers.get("cookie"), self.cookie_name) is not None
            expire = (
                self._cookie("", now_s - self.cookie_lifetime, request) if had_cookie and self.cookie_enabled else None
            )
            return Identity(anonymous=True, ip=None, network_userid=None, set_cookie=expire)
        # An empty or stale `sp` from another domain or path may come first: the first valid id wins.
        cookie_ids = (
            value for value in read_cookies(request.headers.get("cookie"), self.cookie_name) if UUID.match(value)
        )
        known = next(cookie_ids, None)
        network_userid = known.lower() if known is not None else str(uuid.uuid4())
        set_cookie = (
            self._cookie(network_userid, now_s + self.cookie_lifetime, request) if self.cookie_enabled else None
        )
        ip = self.client_ip(request)
        ip = self.ip_mask.mask(ip) if ip else ip
        return Identity(anonymous=False, ip=ip, network_userid=network_userid, set_cookie=set_cookie)

    def is_trusted(self, address: IPAddress) -> bool:
        return self._trusted(address)

    def _in_trusted_networks(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)

    def client_ip(self, request: CollectorRequest) -> str | None:
        peer = self._peer(request.peer) if request.peer else None
        if peer is None:
            return request.peer  # e.g. a Unix socket: keep what the server gave
        if not self.is_trusted(peer):
            return canonical_ip(peer)
        if self.client_ip_header is not None:
            named = request.headers.get(self.client_ip_header)
            address = parse_ip(named.split(",")[0]) if named else None
            return canonical_ip(address or peer)
        hops = self._forwarded_hops(request)
        return canonical_ip(self._first_untrusted(hops, peer))

    def _forwarded_hops(self, request: CollectorRequest) -> list[str]:
        forwarded_for = request.headers.get("x-forwarded-for")
        if forwarded_for:
            return forwarded_for.split(",")
        forwarded = request.headers.get("forwarded")
        if forwarded:
            return FORWARDED_FOR.findall(forwarded)
        return []

    def _first_untrusted(self, hops: list[str], peer: IPAddress) -> IPAddress:
        """Walk the proxy chain from the nearest hop outwards; stop at the first address not ours."""
        client = peer
        for hop in reversed(hops):
            address = parse_ip(hop)
            if address is None:
                break  # unreadable: nothing further out can be believed
            client = address
            if not self.is_trusted(address):
                break
        return client

    def _cookie(self, value: str, expires_s: float, request: CollectorRequest) -> str:
        parts = [f"{self.cookie_name}={value}", f"Expires={_http_date(int(expires_s))}"]
        domain = self._domain(request.headers.get("origin"))
        if domain:
            parts.append(f"Domain={domain}")
        parts.append(self.cookie_attributes)
        return "; ".join(parts)

    def _domain(self, origin: str | None) -> str | None:
        if self.cookie_domains and origin:
            hosts = [_host(item) for item in origin.split()]
            for domain in self.cookie_domains:
                if any(host == domain or host.endswith("." + domain) for host in hosts):
                    return domain
        return self.fallback_domain


@lru_cache(maxsize=16)
def _http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def _host(origin: str) -> str:
    try:
        return urlsplit(origin).hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""
