"""`python -m app micro` as teams use Snowplow Micro: the official browser tracker sends, the test
asks /micro/good and /micro/bad; and the live inspector page, driven in headless Chromium."""

from __future__ import annotations

import httpx
import orjson
import pytest
from node_driver import CHROMIUM, run_node
from test_browser_tracker import run_scenario

LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
WEB_PAGE = "com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"


@pytest.fixture
def micro(collector_factory):
    return collector_factory(args=["micro"])


def micro_good(micro, **filters) -> list[dict]:
    return httpx.post(f"{micro.url}/micro/good", json=filters).json()


def test_tracking_plan_checked_through_the_micro_api(micro, page_origin):
    report = run_scenario("tracking-plan", page_origin, micro)
    assert report["delivery"]["acked"] == 4

    assert httpx.get(f"{micro.url}/micro/all").json() == {"total": 4, "good": 3, "bad": 1}
    views = micro_good(micro, event_type="page_view")
    assert len(views) == 2
    assert [v["event"]["page_title"] for v in views][0] == "Second view"  # newest first
    assert all(v["event"]["app_id"] == "e2e-browser" for v in views)
    assert all(v["event"]["domain_userid"] == report["ids"]["domainUserId"] for v in views)
    [click] = micro_good(micro, schema=LINK_CLICK)
    assert click["eventType"] == "unstruct"
    assert click["event"]["unstruct_event"]["data"]["data"] == {"targetUrl": "https://docs.example/start"}
    assert len(micro_good(micro, contexts=[WEB_PAGE])) == 3  # the tracker's web_page entity on every event
    assert micro_good(micro, event_type="page_view", limit=1) == views[:1]

    [bad] = httpx.post(
        f"{micro.url}/micro/bad", json={"vendor": "com.snowplowanalytics.snowplow", "version": "tp2"}
    ).json()
    assert bad["errors"][0] == "Schema violation: $.targetUrl must be longer than or equal to 1 characters"
    row = orjson.loads(bad["errors"][1])
    assert row["schema"].endswith("/schema_violations/jsonschema/2-0-1")
    assert row["data"]["failure"]["messages"][0]["schemaKey"] == LINK_CLICK
    assert bad["eventId"] == bad["rawEvent"]["parameters"]["eid"]
    assert httpx.post(f"{micro.url}/micro/bad", json={"version": "tp1"}).json() == []


def test_live_inspector_shows_filters_and_explains_events(micro, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail("Chromium is not installed: run tests/e2e/js/install.sh")
    report = run_node("micro_inspector.mjs", {"collector": micro.url, "screenshots": str(tmp_path)})
    assert report["pageErrors"] == []
    assert report["summaryAtStart"] == "0 events held: 0 good, 0 bad"
    assert report["unlabelled"] == 0  # every control has a label

    # Newest first: time, type, app, page, network_userid, IP, status.
    bad, private, blog, shop = report["liveRows"]
    assert private[2] == "private" and private[4:6] == ["—", "anonymous"]  # server-side anonymisation
    assert bad[1:3] == ["link_click", "shop"] and bad[6] == "bad: Schema violation"
    assert blog[1:4] == ["page_view", "blog", "https://blog.example/post"] and blog[6] == "good"
    assert shop[3] == "https://shop.example/cart" and shop[5] == "127.0.0.1"
    assert report["badOnlyRows"] == [bad]

    assert report["detailTitle"] == "link_click · bad: Schema violation"
    assert report["failurePaths"] == ["$.targetUrl"]
    assert report["failureMessages"] == ["$.targetUrl must be longer than or equal to 1 characters"]
    assert report["markedInSent"] == ['"targetUrl"']  # the failing property, marked where the tracker sent it
    assert report["focusedDetail"] == "detail"  # focus moves to what was opened
    assert report["currentRows"] == 1  # and the row it came from says so
    assert [row[3] for row in report["searchRows"]] == ["https://blog.example/post"]
    assert report["typeRows"] == [bad]
    assert report["summaryFull"].startswith("10000 events held")
    for name in ("inspector-live.png", "inspector-bad-event.png"):
        assert (tmp_path / name).stat().st_size > 10_000
