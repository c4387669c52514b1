"""docs/behaviour.md#events and #bad-rows: each event of a POST batch is judged alone, and every failure is kept as a bad row."""

from __future__ import annotations

import pytest
from http_support import (
    SCHEMA_VIOLATIONS,
    TRACKER_PROTOCOL_VIOLATIONS,
    assert_valid_bad_row,
    b64,
    by_event_id,
    client_session,
    contexts,
    page_view,
    post,
    raw_parameters,
)


def test_a_batch_mixing_valid_and_invalid_events_keeps_the_valid_ones(collector):
    valid = [page_view(), page_view(cx=b64(contexts(client_session())))]
    broken_entity = page_view(cx=b64(contexts(client_session(sessionIndex=-1))))
    broken_atomic = page_view(sid="not-a-uuid")
    not_a_tracker_event = {"e": "pv", "p": "web", "tv": "t", "vid": 3}  # a number where a string belongs
    batch = [valid[0], broken_entity, not_a_tracker_event, valid[1], broken_atomic]

    response = post(collector.url, *batch)

    assert response.status_code == 200
    assert set(by_event_id(collector.good())) == {event["eid"] for event in valid}
    bad = collector.bad()
    for row in bad:
        assert_valid_bad_row(row)
    schema_violations = {raw_parameters(row)["eid"]: row for row in bad if row["schema"] == SCHEMA_VIOLATIONS}
    assert set(schema_violations) == {broken_entity["eid"], broken_atomic["eid"]}
    [protocol_violation] = [row for row in bad if row["schema"] == TRACKER_PROTOCOL_VIOLATIONS]
    assert '"vid":3' in protocol_violation["data"]["payload"]["body"]
    assert len(bad) == 3


def test_the_bad_row_of_an_invalid_entity_names_the_schema_and_the_property(collector):
    event = page_view(cx=b64(contexts(client_session(storageMechanism="PAPER"))))

    post(collector.url, event)

    [row] = collector.bad()
    [message] = row["data"]["failure"]["messages"]
    assert message["schemaKey"] == "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2"
    assert message["error"]["error"] == "ValidationError"
    [report] = message["error"]["dataReports"]
    assert "storageMechanism" in report["path"]
    assert "storageMechanism" in report["message"]


@pytest.mark.parametrize(
    "parameter, value, field",
    [
        ("sid", "not-a-uuid", "domain_sessionid"),
        ("vid", "ten", "domain_sessionidx"),
        ("dtm", "yesterday", "dvce_created_tstamp"),
    ],
)
def test_the_bad_row_of_an_unconvertible_parameter_names_the_field(collector, parameter, value, field):
    post(collector.url, page_view(**{parameter: value}))

    [row] = collector.bad()
    assert_valid_bad_row(row)
    [message] = row["data"]["failure"]["messages"]
    assert message["schemaKey"] == "iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0"
    [report] = message["error"]["dataReports"]
    assert report["path"] == field
    assert report["keyword"] == "atomic_field_parse_error"
    assert raw_parameters(row)[parameter] == value  # the raw event is kept for recovery


def test_a_too_long_value_fails_its_event_with_a_length_report(collector):
    post(collector.url, page_view(se_la="x" * 4097, e="se", se_ca="c", se_ac="a"))

    [row] = collector.bad()
    [report] = row["data"]["failure"]["messages"][0]["error"]["dataReports"]
    assert (report["path"], report["keyword"]) == ("se_label", "atomic_field_length_exceeded")
