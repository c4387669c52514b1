"""The Do Not Track cookie and IP anonymisation, against the real process."""

from __future__ import annotations

import httpx
import pytest

MASKED = {"COLLECTOR_IP_ANONYMISE_OCTETS": "1", "COLLECTOR_IP_ANONYMISE_IPV6_GROUPS": "4"}


def test_do_not_track_cookie_is_answered_but_not_recorded(collector_factory):
    collector = collector_factory(
        env={"COLLECTOR_DO_NOT_TRACK_COOKIE_NAME": "optout", "COLLECTOR_DO_NOT_TRACK_COOKIE_VALUE": "yes|true"}
    )
    opted_out = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"}, headers={"Cookie": "optout=yes"})
    assert opted_out.status_code == 200 and opted_out.headers["content-type"] == "image/gif"
    assert "set-cookie" not in opted_out.headers
    posted = httpx.post(
        f"{collector.url}/com.snowplowanalytics.snowplow/tp2",
        content=b"not even json",
        headers={"Content-Type": "application/json", "Cookie": "sp=x; optout=true"},
    )
    assert posted.status_code == 200 and posted.text == "ok"
    assert collector.good() == [] and collector.bad() == []

    # A value that does not match the whole pattern is an ordinary visitor.
    counted = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"}, headers={"Cookie": "optout=yesterday"})
    assert "set-cookie" in counted.headers
    assert len(collector.good()) == 1


@pytest.mark.parametrize(
    "forwarded, stored",
    [("203.0.113.77", "203.0.113.0"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::")],
)
def test_ip_anonymisation_masks_the_client_address(collector_factory, forwarded, stored):
    collector = collector_factory(env=MASKED)
    response = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"}, headers={"X-Forwarded-For": forwarded})
    assert response.status_code == 200
    [event] = collector.good()
    assert event["user_ipaddress"] == stored


def test_ip_anonymisation_masks_the_trackers_ip_and_bad_rows(collector_factory):
    collector = collector_factory(env=MASKED)
    headers = {"X-Forwarded-For": "198.51.100.23", "X-Real-IP": "198.51.100.23"}
    httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web", "ip": "192.0.2.200"}, headers=headers)
    httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "nope", "ip": "192.0.2.200, 10.1.2.3"}, headers=headers)
    [event] = collector.good()
    assert event["user_ipaddress"] == "192.0.2.0"
    [row] = collector.bad()
    text = str(row)
    assert "198.51.100.23" not in text and "192.0.2.200" not in text and "10.1.2.3" not in text
    raw = row["data"]["payload"]["raw"]
    assert raw["ipAddress"] == "198.51.100.0"
    assert {"name": "ip", "value": "192.0.2.0, 10.1.2.0"} in raw["parameters"]


def test_without_anonymisation_the_full_address_is_kept(collector):
    httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"}, headers={"X-Forwarded-For": "203.0.113.77"})
    assert collector.good()[0]["user_ipaddress"] == "203.0.113.77"
