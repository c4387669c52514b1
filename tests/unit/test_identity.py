"""Identity (docs/behaviour.md#identity): client address, the collector's network user id, the cookie, anonymity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import orjson
import pytest

from app.config import Settings
from app.identity import IdentityPolicy, IdentitySettings, parse_ip
from app.privacy import IpMask
from app.wiring import build_pipeline, settings_view

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
KNOWN_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def resolve(make_request, settings: Settings | None = None, headers: dict | None = None, peer: str = "203.0.113.9"):
    settings = settings or Settings()
    mask = IpMask(settings.ip_anonymise_octets, settings.ip_anonymise_ipv6_groups)
    policy = IdentityPolicy(settings_view(IdentitySettings, settings), mask)
    return policy.resolve(make_request("GET", query="e=pv", headers=headers, peer=peer), NOW.timestamp())


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str | None]]:
    """'sp=v; Expires=...; Path=/; Secure' → ('sp', 'v', {'expires': ..., 'path': '/', 'secure': None})"""
    first, *rest = header.split("; ")
    name, _, value = first.partition("=")
    attributes: dict[str, str | None] = {}
    for item in rest:
        key, sep, val = item.partition("=")
        attributes[key.lower()] = val if sep else None
    return name, value, attributes


def expires(attributes: dict) -> datetime:
    return parsedate_to_datetime(attributes["expires"])


# --- user_ipaddress ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("203.0.113.9", {}, "203.0.113.9"),
        ("203.0.113.9", {"X-Forwarded-For": "198.51.100.7"}, "203.0.113.9"),
        ("203.0.113.9", {"Forwarded": "for=198.51.100.7"}, "203.0.113.9"),
        ("10.0.0.2", {}, "10.0.0.2"),
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.7"}, "198.51.100.7"),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7, 203.0.113.5, 10.0.0.3"}, "203.0.113.5"),
        ("192.168.1.1", {"X-Forwarded-For": "203.0.113.5, 172.16.4.4, 10.1.1.1"}, "203.0.113.5"),
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.7:5555"}, "198.51.100.7"),
        ("10.0.0.2", {"Forwarded": "for=198.51.100.17"}, "198.51.100.17"),
        ("10.0.0.2", {"Forwarded": 'for="198.51.100.17:8080";proto=https'}, "198.51.100.17"),
        ("10.0.0.2", {"Forwarded": 'For="[2001:db8:cafe::17]:4711"'}, "2001:db8:cafe::17"),
        ("10.0.0.2", {"Forwarded": "for=192.0.2.60;proto=http;by=203.0.113.43, for=10.0.0.9"}, "192.0.2.60"),
        ("10.0.0.2", {"Forwarded": 'for=198.51.100.1, for="[2001:db8::5]"'}, "2001:db8::5"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", {}, "2001:db8::1"),
        ("::ffff:203.0.113.5", {}, "203.0.113.5"),
        ("::1", {"X-Forwarded-For": "2001:DB8:0:0::0:1"}, "2001:db8::1"),
        ("::1", {"X-Forwarded-For": "::ffff:198.51.100.3"}, "198.51.100.3"),
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.66, junk, 10.0.0.3"}, "10.0.0.3"),
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.66, 203.0.113.5"}, "203.0.113.5"),
        (None, {"X-Forwarded-For": "198.51.100.7"}, None),
        ("unix:/run/collector.sock", {"X-Forwarded-For": "198.51.100.7"}, "unix:/run/collector.sock"),
    ],
    ids=[
        "untrusted-peer",
        "untrusted-peer-xff-not-believed",
        "untrusted-peer-forwarded-not-believed",
        "trusted-peer-alone",
        "trusted-peer-xff",
        "xff-right-to-left-skips-trusted",
        "xff-several-trusted-hops",
        "xff-with-port",
        "forwarded",
        "forwarded-quoted-port",
        "forwarded-ipv6-brackets-port",
        "forwarded-several-params",
        "forwarded-rightmost-untrusted",
        "ipv6-compressed",
        "ipv4-mapped-unwrapped",
        "xff-ipv6-compressed",
        "xff-ipv4-mapped",
        "xff-junk-hop-ends-the-walk-spoofed-hop-beyond-not-believed",
        "xff-nearest-untrusted-hop-wins-over-further-ones",
        "no-peer-no-address-headers-not-believed",
        "unix-socket-peer-kept-as-given",
    ],
)
def test_client_address(make_request, peer, headers, expected):
    assert resolve(make_request, headers=headers, peer=peer).ip == expected


@pytest.mark.parametrize(
    ("settings", "peer", "headers", "expected"),
    [
        (
            {"client_ip_header": "CF-Connecting-IP"},
            "10.0.0.2",
            {"CF-Connecting-IP": "198.51.100.20", "X-Forwarded-For": "203.0.113.1"},
            "198.51.100.20",
        ),
        ({"client_ip_header": "CF-Connecting-IP"}, "203.0.113.9", {"CF-Connecting-IP": "198.51.100.20"}, "203.0.113.9"),
        ({"client_ip_header": "CF-Connecting-IP"}, "10.0.0.2", {}, "10.0.0.2"),
        (
            {"client_ip_header": "X-Real-IP"},
            "10.0.0.2",
            {"X-Real-IP": "198.51.100.20, 203.0.113.1"},
            "198.51.100.20",
        ),
        ({"client_ip_header": "X-Real-IP"}, "10.0.0.2", {"X-Real-IP": "junk"}, "10.0.0.2"),
        ({"trusted_proxies": ["203.0.113.1/24"]}, "203.0.113.9", {"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"),
        ({"trusted_proxies": ["203.0.113.0/24"]}, "203.0.113.9", {"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"),
        ({"trusted_proxies": ["203.0.113.0/24"]}, "10.0.0.2", {"X-Forwarded-For": "198.51.100.1"}, "10.0.0.2"),
        ({"trusted_proxies": []}, "127.0.0.1", {"X-Forwarded-For": "198.51.100.1"}, "127.0.0.1"),
    ],
    ids=[
        "header-from-trusted-peer",
        "header-from-untrusted-peer",
        "header-missing",
        "header-first-of-a-list",
        "header-unreadable-falls-back-to-peer",
        "custom-cidr-with-host-bits-is-its-network",
        "custom-cidr-trusted",
        "custom-cidr-private-not-trusted",
        "nothing-trusted",
    ],
)
def test_client_address_configuration(make_request, settings, peer, headers, expected):
    assert resolve(make_request, Settings(**settings), headers, peer).ip == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (" 198.51.100.7 ", "198.51.100.7"),
        ('"198.51.100.7:8080"', "198.51.100.7"),
        ("[2001:db8::5]:443", "2001:db8::5"),
        ("[2001:db8::5", "2001:db8::5"),
        ("[2001:db8::5]", "2001:db8::5"),
        ("2001:db8::5", "2001:db8::5"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("unknown", None),
        ("", None),
        ("_hidden", None),
    ],
    ids=[
        "padded",
        "quoted-port",
        "brackets-port",
        "unclosed-bracket",
        "brackets",
        "bare-ipv6",
        "mapped",
        "junk",
        "empty",
        "obfuscated",
    ],
)
def test_parse_ip(token, expected):
    address = parse_ip(token)
    assert (address.compressed if address else None) == expected


@pytest.mark.parametrize(
    ("settings", "peer", "expected"),
    [
        ({"ip_anonymise_octets": 1}, "203.0.113.9", "203.0.113.0"),
        ({"ip_anonymise_ipv6_groups": 6}, "2001:db8:1:2:3:4:5:6", "2001:db8::"),
        ({"ip_anonymise_octets": 2}, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
    ],
    ids=["ipv4", "ipv6", "ipv4-setting-leaves-ipv6"],
)
def test_client_address_is_anonymised_when_configured(make_request, settings, peer, expected):
    assert resolve(make_request, Settings(**settings), peer=peer).ip == expected


# --- network_userid and the cookie ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        (f"sp={KNOWN_ID}", KNOWN_ID),
        (f"sp={KNOWN_ID.upper()}", KNOWN_ID),
        (f"_ga=GA1.1; sp={KNOWN_ID}; other=x", KNOWN_ID),
        (f'sp="{KNOWN_ID}"', KNOWN_ID),
        (f"a=1;sp= {KNOWN_ID} ;b=2", KNOWN_ID),
        (f"sp=; sp={KNOWN_ID}", KNOWN_ID),  # an empty cookie of another path or domain first
        (f"sp=garbage; sp={KNOWN_ID.upper()}", KNOWN_ID),
    ],
    ids=["plain", "upper-case", "among-others", "quoted", "padded", "after-an-empty-one", "after-an-invalid-one"],
)
def test_valid_sp_cookie_is_reused_lower_cased(make_request, cookie, expected):
    identity = resolve(make_request, headers={"Cookie": cookie})
    assert identity.network_userid == expected
    assert parse_set_cookie(identity.set_cookie)[:2] == ("sp", expected)


@pytest.mark.parametrize(
    "cookie",
    [None, "sp=not-a-uuid", "sp=", f"sp={KNOWN_ID[:-1]}", f"sp={KNOWN_ID}0", f"xsp={KNOWN_ID}", f"SP={KNOWN_ID}"],
    ids=["none", "garbage", "empty", "short", "long", "other-name", "name-case"],
)
def test_missing_or_invalid_cookie_gets_a_new_uuid(make_request, cookie):
    identity = resolve(make_request, headers={"Cookie": cookie} if cookie else {})
    assert identity.network_userid != KNOWN_ID
    assert uuid.UUID(identity.network_userid).version == 4
    assert parse_set_cookie(identity.set_cookie)[:2] == ("sp", identity.network_userid)


def test_new_ids_differ_between_requests(make_request):
    assert resolve(make_request).network_userid != resolve(make_request).network_userid


def test_default_cookie_attributes(make_request):
    name, value, attributes = parse_set_cookie(resolve(make_request).set_cookie)
    assert name == "sp" and value
    assert expires(attributes) == NOW + timedelta(days=365)
    assert attributes["path"] == "/"
    assert attributes["samesite"] == "None"
    assert "secure" in attributes and "httponly" in attributes
    assert "domain" not in attributes


@pytest.mark.parametrize(
    ("settings", "name", "days", "expected", "absent"),
    [
        ({"cookie_name": "uid", "cookie_expiration_days": 30}, "uid", 30, {"samesite": "None", "secure": None}, []),
        ({"cookie_same_site": "Lax", "cookie_secure": False}, "sp", 365, {"samesite": "Lax"}, ["secure"]),
        (
            {"cookie_same_site": "Strict", "cookie_http_only": False},
            "sp",
            365,
            {"samesite": "Strict", "secure": None},
            ["httponly"],
        ),
        ({"cookie_same_site": None}, "sp", 365, {"secure": None, "httponly": None}, ["samesite"]),
        ({"cookie_same_site": "None", "cookie_secure": False}, "sp", 365, {"samesite": "None", "secure": None}, []),
    ],
    ids=["name-and-lifetime", "lax-not-secure", "strict-not-httponly", "no-samesite", "samesite-none-forces-secure"],
)
def test_cookie_attributes_are_configurable(make_request, settings, name, days, expected, absent):
    cookie_name, _, attributes = parse_set_cookie(resolve(make_request, Settings(**settings)).set_cookie)
    assert cookie_name == name
    assert expires(attributes) == NOW + timedelta(days=days)
    assert {key: attributes.get(key, "missing") for key in expected} == expected
    for key in absent:
        assert key not in attributes


def test_configured_cookie_name_is_the_one_read(make_request):
    identity = resolve(make_request, Settings(cookie_name="uid"), headers={"Cookie": f"sp=x; uid={KNOWN_ID}"})
    assert identity.network_userid == KNOWN_ID


def test_cookie_disabled_sets_none_but_still_identifies(make_request):
    identity = resolve(make_request, Settings(cookie_enabled=False), headers={"Cookie": f"sp={KNOWN_ID}"})
    assert identity.set_cookie is None
    assert identity.network_userid == KNOWN_ID


@pytest.mark.parametrize(
    ("domains", "fallback", "origin", "expected"),
    [
        (["acme.com"], None, "https://acme.com", "acme.com"),
        (["acme.com"], None, "https://shop.acme.com:8443", "acme.com"),
        (["acme.com"], None, "https://SHOP.Acme.com", "acme.com"),
        (["acme.com"], None, "https://notacme.com", None),
        (["acme.com", "shop.acme.com"], None, "https://shop.acme.com", "acme.com"),
        (["shop.acme.com", "acme.com"], None, "https://shop.acme.com", "shop.acme.com"),
        (["other.org", "acme.com"], None, "https://www.acme.com", "acme.com"),
        ([".Acme.com"], None, "https://acme.com", "acme.com"),
        (["acme.com"], "fallback.net", "https://other.org", "fallback.net"),
        (["acme.com"], "fallback.net", None, "fallback.net"),
        ([], "fallback.net", "https://acme.com", "fallback.net"),
        ([], None, "https://acme.com", None),
        (["acme.com"], None, None, None),
        (["acme.com"], "fallback.net", "http://[::1", "fallback.net"),
    ],
    ids=[
        "equal",
        "subdomain-with-port",
        "case-insensitive",
        "suffix-is-not-subdomain",
        "first-in-config-order",
        "first-in-config-order-reversed",
        "second-entry-matches",
        "leading-dot-configured",
        "fallback-when-no-match",
        "fallback-without-origin",
        "fallback-only",
        "nothing-configured",
        "no-origin-no-fallback",
        "unreadable-origin-gets-the-fallback",
    ],
)
def test_cookie_domain(make_request, domains, fallback, origin, expected):
    settings = Settings(cookie_domains=domains, cookie_fallback_domain=fallback)
    _, _, attributes = parse_set_cookie(
        resolve(make_request, settings, {"Origin": origin} if origin else {}).set_cookie
    )
    assert attributes.get("domain") == expected


# --- SP-Anonymous -----------------------------------------------------------------------------

IDENTIFYING = {"X-Forwarded-For": "198.51.100.7", "Forwarded": "for=198.51.100.8", "X-Real-IP": "198.51.100.9"}


@pytest.mark.parametrize("peer", ["10.0.0.2", "203.0.113.9"])
def test_anonymous_request_has_no_ip_no_id_and_no_cookie(make_request, peer):
    identity = resolve(make_request, headers={"SP-Anonymous": "*", **IDENTIFYING}, peer=peer)
    assert identity.anonymous is True
    assert identity.ip is None
    assert identity.network_userid is None
    assert identity.set_cookie is None


@pytest.mark.parametrize("cookie", [f"sp={KNOWN_ID}", "sp=garbage", f"a=1; sp={KNOWN_ID}"])
def test_anonymous_request_with_sp_cookie_gets_it_expired(make_request, cookie):
    identity = resolve(make_request, headers={"SP-Anonymous": "*", "Cookie": cookie})
    assert identity.network_userid is None  # the cookie is not read as an id
    name, value, attributes = parse_set_cookie(identity.set_cookie)
    assert (name, value) == ("sp", "")
    assert expires(attributes) < NOW
    assert attributes["path"] == "/"


def test_anonymous_cookie_expiry_uses_the_cookie_domain(make_request):
    settings = Settings(cookie_domains=["acme.com"])
    headers = {"SP-Anonymous": "*", "Cookie": f"sp={KNOWN_ID}", "Origin": "https://www.acme.com"}
    _, _, attributes = parse_set_cookie(resolve(make_request, settings, headers).set_cookie)
    assert attributes["domain"] == "acme.com"  # else the browser would not replace its cookie


def test_anonymous_request_with_only_other_cookies_sets_none(make_request):
    identity = resolve(make_request, headers={"SP-Anonymous": "*", "Cookie": f"xsp={KNOWN_ID}"})
    assert identity.set_cookie is None


# --- do not track ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "opted_out"),
    [
        ("optout=yes", True),
        ("a=1; optout=true", True),
        ("optout=no", False),
        ("optout=yes please", False),  # the whole value must match
        ("other=yes", False),
        (None, False),
    ],
)
def test_do_not_track_cookie(make_request, cookie, opted_out):
    settings = Settings(do_not_track_cookie_name="optout", do_not_track_cookie_value="yes|true")
    identity = resolve(make_request, settings, {"Cookie": cookie} if cookie else {})
    assert identity.do_not_track is opted_out
    assert identity.anonymous is opted_out
    recorded = (identity.ip, identity.network_userid is not None, identity.set_cookie is not None)
    assert recorded == ((None, False, False) if opted_out else ("203.0.113.9", True, True))


def test_do_not_track_off_by_default(make_request):
    assert resolve(make_request, headers={"Cookie": "optout=yes"}).do_not_track is False


# --- the tracker's ids change the event, never the cookie --------------------------------------


@pytest.mark.parametrize("parameter", ["nuid", "tnuid"])
def test_tracker_set_ids_do_not_go_into_the_cookie(make_request, registry, parameter):
    pipeline = build_pipeline(Settings(), registry, "file")
    tracker_id = "11111111-2222-4333-8444-555555555555"
    collected = pipeline.collect(
        make_request("GET", query=f"e=pv&p=web&tv=t&{parameter}={tracker_id}", headers={"Cookie": f"sp={KNOWN_ID}"})
    )
    [event] = [orjson.loads(record.data) for record in collected.good]
    assert event["network_userid"] == tracker_id
    assert parse_set_cookie(collected.set_cookie)[:2] == ("sp", KNOWN_ID)
