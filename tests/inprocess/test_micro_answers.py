"""The field names of the Micro API's answers, as Snowplow Micro names them (its docs page and its
source's model: GoodEvent, BadEvent, ValidationSummary, EventsRequest/EventsSorting/EventsResponse).
A tool written against Micro reads these names: one that differs is a silent miss, not an error."""

from __future__ import annotations

import pytest

from app.formats import FIELDS
from tests.integration.http_support import page_view

pytestmark = pytest.mark.anyio

MICRO = {"micro_events": 10, "micro_on_tracking_port": True, "workers": 1}
SUMMARY = {"total", "good", "bad"}
GOOD_EVENT = {"rawEvent", "eventType", "schema", "contexts", "event", "incomplete"}
BAD_EVENT = {"collectorPayload", "rawEvent", "errors"}  # ours adds badRow and eventId
RAW_EVENT = {"api", "parameters", "contentType", "source", "context"}
COLLECTOR_PAYLOAD = {"api", "querystring", "contentType", "body", "source", "context"}


async def held(configured, good: int, bad: int):
    service = await configured(**MICRO)
    await service.client.post("/micro/reset")
    for number in range(good):
        assert (await service.client.get("/i", params=page_view(aid=f"app{number}"))).status_code == 200
    for _ in range(bad):  # an event whose JSON entities do not parse: a tracker protocol violation
        assert (await service.client.get("/i", params=page_view(co="{oops"))).status_code == 200
    return service


async def test_summary_and_reset_answer_total_good_and_bad(configured):
    service = await held(configured, good=2, bad=1)

    assert (await service.client.get("/micro/all")).json() == {"total": 3, "good": 2, "bad": 1}
    assert set((await service.client.post("/micro/reset")).json()) == SUMMARY
    assert (await service.client.get("/micro/all")).json() == {"total": 0, "good": 0, "bad": 0}


async def test_a_good_event_has_micros_fields(configured):
    service = await held(configured, good=1, bad=0)

    [good] = (await service.client.get("/micro/good")).json()

    assert set(good) == GOOD_EVENT and good["incomplete"] is False
    assert set(good["rawEvent"]) == RAW_EVENT
    assert set(good["rawEvent"]["source"]) == {"name", "encoding", "hostname"}
    assert set(good["rawEvent"]["context"]) == {
        "timestamp",
        "ipAddress",
        "useragent",
        "refererUri",
        "headers",
        "userId",
    }
    assert set(good["event"]) == set(FIELDS)


async def test_a_bad_event_has_micros_fields(configured):
    service = await held(configured, good=0, bad=1)

    [bad] = (await service.client.get("/micro/bad")).json()

    assert BAD_EVENT <= set(bad) and set(bad) - BAD_EVENT == {"badRow", "eventId"}
    assert set(bad["collectorPayload"]) == COLLECTOR_PAYLOAD
    assert bad["collectorPayload"]["api"] == {"vendor": "com.snowplowanalytics.snowplow", "version": "tp1"}


async def test_events_answers_the_events_then_total_pages_and_items(configured):
    service = await held(configured, good=3, bad=0)
    query = {"page": 1, "pageSize": 2, "filters": [], "sorting": {"column": "app_id", "desc": False}}

    answer = (await service.client.post("/micro/events", json=query)).json()

    assert set(answer) == {"events", "totalPages", "totalItems"}
    assert (answer["totalPages"], answer["totalItems"]) == (2, 3)
    assert [event["app_id"] for event in answer["events"]] == ["app0", "app1"]  # the events themselves, flat


async def test_events_sorting_is_column_and_desc_and_an_empty_answer_has_one_page(configured):
    service = await held(configured, good=2, bad=0)
    descending = {"page": 1, "pageSize": 5, "filters": [], "sorting": {"column": "app_id", "desc": True}}
    nothing = {"page": 1, "pageSize": 5, "filters": [{"column": "app_id", "value": "none such"}]}
    direction = {"page": 1, "pageSize": 5, "filters": [], "sorting": {"column": "app_id", "direction": "desc"}}

    answer = (await service.client.post("/micro/events", json=descending)).json()
    assert [event["app_id"] for event in answer["events"]] == ["app1", "app0"]
    assert (await service.client.post("/micro/events", json=nothing)).json() == {
        "events": [],
        "totalPages": 1,
        "totalItems": 0,
    }
    refused = await service.client.post("/micro/events", json=direction)
    assert refused.status_code == 400 and "direction" in refused.json()["error"]
